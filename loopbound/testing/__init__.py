"""Public property-testing helpers: hypothesis strategies and assertions for moduli and
constructions, used by loopbound's own tests and importable in yours.

    from hypothesis import given
    from loopbound.testing import strategies as lbst, assert_certified

    @given(lbst.pairs_within(kind="token", delta=0.1, d=2, N=3))
    def test_my_bound(pair): ...
"""

from loopbound.testing import strategies
from loopbound.testing.assertions import (
    assert_certified,
    assert_curve_monotone,
    assert_lower_bounds_sound,
    assert_modulus_ordering,
    assert_pair_meets_constraint,
    assert_subadditive,
)

__all__ = [
    "strategies",
    "assert_certified",
    "assert_curve_monotone",
    "assert_lower_bounds_sound",
    "assert_modulus_ordering",
    "assert_pair_meets_constraint",
    "assert_subadditive",
]
