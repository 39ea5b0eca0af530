"""Reflected contextual ids (loopbound.constructions.snake, contextual_looped, universal): neighbouring
ids are tuples one grid step apart, the network computes exactly those ids, and the unscaled value
error stays within ω^tok(δ) + ω^cont(δ) + 2^{1−F} for d, N ∈ {1, 2, 3}, shrinking with δ."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.constructions.contextual_looped import contextual_id
from loopbound.constructions.exact import exact_forward
from loopbound.constructions.exact_batch import ExactEvaluator
from loopbound.constructions.snake import cell_digits, cell_rank, contextual_rank, reflected_rank
from loopbound.constructions.universal import build_universal, universal_spec
from loopbound.constructions.universal_values import moduli_value_error_bound, value_table
from loopbound.testing import assert_within_guarantee
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.targets import Target, builtin_target

# the smallest grid of each (d, N) whose unscaled guarantee builds in well under a second
GRIDS = {(1, 1): 8, (1, 2): 4, (1, 3): 4, (2, 1): 4, (2, 2): 4, (2, 3): 2, (3, 1): 2, (3, 2): 2, (3, 3): 2}


def _digits(own: int, context: tuple[int, ...], m: int, d: int) -> list[int]:
    """The digit string (own cell, c₁, …, c_N), each cell most significant coordinate first."""
    return [g for cell in (own, *context) for g in reversed(cell_digits(cell, m, d))]


@pytest.mark.parametrize("m, n", [(2, 5), (3, 4), (4, 3), (5, 2)])
def test_consecutive_reflected_ranks_differ_by_one_step_of_one_digit(m: int, n: int) -> None:
    strings = {reflected_rank(a, m): a for a in itertools.product(range(m), repeat=n)}
    assert sorted(strings) == list(range(m**n))  # a bijection onto 0 … m^n − 1
    for R in range(m**n - 1):
        assert sum(abs(p - q) for p, q in zip(strings[R], strings[R + 1])) == 1, R


@pytest.mark.parametrize("m, d, N", [(2, 1, 3), (3, 1, 2), (2, 2, 2), (3, 2, 1), (2, 3, 1)])
def test_the_contextual_rank_is_the_reflected_rank_of_the_digit_string(m: int, d: int, N: int) -> None:
    K0 = m**d
    for r in range(K0):
        assert cell_rank(cell_digits(r, m, d), m) == r
        assert r % 2 == sum(cell_digits(r, m, d)) % 2  # ρ, the rank's parity, is the digit sum's
    for own in range(K0):
        for context in itertools.product(range(K0), repeat=N):
            assert contextual_rank(own, context, K0) == reflected_rank(_digits(own, context, m, d), m)


def _distinct_cell_inputs(m: int, d: int, N: int, count: int, seed: int) -> torch.Tensor:
    """Points whose tokens sit in distinct cells, at least δ/10 from every cell edge."""
    generator = torch.Generator().manual_seed(seed)
    points: list[torch.Tensor] = []
    while len(points) < count:
        cells = torch.randint(0, m, (N, d), generator=generator)
        if len({tuple(cell.tolist()) for cell in cells}) == N:
            offsets = 0.1 + 0.8 * torch.rand(N, d, generator=generator, dtype=torch.float64)
            points.append((cells + offsets) / m)
    return torch.stack(points)


@pytest.mark.parametrize(
    "d, N, m",
    [(1, 3, 4), (2, 1, 4), (2, 2, 2), (2, 3, 2), (3, 2, 2), pytest.param(2, 2, 4, marks=pytest.mark.slow)],
)
def test_the_network_computes_the_reflected_ids_and_the_table_values(d: int, N: int, m: int) -> None:
    target = builtin_target("smooth", d=d, N=N)
    approximator = build_universal(target, Fraction(1, m), timestep=True).model
    X = _distinct_cell_inputs(m, d, N, 24, seed=d * 10 + N)
    ids = approximator.stages(X)["contextual_id"]
    grid = torch.floor(X * m).long()
    for b in range(len(X)):
        ranks = [cell_rank(grid[b, n].tolist(), m) for n in range(N)]
        expected = [contextual_rank(r, sorted(ranks, reverse=True), m**d) for r in ranks]
        assert ids[b].tolist() == expected, (X[b].tolist(), ids[b].tolist(), expected)
    assert_within_guarantee(approximator, target, X, approximator.guarantee)


def _consecutive_jumps(target: Target, m: int) -> float:
    """max |Δŷ|/Δk over consecutive valid ids of the raw (unrounded) value table."""
    table = value_table(target, m)
    ids = sorted(table)
    return max(max(abs(a - b) for a, b in zip(table[k2], table[k1])) / (k2 - k1) for k1, k2 in zip(ids, ids[1:]))


TARGETS = {
    "smooth": lambda d, N, draw: builtin_target("smooth", d=d, N=N, seed=draw(st.integers(0, 50))),
    "contextual_max": lambda d, N, draw: builtin_target(
        "contextual_max", d=d, N=N, scale=draw(st.sampled_from([-2.0, 0.5, 1.0, 3.0]))
    ),
    "holder": lambda d, N, draw: builtin_target("holder", d=d, N=N, alpha=draw(st.sampled_from([0.5, 1.0]))),
}


@pytest.mark.parametrize("d, N", sorted(GRIDS))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_the_unscaled_value_error_is_within_the_token_and_contextual_moduli(
    d: int, N: int, data: st.DataObject
) -> None:
    """ε_j ≤ ω^tok_f(δ) + ω^cont_f(δ) + 2^{1−F} (module docstring of the universal construction),
    on targets with analytic upper moduli (Lipschitz, and Hölder with α = 1/2); the raw table's jumps
    within the moduli alone."""
    m = GRIDS[d, N]
    target = TARGETS[data.draw(st.sampled_from(sorted(TARGETS)))](d, N, data.draw)
    guarantee = universal_spec(target, Fraction(1, m), timestep=False).guarantee
    F = round(-1 - math.log2(guarantee.label_rounding))
    bound = moduli_value_error_bound(target, m, F)
    assert bound is not None
    assert max(guarantee.value_error_bound) <= bound, (guarantee.value_error_bound, bound)
    moduli = target.upper_modulus(ModulusKind.TOKEN, 1 / m) + (
        target.upper_modulus(ModulusKind.CONTEXTUAL, 1 / m) if N > 1 else 0.0
    )
    assert _consecutive_jumps(target, m) <= moduli * (1 + 1e-12)


@pytest.mark.parametrize(
    "name, d, N, grids",
    [
        *(
            (name, d, N, grids)
            for name in ("contextual_max", "smooth")
            for d, N, grids in ((2, 2, (2, 4)), (1, 2, (4, 8)))
        ),
        *(
            (name, d, N, grids)
            for name in ("contextual_max", "smooth")
            for d, N, grids in ((2, 1, (4, 8)), (3, 1, (2, 4)))
        ),
        ("smooth", 2, 3, (2, 4)),  # contextual_max is constant on three of the four cells of m = 2
    ],
)
def test_the_unscaled_value_error_halves_with_delta(name: str, d: int, N: int, grids: tuple[int, int]) -> None:
    """For Lipschitz targets ε = O(δ); where ε sits near its bound, halving δ halves it (within a
    factor 0.6). (Where ε is far below the bound, e.g. d = 1, N = 3, it falls less regularly.)"""
    target = builtin_target(name, d=d, N=N)
    coarse, fine = (
        max(universal_spec(target, Fraction(1, m), timestep=False).guarantee.value_error_bound) for m in grids
    )
    assert 0 < fine <= 0.6 * coarse, (coarse, fine)


def test_fraction_evaluation_at_d2_n2_is_within_epsilon_and_reads_the_reflected_ids() -> None:
    """d = 2, N = 2, δ = 1/2 (67 loops) one sequence at a time in Fractions (exact_forward): the
    contextual ids after the contextual phase are the reflected ranks, the output within ε."""
    m, target = 2, builtin_target("smooth", d=2, N=2)
    specified = universal_spec(target, Fraction(1, m), timestep=False)
    spec, guarantee = specified.model, specified.guarantee
    X = _distinct_cell_inputs(m, 2, 2, 3, seed=11)
    settled = guarantee.quantisation_loops + guarantee.contextual_loops
    ids = contextual_id(2, m, 2)
    outputs = []
    for sample in X:
        output, states = exact_forward(spec, sample.tolist(), trace=True)
        ranks = [cell_rank(torch.floor(token * m).long().tolist(), m) for token in sample]
        expected = [contextual_rank(r, sorted(ranks, reverse=True), m**2) for r in ranks]
        got = [sum(c * z[name] for name, c in ids.terms.items()) + ids.constant for z in states[settled]]
        assert got == expected
        outputs.append([[float(v) for v in token] for token in output])
    out = torch.tensor(outputs, dtype=torch.float64)
    assert_within_guarantee(lambda Z: out, target, X, guarantee)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["contextual_max", "smooth"])
def test_the_unscaled_value_error_at_d2_n2_halves_from_a_quarter_to_an_eighth(name: str) -> None:
    """The issue's check: d = 2, N = 2, a Lipschitz target, δ = 1/4 → 1/8 (262 153 loops)."""
    target = builtin_target(name, d=2, N=2)
    coarse, fine = (
        max(universal_spec(target, Fraction(1, m), timestep=False).guarantee.value_error_bound) for m in (4, 8)
    )
    assert 0 < fine <= 0.6 * coarse, (coarse, fine)


@pytest.mark.parametrize("d, N, m", [(2, 2, 2), (1, 3, 4), pytest.param(3, 2, 2, marks=pytest.mark.slow)])
def test_the_unscaled_network_is_within_epsilon_of_f_at_the_lower_corner(d: int, N: int, m: int) -> None:
    """Evaluated exactly (the unscaled register needs ~K bits), off the failure set."""
    target = builtin_target("smooth", d=d, N=N)
    specified = universal_spec(target, Fraction(1, m), timestep=False)
    X = _distinct_cell_inputs(m, d, N, 6, seed=7)
    evaluator = ExactEvaluator(specified.model)
    assert_within_guarantee(lambda Z: evaluator.forward(Z), target, X, specified.guarantee)


@pytest.mark.slow
def test_the_unscaled_network_at_d2_n2_quarter_is_within_epsilon() -> None:
    """d = 2, N = 2, δ = 1/4 (4101 loops) in exact arithmetic: within ε of f at the lower corner,
    and ε ≤ ω^tok(1/4) + ω^cont(1/4) = 1/2 for contextual_max."""
    target = builtin_target("contextual_max", d=2, N=2)
    specified = universal_spec(target, Fraction(1, 4), timestep=False)
    X = _distinct_cell_inputs(4, 2, 2, 6, seed=3)
    evaluator = ExactEvaluator(specified.model)
    assert_within_guarantee(lambda Z: evaluator.forward(Z), target, X, specified.guarantee)
    assert max(specified.guarantee.value_error_bound) <= 0.5
