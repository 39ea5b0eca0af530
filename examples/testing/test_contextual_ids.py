"""The property tests of the construction in contextual_ids.py: its guarantee, a contextual
mapping on the grid G_δ, stated with loopbound's strategies and assertion.

Run with loopbound's CI profile (the pytest plugin installed with loopbound):

    pytest examples/testing --hypothesis-profile=ci

The summed ids fail with a counterexample hypothesis shrinks to N = 3 tokens; Horner's ids pass.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from contextual_ids import horner_contextual_ids, summed_contextual_ids
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.testing import assert_contextual_mapping
from loopbound.testing import strategies as lbst

DELTA, D = Fraction(1, 4), 2
"""The grid G_δ of the guarantee: δ = 1/4 in d = 2, so 16 grid tokens."""

CONSTRUCTIONS = {"summed": summed_contextual_ids, "horner": horner_contextual_ids}


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
@settings(max_examples=200)  # the pairs that break a contextual mapping are rare: search longer
@given(N=st.integers(1, 5), data=st.data())
def test_sequences_that_are_not_permutations_share_no_id(name: str, N: int, data: st.DataObject) -> None:
    """(i) and (ii), on the hard case: two sequences that are not permutations of each other."""
    X, Y = data.draw(lbst.non_equivalent_grid_pairs(delta=DELTA, d=D, N=N), label="X, Y")
    ids = CONSTRUCTIONS[name]
    assert_contextual_mapping(lambda Z: ids(Z, delta=DELTA), X[None], Y[None], delta=DELTA)


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
@given(N=st.integers(1, 5), data=st.data())
def test_ids_follow_their_tokens_under_permutation(name: str, N: int, data: st.DataObject) -> None:
    """(iii): the same tokens in another order keep their ids (no positions are used)."""
    X, Y, _ = data.draw(lbst.permuted_grid_sequences(delta=DELTA, d=D, N=N), label="X, Y, π")
    ids = CONSTRUCTIONS[name]
    assert_contextual_mapping(lambda Z: ids(Z, delta=DELTA), X[None], Y[None], delta=DELTA)
