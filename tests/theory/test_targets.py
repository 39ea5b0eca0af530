"""Targets: shapes, parameters, permutation equivariance, and the exact moduli's derivations.

The exact moduli are checked from both sides: here, no feasible pair ever exceeds them (they are
upper bounds) and they obey the facts every modulus obeys; in test_modulus.py, the estimator
reaches ≥ 97% of them (they are not too large)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.testing import assert_curve_monotone, assert_subadditive
from loopbound.testing import strategies as lbst
from loopbound.theory.errors import InputError, TargetError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import pair_value
from loopbound.theory.targets import BUILTIN_TARGETS, CallableTarget, builtin_target

WITH_FORMULAS = ("linear", "holder", "contextual_max", "prefix_mean", "smooth")
SHAPES = [(1, 1), (1, 2), (2, 3), (3, 2), (1, 5)]
P_VALUES = [1.0, 1.5, 2.0, 3.0]


def test_at_least_six_builtins_and_three_with_exact_moduli() -> None:
    assert len(BUILTIN_TARGETS) >= 6
    exact = [
        name
        for name in BUILTIN_TARGETS
        if builtin_target(name, d=2, N=3).exact_modulus(ModulusKind.TOKEN, 0.1, 2.0) is not None
    ]
    assert len(exact) >= 3


@pytest.mark.parametrize("name", sorted(BUILTIN_TARGETS))
def test_builtin_maps_batches_to_the_declared_shape(name: str) -> None:
    target = builtin_target(name, d=2, N=3)
    out = target(torch.rand(5, 3, 2, dtype=torch.float64))
    assert out.shape == (5, 3, target.d_out)
    assert torch.isfinite(out).all()


def test_wrong_input_shape_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"shape \[B, 3, 2\]"):
        builtin_target("holder", d=2, N=3)(torch.rand(4, 2, 2))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"alpha": "0"}, "0 < alpha <= 1"),
        ({"gamma": "1"}, "no parameter 'gamma'"),
        ({"alpha": "x"}, "must be a number"),
    ],
)
def test_bad_parameters_are_input_errors(params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        builtin_target("holder", d=1, N=2, **params)


@pytest.mark.parametrize("d, N", [(0, 2), (1, 0)])
def test_d_and_N_must_be_positive(d: int, N: int) -> None:
    with pytest.raises(InputError, match="must be an integer >= 1"):
        builtin_target("holder", d=d, N=N)


@given(data=st.data())
def test_equivariant_targets_commute_with_token_permutations(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([n for n, c in BUILTIN_TARGETS.items() if c.permutation_equivariant]))
    target = builtin_target(name, d=2, N=4)
    X = data.draw(lbst.cube_points(d=2, N=4))
    perm = torch.tensor(data.draw(st.permutations(range(4))))
    out = target(X[None])[0]
    torch.testing.assert_close(target(X[perm][None])[0], out[perm], rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_no_feasible_pair_exceeds_the_analytic_modulus(data: st.DataObject) -> None:
    """The exact moduli and upper bounds really are upper bounds (a derivation error that makes
    a formula too small fails here)."""
    name = data.draw(st.sampled_from(WITH_FORMULAS))
    d, N = data.draw(st.sampled_from(SHAPES))
    kind = data.draw(st.sampled_from(list(ModulusKind)))
    p = data.draw(st.sampled_from(P_VALUES))
    delta = data.draw(lbst.deltas(min_value=1e-3, max_value=1.0))
    target = data.draw(lbst.builtin_targets(d=d, N=N, names=(name,)))
    X, Y, position = data.draw(lbst.pairs_within(kind=kind, delta=delta, d=d, N=N))
    bound = target.upper_modulus(kind, delta, p)
    assert bound is not None
    positions = torch.tensor([position]) if kind.per_token else None
    value = float(pair_value(target, X[None], Y[None], kind, positions, p)[0])
    assert value <= bound * (1 + 1e-9) + 1e-12


@given(data=st.data())
def test_analytic_moduli_obey_the_facts_of_every_modulus(data: st.DataObject) -> None:
    """ω(0) = 0, non-decreasing, subadditive, and ω^tok ≤ ω, ω^cont ≤ ω (docs/theory.md §1)."""
    name = data.draw(st.sampled_from(WITH_FORMULAS))
    d, N = data.draw(st.sampled_from(SHAPES))
    p = data.draw(st.sampled_from(P_VALUES))
    target = data.draw(lbst.builtin_targets(d=d, N=N, names=(name,)))
    a = data.draw(lbst.deltas(max_value=0.5))
    b = data.draw(lbst.deltas(max_value=0.5))
    grid = sorted({a, b, a + b, 0.5 * a})
    for kind in ModulusKind:
        if target.exact_modulus(kind, 0.0, p) is not None:
            assert target.exact_modulus(kind, 0.0, p) == 0.0
        for formula in (target.exact_modulus, target.upper_modulus):
            if all(formula(kind, delta, p) is not None for delta in grid):
                assert_curve_monotone([formula(kind, delta, p) for delta in grid], deltas=grid)
                assert_subadditive(lambda t, f=formula, k=kind: f(k, t, p), a, b)
    for kind in (ModulusKind.TOKEN, ModulusKind.CONTEXTUAL):
        for delta in grid:
            part, whole = target.exact_modulus(kind, delta, p), target.exact_modulus(ModulusKind.SEQUENCE, delta, p)
            if part is not None and whole is not None:
                assert part <= whole * (1 + 1e-12)


@pytest.mark.parametrize("alpha, p", [(0.5, 2.0), (0.8, 3.0), (1.0, 1.0)])
def test_holder_modulus_is_attained_at_the_documented_pair(alpha: float, p: float) -> None:
    """The maximiser of the docstring: X = 0 and δ spread evenly (αp < 2) or on one entry."""
    d, N, delta = 2, 3, 0.2
    target = builtin_target("holder", d=d, N=N, alpha=alpha)
    X = torch.zeros(1, N, d, dtype=torch.float64)
    Y = torch.full_like(X, delta / math.sqrt(N * d)) if alpha * p < 2 else X.clone()
    if alpha * p >= 2:
        Y[0, 0, 0] = delta
    value = float(pair_value(target, X, Y, ModulusKind.SEQUENCE, None, p)[0])
    assert value == pytest.approx(target.exact_modulus(ModulusKind.SEQUENCE, delta, p), rel=1e-12)


def test_exact_moduli_beyond_their_range_are_unknown_but_bounded() -> None:
    target = builtin_target("contextual_max", d=2, N=3)
    assert target.exact_modulus(ModulusKind.SEQUENCE, 1.5, 2.0) is None
    assert target.upper_modulus(ModulusKind.SEQUENCE, 1.5, 2.0) == pytest.approx(math.sqrt(3) * 1.5)


class TestCallableTarget:
    def test_reads_output_width_from_a_probe(self) -> None:
        target = CallableTarget(d=2, N=3, function=lambda X: X.sum(-1, keepdim=True), label="sum")
        assert target.d_out == 1

    @pytest.mark.parametrize(
        "function, message",
        [
            (lambda X: X[:, :1], r"must return shape \[B, N, d_out\]"),
            (lambda X: X * float("nan"), "NaN or inf"),
            (lambda X: X / 0.0, "NaN or inf"),
            (lambda X: "text", "must return a tensor"),
            (lambda X: 1 / 0, "raised ZeroDivisionError"),
        ],
    )
    def test_bad_outputs_are_target_errors(self, function, message: str) -> None:
        target = CallableTarget(d=2, N=3, function=function, label="bad")
        with pytest.raises(TargetError, match=message):
            target(torch.rand(2, 3, 2, dtype=torch.float64))
