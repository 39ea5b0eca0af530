"""The public construction assertions: each passes on a right input (a built-in construction or a
correct function) and fails on a deliberately wrong one, with a message naming the worst input."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch

from loopbound.constructions.contextual_looped import build_looped_contextual
from loopbound.constructions.gradient_descent import build_gd_transformer, looped_gd_predict
from loopbound.constructions.quantization import build_looped_quantiser, looped_quantiser_spec
from loopbound.constructions.universal import build_universal
from loopbound.testing import (
    assert_contextual_mapping,
    assert_equals_gradient_descent,
    assert_matches_reference,
    assert_permutation_equivariant,
    assert_within_guarantee,
)
from loopbound.theory.targets import builtin_target

QUARTER = Fraction(1, 4)


def _grid(d: int, N: int, m: int, count: int, seed: int) -> torch.Tensor:
    """``count`` grid sequences with distinct tokens (cells drawn without replacement)."""
    generator = torch.Generator().manual_seed(seed)
    cells = torch.stack([torch.randperm(m**d, generator=generator)[:N] for _ in range(count)])
    digits = torch.stack([(cells // m**i) % m for i in range(d)], dim=-1)
    return digits.to(torch.float64) / m


# --------------------------------------------------------------------------- permutation equivariance
def test_equivariant_maps_pass_for_every_permutation() -> None:
    X = torch.rand(5, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert_permutation_equivariant(lambda Z: Z + Z.sum(dim=1, keepdim=True), X, atol=1e-12)
    model = build_looped_contextual(2, 3, Fraction(1, 2)).model
    assert_permutation_equivariant(model, _grid(2, 3, 2, 6, seed=1), atol=0)


def test_a_positional_map_fails_naming_the_batch_entry_and_permutation() -> None:
    X = torch.zeros(3, 3, 1, dtype=torch.float64)
    X[2, :, 0] = torch.tensor([0.1, 0.5, 0.9])  # only entry 2 has tokens a positional weight can tell apart
    positional = lambda Z: Z * (1 + torch.arange(3, dtype=torch.float64))[None, :, None]  # noqa: E731
    with pytest.raises(
        AssertionError, match=r"= 1\.8 > atol = 1e-12 at batch entry 2, π = \[2, 0, 1\], X\[2\] = \[\[0\.1\]"
    ):
        assert_permutation_equivariant(positional, X, atol=1e-12)


def test_a_map_that_breaks_only_one_input_is_found_and_named() -> None:
    X = torch.rand(6, 7, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))  # N! > 720: sampled
    X[4, 0, 0] = 0.999

    def broken(Z: torch.Tensor) -> torch.Tensor:
        out = Z.clone()
        out[:, 0] += 0.5 * (Z[:, 0] > 0.99)  # position 0 treated specially when it holds a large entry
        return out

    with pytest.raises(AssertionError, match=r"= 0\.5 > atol = 1e-09 at batch entry 4, π = \[") as failure:
        assert_permutation_equivariant(broken, X, atol=1e-9)
    assert "X[4] = [[0.999" in str(failure.value)
    assert_permutation_equivariant(lambda Z: Z.clone(), X, atol=0)


# --------------------------------------------------------------------------- contextual mapping
def test_the_looped_contextual_ids_are_a_contextual_mapping_with_their_separation() -> None:
    built = build_looped_contextual(1, 3, QUARTER)
    ids = lambda Z: built.model(Z)[..., 0]  # noqa: E731
    X, Y = _grid(1, 3, 4, 12, seed=3), _grid(1, 3, 4, 12, seed=4)
    assert_contextual_mapping(ids, X, Y, delta=QUARTER, min_separation=built.guarantee.claimed_separation)
    assert_contextual_mapping(ids(X), X, delta=QUARTER)  # the ids themselves
    assert_contextual_mapping(ids, X, X.flip(1), delta=QUARTER)  # permutations share their ids
    with pytest.raises(AssertionError, match=r"\(iv\) separation 1 \(between ids .*\) is below the claimed 2"):
        assert_contextual_mapping(ids, X, Y, delta=QUARTER, min_separation=2)


def test_summed_token_ids_collide_and_the_pair_is_named() -> None:
    """The sequence id as the sum of the token ids instead of Horner's rule: at N = 3, m = 8 the
    cells {0, 1, 5} and {0, 2, 4} have one sum, so token 0's ids k = z·8³ + S coincide."""
    summed = lambda Z: (Z * 8)[..., 0] * 512 + (Z * 8).sum(dim=(1, 2))[:, None]  # noqa: E731
    X = torch.tensor([[0, 1, 5], [0, 2, 4], [3, 6, 7]], dtype=torch.float64)[..., None] / 8
    with pytest.raises(AssertionError, match=r"\(ii\) id 6\.0 shared by sequences that are not permutations") as e:
        assert_contextual_mapping(summed, X, delta=Fraction(1, 8))
    assert "X[0] = [[0], [0.125], [0.625]] with ids [6.0, 518.0, 2566.0]" in str(e.value)
    assert "X[1] = [[0], [0.25], [0.5]]" in str(e.value)
    assert "separation 502 (between ids 1552.0 and 2054.0)" in str(e.value)
    horner = lambda Z: (
        (Z * 8)[..., 0] * 512 + ((Z * 8)[..., 0].sort(dim=1).values * torch.tensor([1.0, 8.0, 64.0])).sum(1)[:, None]
    )  # noqa: E731,E501
    assert_contextual_mapping(horner, X, delta=Fraction(1, 8))


def test_colliding_ids_within_one_sequence_and_unequal_permutations_fail() -> None:
    X = torch.tensor([[[0.0], [0.5]], [[0.5], [0.0]]], dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"\(i\) ids of one sequence collide: X\[0\] .* with ids \[7\.0, 7\.0\]"):
        assert_contextual_mapping(lambda Z: torch.full(Z.shape[:2], 7.0, dtype=torch.float64), X, delta=QUARTER)
    positional = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"\(iii\) permutations of one sequence get different ids: X\[0\]"):
        assert_contextual_mapping(positional, X, delta=QUARTER)
    assert_contextual_mapping(positional, X, delta=QUARTER, equivariant=False)
    duplicated = torch.tensor([[[0.25], [0.25]]], dtype=torch.float64)  # Def. 3.1 claims nothing here
    assert_contextual_mapping(torch.tensor([[5.0, 5.0]]), duplicated, delta=QUARTER)


# --------------------------------------------------------------------------- model against a reference
def test_float_and_exact_references_pass_on_the_quantiser() -> None:
    X = _grid(2, 3, 4, 5, seed=5) + 0.1
    model = build_looped_quantiser(2, QUARTER).model
    assert_matches_reference(model, lambda Z: torch.floor(Z * 4), X)
    spec = looped_quantiser_spec(2, QUARTER, sharpness=2**20)
    floor = lambda batch: [[[Fraction(int(v * 4)) for v in token] for token in sample] for sample in batch]  # noqa: E731
    assert_matches_reference(spec, floor, X, exact=True)
    assert_matches_reference(spec, floor, [[[Fraction(1, 3), Fraction(3, 4)]]], exact=True)


def test_a_model_off_by_a_bit_fails_in_floats_and_exactly() -> None:
    X = _grid(1, 2, 4, 4, seed=6) + 0.05
    model = build_looped_quantiser(1, QUARTER).model
    off = lambda Z: model(Z) + (Z > 0.7) * 2.0**-40  # noqa: E731
    with pytest.raises(AssertionError, match=r"by 9\.09495e-13 > atol 0 \+ rtol 0·\|reference\| at batch entry \d"):
        assert_matches_reference(off, lambda Z: torch.floor(Z * 4), X, atol=0)
    assert_matches_reference(off, lambda Z: torch.floor(Z * 4), X, atol=2.0**-40)
    spec = looped_quantiser_spec(1, QUARTER, sharpness=2**20)
    wrong = lambda batch: [
        [[Fraction(int(v * 4)) + (v > Fraction(7, 10)) * Fraction(1, 2**60) for v in t] for t in s] for s in batch
    ]  # noqa: E731,E501
    with pytest.raises(AssertionError, match=r"in exact arithmetic by 8\.67362e-19 at batch entry (\d), token"):
        assert_matches_reference(spec, wrong, X, exact=True)


def test_the_default_tolerance_is_a_few_ulps_of_the_output_scale() -> None:
    """Output 2²⁰: one ulp is 2⁻³², the default tolerance four of them."""
    X = torch.full((1, 1, 1), 0.5, dtype=torch.float64)
    ulp = 2.0**-32
    assert_matches_reference(lambda Z: Z * 2**21 + 4 * ulp, lambda Z: Z * 2**21, X)
    with pytest.raises(AssertionError, match=r"by 1\.16415e-09 > atol 9\.31e-10 .* at batch entry 0, index \[0, 0\]"):
        assert_matches_reference(lambda Z: Z * 2**21 + 5 * ulp, lambda Z: Z * 2**21, X)


# --------------------------------------------------------------------------- the universal guarantee
def _inside_cells(N: int, count: int, seed: int) -> torch.Tensor:
    offsets = 0.1 + 0.8 * torch.rand(count, N, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return _grid(1, N, 4, count, seed) + offsets / 4


@pytest.mark.parametrize("timestep", [True, False])
def test_the_universal_construction_meets_its_guarantee(timestep: bool) -> None:
    target = builtin_target("smooth", d=1, N=2)
    built = build_universal(target, QUARTER, timestep=timestep, exact=not timestep)  # 67 bits without
    corner_cases = torch.tensor([[[0.3], [0.4]], [[0.5 - 2.0**-35], [0.9]]], dtype=torch.float64)  # collision, band
    X = torch.cat([_inside_cells(2, 8 if timestep else 2, seed=7), corner_cases])
    assert_within_guarantee(built.model, target, X, built.guarantee)


def test_a_corrupted_weight_breaks_the_guarantee_at_a_named_input() -> None:
    target = builtin_target("smooth", d=1, N=2)
    built = build_universal(target, QUARTER, timestep=True)
    X = _inside_cells(2, 8, seed=8)
    with torch.no_grad():
        weight = built.model.model.readout.weight
        weight[0, int(torch.argmax(weight.abs()))] *= 1.01
    with pytest.raises(
        AssertionError, match=r"\|model\(X\) − f\(q\(X\)\)\| off the failure set = .* exceeds its bound"
    ) as e:
        assert_within_guarantee(built.model, target, X, built.guarantee)
    assert re.search(r"at batch entry (\d), token \d, output 0: .*; X\[\1\] = \[\[", str(e.value))


def test_a_model_that_leaves_its_output_bound_on_a_band_point_fails() -> None:
    target = builtin_target("smooth", d=1, N=2)
    built = build_universal(target, QUARTER, timestep=True)
    X = torch.tensor([[[0.25 - 2.0**-40], [0.6]], [[0.1], [0.6]]], dtype=torch.float64)  # entry 0 is in a band
    huge = lambda Z: built.model(Z) + 1e3 * (Z[:, :, :1] > 0.2) * (Z[:, :, :1] < 0.25)  # noqa: E731
    with pytest.raises(AssertionError, match=r"\|model\(X\)\| \(output bound\) = .* at batch entry 0, token 0"):
        assert_within_guarantee(huge, target, X, built.guarantee)


# --------------------------------------------------------------------------- gradient descent
def _problem(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 6, 2)), rng.standard_normal((3, 6)), rng.standard_normal((3, 2))


def test_the_gd_transformer_equals_gradient_descent_at_every_loop() -> None:
    X, y, x_query = _problem(9)
    A = np.array([[1.0, 0.3], [0.3, 0.5]])
    for preconditioner in (None, A):
        model = build_gd_transformer(2, 6, eta=0.2, preconditioner=preconditioner, loops=12).model
        assert_equals_gradient_descent(model, X, y, x_query, loops=12, eta=0.2, preconditioner=preconditioner)
    predict = lambda X_, y_, q_: looped_gd_predict(X_, y_, q_, loops=12, eta=0.2, preconditioner=A)  # noqa: E731
    assert_equals_gradient_descent(
        predict, X, y, x_query, loops=12, eta=0.2, preconditioner=A, relative_to="prediction"
    )


def test_gd_with_the_wrong_step_fails_naming_the_loop_and_query() -> None:
    X, y, x_query = _problem(10)
    model = build_gd_transformer(2, 6, eta=0.2 * 1.001, loops=5).model
    with pytest.raises(
        AssertionError, match=r"after loop (\d+) differs from \1 steps of gradient descent \(η = 0\.2\)"
    ) as e:
        assert_equals_gradient_descent(model, X, y, x_query, loops=5, eta=0.2)
    assert re.search(r"at batch entry \d, query 0: model .*, GD .*; x_query = \[", str(e.value))
    wrong_A = build_gd_transformer(2, 6, eta=0.2, preconditioner=torch.eye(2) * 1.5, loops=5).model
    with pytest.raises(AssertionError, match="differs from"):
        assert_equals_gradient_descent(wrong_A, X, y, x_query, loops=5, eta=0.2)
