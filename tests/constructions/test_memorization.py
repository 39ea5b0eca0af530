"""Value mapping: without timestep scaling the per-coordinate error never exceeds the
largest consecutive jump (Lemma 4.1) and the bound is attained; with it, arbitrary labels are
memorised exactly (Theorem 4.2); the precision each needs."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.constructions.exact import exact_forward
from loopbound.constructions.memorization import build_memoriser, greedy_walk, memoriser_spec, required_step
from loopbound.testing import assert_matches_reference
from loopbound.theory.errors import InputError, PrecisionError

LABEL = st.floats(min_value=-4, max_value=4, allow_nan=False, allow_infinity=False)


def labels_strategy(max_K: int, d_out: int = 2):
    return st.integers(2, max_K).flatmap(
        lambda K: st.lists(st.lists(LABEL, min_size=d_out, max_size=d_out), min_size=K, max_size=K)
    )


def ids(K: int) -> torch.Tensor:
    return torch.arange(1, K + 1, dtype=torch.float64).view(1, K, 1)


@given(labels_strategy(40))
def test_timestep_scaling_memorises_arbitrary_labels_exactly(labels: list[list[float]]) -> None:
    built = build_memoriser(labels, timestep=True)
    model, guarantee = built.model, built.guarantee
    assert guarantee.loops == len(labels) - 1
    table = torch.tensor(labels, dtype=torch.float64)[None]
    assert_matches_reference(model, lambda _: table, ids(len(labels)), atol=guarantee.label_rounding)


@given(labels_strategy(40))
def test_without_scaling_the_error_never_exceeds_the_largest_jump(labels: list[list[float]]) -> None:
    built = build_memoriser(labels, timestep=False)
    model, guarantee = built.model, built.guarantee
    out = model(ids(len(labels)))[0]
    table = torch.tensor(labels, dtype=torch.float64)
    jumps = (table[1:] - table[:-1]).abs().amax(dim=0)
    for j in range(table.shape[1]):
        error = float((out[:, j] - table[:, j]).abs().max())
        assert error <= guarantee.error_bound[j] + guarantee.label_rounding
        assert guarantee.error_bound[j] <= float(jumps[j]) + 2 * guarantee.label_rounding


def test_the_lemma_4_1_bound_is_attained() -> None:
    """Labels 0, 1, 1: the jump is 1, steps are ±1, so id 3 ends at 0 or 2 — error exactly 1."""
    built = build_memoriser([[0.0], [1.0], [1.0]], timestep=False)
    model, guarantee = built.model, built.guarantee
    out = model(ids(3))[0, :, 0].tolist()
    assert guarantee.error_bound == (1.0,)
    assert out[:2] == [0.0, 1.0] and abs(out[2] - 1.0) == 1.0


def test_timestep_scaling_is_exact_on_the_same_labels() -> None:
    model = build_memoriser([[0.0], [1.0], [1.0]], timestep=True).model
    assert_matches_reference(model, lambda _: torch.tensor([[[0.0], [1.0], [1.0]]]), ids(3), atol=0)


def test_the_unscaled_memoriser_needs_about_K_bits_and_float64_refuses_it_beyond() -> None:
    labels = [[float(k % 3)] for k in range(80)]
    with pytest.raises(PrecisionError, match=r"needs \d+ bits.*float64 has 53"):
        build_memoriser(labels, timestep=False)
    built = memoriser_spec(labels, timestep=False)
    spec, guarantee = built.model, built.guarantee
    out = exact_forward(spec, [[Fraction(k)] for k in range(1, 81)])
    errors = [abs(float(row[0]) - labels[k][0]) for k, row in enumerate(out)]
    assert max(errors) <= guarantee.error_bound[0] == 2.0
    scaled = memoriser_spec(labels, timestep=True).guarantee
    assert scaled.precision_bits <= 53 < guarantee.precision_bits


@given(st.dictionaries(st.integers(0, 60), st.fractions(-3, 3, max_denominator=8), min_size=2, max_size=12))
def test_greedy_walk_reaches_every_valid_label_within_the_step(labels: dict[int, Fraction]) -> None:
    """The walk's guarantee with gaps between valid ids: within ε = max |Δŷ|/Δk at every valid id."""
    first = min(labels)
    step = required_step(labels)
    signs = greedy_walk(labels, first, max(labels), labels[first], step)
    y, positions = labels[first], {first: labels[first]}
    for k, sign in zip(range(first + 1, max(labels) + 1), signs):
        y += sign * step
        positions[k] = y
    assert all(abs(positions[k] - value) <= step for k, value in labels.items())


@pytest.mark.parametrize(
    "labels, message", [([[1.0]], "at least 2"), ([[1.0], [float("nan")]], "finite"), ([[1.0, 2.0], [1.0]], "table")]
)
def test_bad_labels_are_input_errors(labels, message: str) -> None:
    with pytest.raises(InputError, match=message):
        memoriser_spec(labels, timestep=True)
