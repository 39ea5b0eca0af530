"""The looped contextual mapping (one hardmax block, N loops): on grids with distinct tokens,
d·N ≤ 6, its ids are distinct per input, disjoint across inputs that are not permutations of each
other, permutation-equivariant, separated by ≥ 1 — in floats and in exact rational arithmetic."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
import torch

from loopbound.constructions.contextual_check import check_contextual_mapping
from loopbound.constructions.contextual_looped import build_looped_contextual, looped_contextual_spec
from loopbound.constructions.exact import exact_forward
from loopbound.testing import assert_contextual_mapping, assert_matches_reference, assert_permutation_equivariant
from loopbound.theory.errors import PrecisionError

CASES = [(1, 1, 2), (1, 2, 2), (1, 2, 4), (1, 3, 4), (2, 2, 2), (2, 3, 2), (1, 6, 8), (2, 2, 4), (3, 2, 2)]


def all_grid_inputs(d: int, N: int, m: int) -> torch.Tensor:
    cells = list(itertools.product(range(m), repeat=d))
    rows = [seq for seq in itertools.permutations(cells, N)]
    return torch.tensor(rows, dtype=torch.float64) / m


@pytest.mark.parametrize("d, N, m", CASES)
def test_contextual_mapping_property_on_every_grid_input(d: int, N: int, m: int) -> None:
    X = all_grid_inputs(d, N, m)
    built = build_looped_contextual(d, N, Fraction(1, m))
    model, guarantee = built.model, built.guarantee
    ids = model(X)[..., 0]
    assert torch.equal(ids, ids.round())
    assert_contextual_mapping(ids, X, delta=Fraction(1, m), min_separation=guarantee.claimed_separation)
    assert float(ids.max()) < (m**d) ** (N + 1)


@pytest.mark.parametrize("d, N, m", [(1, 3, 4), (2, 2, 2), (2, 3, 2)])
def test_permutation_equivariance(d: int, N: int, m: int) -> None:
    X = all_grid_inputs(d, N, m)
    model = build_looped_contextual(d, N, Fraction(1, m)).model
    assert_permutation_equivariant(lambda Z: model(Z)[..., 0], X, atol=0)  # every permutation


@pytest.mark.parametrize("d, N, m", [(1, 2, 4), (2, 2, 2), (1, 3, 4)])
def test_exact_rational_evaluation_gives_the_same_integers(d: int, N: int, m: int) -> None:
    X = all_grid_inputs(d, N, m)
    spec = looped_contextual_spec(d, N, Fraction(1, m))
    model = build_looped_contextual(d, N, Fraction(1, m)).model
    floats = model(X)
    assert torch.equal(floats, floats.round())  # so the exact values equal to them are integers
    assert_matches_reference(
        spec, lambda batch: model(torch.tensor(batch, dtype=torch.float64)).tolist(), X, exact=True
    )


def test_a_dtype_too_narrow_for_the_ids_is_refused() -> None:
    build_looped_contextual(2, 3, Fraction(1, 8), dtype=torch.float64)
    with pytest.raises(PrecisionError, match="float32"):
        build_looped_contextual(2, 3, Fraction(1, 8), dtype=torch.float32)


@pytest.mark.parametrize("d, N, m", [(1, 2, 4), (1, 3, 4), (2, 2, 2)])
def test_the_generic_checker_accepts_it_in_floats_and_exactly(d: int, N: int, m: int) -> None:
    built = build_looped_contextual(d, N, Fraction(1, m))
    model, guarantee = built.model, built.guarantee
    floats = check_contextual_mapping(
        lambda X: model(X)[..., 0],
        delta=Fraction(1, m),
        d=d,
        N=N,
        claimed_separation=guarantee.claimed_separation,
        check_duplicates=False,
    )
    assert floats.passed, floats
    spec = looped_contextual_spec(d, N, Fraction(1, m))
    exact = check_contextual_mapping(
        lambda batch: [[token[0] for token in exact_forward(spec, sample)] for sample in batch],
        delta=Fraction(1, m),
        d=d,
        N=N,
        exact=True,
        claimed_separation=1,
        check_duplicates=False,
    )
    assert exact.passed, exact
