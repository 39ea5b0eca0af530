"""Witness pairs at small δ (loopbound.theory.modulus.certify): pulling a pair into the δ-ball
always succeeds and stays certified. Shrinking Y − X by (1 − 1e-12) once rounded back to the same
float64 Y for entries near 1/2 at δ ≲ 1e-4, and ``modulus smooth --deltas 1e-6`` ended in a
RuntimeError; now the margin grows until rounding cannot undo it, checked exactly in rationals."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from loopbound.testing import assert_certified
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import certify, estimate_modulus
from loopbound.theory.norms import exact_squared_distance
from loopbound.theory.targets import CallableTarget, builtin_target


def _half(X: torch.Tensor) -> torch.Tensor:
    return 0.5 * X


@pytest.mark.parametrize("delta", [1e-4, 1e-6, 1e-9, 3e-12])
def test_a_pair_near_one_half_is_pulled_inside_the_ball_and_stays_nearly_delta_apart(delta: float) -> None:
    """f(x) = x/2: a pair at distance δ(1 + 1e-9) around 1/2 certifies ω(δ) ≥ (about) δ/2."""
    target = CallableTarget(d=1, N=1, function=_half, label="half")
    X = np.array([[0.5]])
    Y = np.array([[0.5 + delta * (1 + 1e-9)]])
    value, witness = certify(target, X, Y, ModulusKind.SEQUENCE, None, delta, 2.0)
    assert exact_squared_distance(witness.X, witness.Y) <= Fraction(delta) ** 2
    assert 0.5 * delta * (1 - 1e-3) <= value <= 0.5 * delta * (1 + 1e-12)


def test_below_the_spacing_of_floats_the_pair_collapses_to_a_valid_zero() -> None:
    """No float64 other than 1/2 lies within 1e-300 of 1/2: the only pair inside the ball is
    (X, X), which certifies ω ≥ 0 — true, and no exception."""
    target = CallableTarget(d=1, N=1, function=_half, label="half")
    value, witness = certify(target, np.array([[0.5]]), np.array([[0.75]]), ModulusKind.SEQUENCE, None, 1e-300, 2.0)
    assert value == 0.0 and np.array_equal(witness.X, witness.Y)


@pytest.mark.parametrize("kind", list(ModulusKind))
def test_estimates_at_small_delta_are_certified_and_positive(kind: ModulusKind) -> None:
    target = builtin_target("smooth", d=1, N=2)
    for estimate in estimate_modulus(target, kind, [1e-9, 1e-6]):
        assert_certified(estimate, target)
        assert estimate.lower > 0 and math.isfinite(estimate.lower)
        if estimate.upper is not None:
            assert estimate.lower <= estimate.upper * (1 + 1e-9)
