"""Public property-testing helpers: hypothesis strategies and assertions for moduli and
constructions, used by loopbound's own tests and importable in yours.

    from hypothesis import given
    from loopbound.testing import strategies as lbst, assert_certified

    @given(lbst.pairs_within(kind="token", delta=0.1, d=2, N=3))
    def test_my_bound(pair): ...

The pytest plugin :mod:`loopbound.pytest_plugin` (installed with loopbound; it lives outside this package so that loading it imports no torch) provides the
hypothesis profiles ``ci``, ``dev`` and ``thorough`` on request: ``pytest --hypothesis-profile=ci``.
docs/testing.md has the strategies for constructions and a worked example.
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
from loopbound.testing.construction_assertions import (
    assert_contextual_mapping,
    assert_matches_reference,
    assert_permutation_equivariant,
    assert_within_guarantee,
)
from loopbound.testing.gd_assertions import assert_equals_gradient_descent

__all__ = [
    "strategies",
    "assert_certified",
    "assert_curve_monotone",
    "assert_lower_bounds_sound",
    "assert_modulus_ordering",
    "assert_pair_meets_constraint",
    "assert_subadditive",
    "assert_contextual_mapping",
    "assert_equals_gradient_descent",
    "assert_matches_reference",
    "assert_permutation_equivariant",
    "assert_within_guarantee",
]
