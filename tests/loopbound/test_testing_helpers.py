"""The public testing helpers: strategies draw what they promise, assertions fail when the
property fails (a helper that cannot fail would test nothing)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.testing import (
    assert_certified,
    assert_curve_monotone,
    assert_lower_bounds_sound,
    assert_modulus_ordering,
    assert_pair_meets_constraint,
    assert_subadditive,
)
from loopbound.testing import strategies as lbst
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import estimate_modulus
from loopbound.theory.targets import builtin_target


@given(data=st.data())
def test_pairs_within_meet_their_constraint(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(list(ModulusKind)))
    d, N = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    delta = data.draw(lbst.deltas())
    X, Y, position = data.draw(lbst.pairs_within(kind=kind, delta=delta, d=d, N=N))
    assert_pair_meets_constraint(X, Y, kind=kind, delta=delta, position=position)


@given(data=st.data())
def test_grid_inputs_lie_on_the_grid_with_distinct_tokens(data: st.DataObject) -> None:
    delta = data.draw(st.sampled_from([Fraction(1, 2), Fraction(1, 4), Fraction(1, 8)]))
    d = data.draw(st.integers(1, 2))
    N = data.draw(st.integers(1, min(4, int(1 / delta) ** d)))
    X = data.draw(lbst.grid_inputs(delta=delta, d=d, N=N))
    scaled = X * int(1 / delta)
    assert torch.equal(scaled, scaled.round()) and float(X.max()) <= 1 - float(delta)
    assert len({tuple(row.tolist()) for row in X}) == N


def test_grid_inputs_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError, match="integer"):
        lbst.grid_inputs(delta=0.3, d=1, N=1)
    with pytest.raises(ValueError, match="do not fit"):
        lbst.grid_inputs(delta=0.5, d=1, N=3)


@pytest.mark.parametrize(
    "X, Y, kind, position, message",
    [
        (np.zeros((2, 1)), np.full((2, 1), 0.2), "sequence", None, "exceeds δ"),
        (np.zeros((2, 1)), np.array([[0.0], [0.05]]), "token", 0, "moves entries"),
        (np.zeros((2, 1)), np.array([[0.05], [0.0]]), "contextual", 0, "moves entries"),
        (np.zeros((2, 1)), np.array([[-0.05], [0.0]]), "sequence", None, "leaves the cube"),
    ],
)
def test_constraint_assertion_catches_each_violation(X, Y, kind, position, message) -> None:
    with pytest.raises(AssertionError, match=message):
        assert_pair_meets_constraint(X, Y, kind=kind, delta=0.1, position=position)


def test_certified_assertion_catches_an_inflated_bound() -> None:
    target = builtin_target("holder", d=1, N=2)
    (estimate,) = estimate_modulus(target, "sequence", (0.1,))
    assert_certified(estimate, target)
    from dataclasses import replace

    with pytest.raises(AssertionError, match="estimate claims"):
        assert_certified(replace(estimate, lower=estimate.lower * 1.01), target)
    with pytest.raises(AssertionError, match="exceeds"):
        assert_lower_bounds_sound([replace(estimate, lower=estimate.exact * 1.01)])


def test_curve_and_ordering_assertions_fail_on_violations() -> None:
    with pytest.raises(AssertionError, match="decreases between δ=0.1 and δ=0.2"):
        assert_curve_monotone([1.0, 0.5], deltas=[0.1, 0.2])
    with pytest.raises(AssertionError, match="token modulus"):
        assert_modulus_ordering([1.0, 2.0], token=[1.5, 1.0])
    with pytest.raises(AssertionError, match="ω\\(0.1 \\+ 0.1\\)"):
        assert_subadditive(lambda t: t**2, 0.1, 0.1)
    assert_subadditive(lambda t: t**0.5, 0.1, 0.1)
