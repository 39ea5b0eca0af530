"""The modulus estimator: certified, monotone, ordered, reproducible, and tight on the built-ins
whose exact moduli are known (foundation issue: ≥ 97% of the exact value, never above it, for
d·N ≤ 16 and δ ∈ [0.01, 0.3], within the default budget)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from loopbound.testing import (
    assert_certified,
    assert_curve_monotone,
    assert_lower_bounds_sound,
    assert_modulus_ordering,
)
from loopbound.theory.errors import InputError, TargetError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import SearchBudget, estimate_moduli, estimate_modulus
from loopbound.theory.targets import CallableTarget, builtin_target

EXACT_TARGETS = ("linear", "holder", "contextual_max", "prefix_mean")
DELTAS = (0.01, 0.03, 0.1, 0.3)
DEFAULT_SHAPES = [(1, 2), (2, 3), (4, 4), (1, 16), (8, 2)]
ALL_SHAPES = [(d, N) for d in range(1, 17) for N in range(1, 17) if d * N <= 16]


def _check_tight(name: str, d: int, N: int, p: float) -> None:
    target = builtin_target(name, d=d, N=N)
    for kind, estimates in estimate_moduli(target, DELTAS, p=p).items():
        for e in estimates:
            assert_certified(e, target)
            if e.exact is None:
                continue
            assert e.lower <= e.exact * (1 + 1e-9) + 1e-15, (
                f"{name} {kind.value} δ={e.delta}: {e.lower} > exact {e.exact}"
            )
            assert e.lower >= 0.97 * e.exact, (
                f"{name} d={d} N={N} p={p} {kind.value} δ={e.delta}: {e.lower} < 0.97 × {e.exact}"
            )


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("d, N", DEFAULT_SHAPES)
@pytest.mark.parametrize("name", EXACT_TARGETS)
def test_lower_bound_reaches_97_percent_of_exact_and_never_exceeds_it(name: str, d: int, N: int, p: float) -> None:
    _check_tight(name, d, N, p)


@pytest.mark.slow
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("d, N", ALL_SHAPES)
@pytest.mark.parametrize("name", EXACT_TARGETS)
def test_tightness_on_every_shape_with_dN_at_most_16(name: str, d: int, N: int, p: float) -> None:
    _check_tight(name, d, N, p)


@pytest.mark.parametrize("name", ["attention", "smooth", "holder", "linear"])
def test_curves_are_certified_monotone_sound_and_ordered(name: str) -> None:
    target = builtin_target(name, d=2, N=3)
    moduli = estimate_moduli(target, (0.005, 0.02, 0.08, 0.25))
    for estimates in moduli.values():
        for e in estimates:
            assert_certified(e, target)
        assert_curve_monotone(estimates)
        assert_lower_bounds_sound(estimates)
    assert_modulus_ordering(moduli[ModulusKind.SEQUENCE], moduli[ModulusKind.TOKEN], moduli[ModulusKind.CONTEXTUAL])


def test_same_seed_same_numbers_and_another_seed_is_another_search() -> None:
    target = builtin_target("attention", d=2, N=3)
    first = estimate_modulus(target, "token", DELTAS, seed=3)
    again = estimate_modulus(target, "token", DELTAS, seed=3)
    assert [e.lower for e in first] == [e.lower for e in again]
    assert all(np.array_equal(a.witness.X, b.witness.X) for a, b in zip(first, again))


def test_a_smaller_deltas_witness_counts_for_larger_ones() -> None:
    """With no ascent and a single screened pair per δ, the monotone envelope carries the better
    witness of a smaller δ upward: the curve is monotone and every witness stays within its δ."""
    target = builtin_target("attention", d=2, N=2, seed=5)
    estimates = estimate_modulus(
        target, "sequence", (0.1, 0.1001, 0.1002, 0.1003), budget=SearchBudget(screen=2, restarts=1, steps=0)
    )
    assert_curve_monotone(estimates)
    for e in estimates:
        assert_certified(e, target)


def test_target_without_gradient_is_searched_by_screening_and_says_so() -> None:
    target = CallableTarget(
        d=1, N=2, function=lambda X: torch.from_numpy(np.sin(3 * X.detach().numpy())), label="numpy"
    )
    estimates = estimate_modulus(target, "sequence", (0.1,))
    assert "no gradient" in estimates[0].method
    assert_certified(estimates[0], target)
    assert estimates[0].lower > 0


def test_nan_from_a_target_during_the_search_is_a_target_error() -> None:
    target = CallableTarget(d=1, N=2, function=lambda X: torch.where(X > 0.9, float("nan"), X), label="nan")
    with pytest.raises(TargetError, match="NaN or inf"):
        estimate_modulus(target, "sequence", (0.1,))


@pytest.mark.parametrize("deltas", [(0.0,), (-0.1,), (float("nan"),), ("x",), ()])
def test_bad_deltas_are_input_errors(deltas: tuple) -> None:
    with pytest.raises(InputError):
        estimate_modulus(builtin_target("holder", d=1, N=2), "sequence", deltas)


@pytest.mark.parametrize("p", [0.5, float("inf"), "two"])
def test_bad_p_is_an_input_error(p) -> None:
    with pytest.raises(InputError, match="p must"):
        estimate_modulus(builtin_target("holder", d=1, N=2), "sequence", (0.1,), p=p)


def test_contextual_modulus_of_a_single_token_is_zero() -> None:
    target = builtin_target("contextual_max", d=2, N=1)
    (e,) = estimate_modulus(target, "contextual", (0.2,))
    assert e.lower == 0.0 and e.exact == 0.0
    assert_certified(e, target)


def test_non_equivariant_targets_search_every_position() -> None:
    """prefix_mean's contextual modulus lives at token 2 (δ/2); token 1 alone would give 0."""
    target = builtin_target("prefix_mean", d=1, N=3)
    (e,) = estimate_modulus(target, "contextual", (0.2,))
    assert e.witness.position != 0
    assert e.lower == pytest.approx(0.1, rel=1e-9)
    assert math.isclose(e.exact, 0.1)
