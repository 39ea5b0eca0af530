"""The universal construction's sizes and loop counts, evaluated from their one source.

The formulas are the sympy expressions of :mod:`loopbound.theory.bounds.budgets` (the construction's
``CONSTRUCTION_*`` and the theorem's ``THEORY_*``, docs/theory.md §3 and §9), evaluated here exactly
in integers. The builder (:func:`loopbound.constructions.universal.universal_spec`) takes its phase
loop counts from :func:`universal_sizes` and checks its block against the widths; ``loops_for_grid``,
``grid_for_loops`` and ``loopbound build`` read the same functions, so no second formula exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from loopbound.theory.bounds.approximation import THEORY_LOOPS
from loopbound.theory.bounds.budgets import (
    CONSTRUCTION_CONTEXTUAL_LOOPS,
    CONSTRUCTION_EMBEDDING_WIDTH,
    CONSTRUCTION_FF_WIDTH,
    CONSTRUCTION_HEADS,
    CONSTRUCTION_QUANTISATION_LOOPS,
    CONSTRUCTION_VALUE_LOOPS,
    THEORY_EMBEDDING_WIDTH,
    THEORY_FF_WIDTH,
    THEORY_HEADS,
    exact_integer,
)
from loopbound.theory.errors import InputError

__all__ = [
    "UniversalSizes",
    "TheorySizes",
    "universal_sizes",
    "theory_sizes",
    "largest_valid_id",
    "loops_for_grid",
    "grid_for_loops",
]


@dataclass(frozen=True)
class UniversalSizes:
    """The fused block at grid m = 1/δ: (m − 1) quantisation + N contextual + K value loops, the
    residual and feed-forward widths of the variant, and its heads (all of size 1)."""

    quantisation_loops: int
    contextual_loops: int
    value_loops: int
    embedding_width: int
    ff_width: int
    heads: int
    head_size: int = 1

    @property
    def loops(self) -> int:
        return self.quantisation_loops + self.contextual_loops + self.value_loops


@dataclass(frozen=True)
class TheorySizes:
    """Theorem 3.6's block at δ = 1/m: embedding 17d + 9, feed-forward 49d + 25, 2 heads of size 1,
    and (δ^{−1} − 1) + N + (2δ^{−(N+1)d} − 1) loops."""

    embedding_width: int
    ff_width: int
    heads: int
    head_size: int
    loops: int


def _check_grid(m: int, d: int, N: int) -> None:
    if m < 2:
        raise InputError(f"grid size m = 1/delta must be >= 2, got {m}")
    if N > m**d:
        raise InputError(f"N = {N} tokens cannot sit in distinct cells of a grid with {m**d} cells (delta too large)")


def largest_valid_id(m: int, d: int, N: int) -> int:
    """K = K₀^{N+1} − 1 − [N ≥ 2], K₀ = m^d: where the value walk ends (the value loops); every valid
    reflected contextual id lies in 0 … K, and every id of a digit tuple, collisions included, in
    0 … K₀^{N+1} − 1 (:mod:`loopbound.theory.bounds.budgets`)."""
    if N > m**d:
        raise InputError(f"N = {N} tokens cannot sit in distinct cells of a grid with {m**d} cells (delta too large)")
    return exact_integer(CONSTRUCTION_VALUE_LOOPS, m=m, d=d, N=N)


def universal_sizes(m: int, d: int, N: int, d_out: int, *, timestep: bool) -> UniversalSizes:
    """The construction's sizes at grid m (refusing m < 2 and more tokens than cells)."""
    _check_grid(m, d, N)
    return UniversalSizes(
        quantisation_loops=exact_integer(CONSTRUCTION_QUANTISATION_LOOPS, m=m, d=d, N=N),
        contextual_loops=exact_integer(CONSTRUCTION_CONTEXTUAL_LOOPS, m=m, d=d, N=N),
        value_loops=largest_valid_id(m, d, N),
        embedding_width=exact_integer(CONSTRUCTION_EMBEDDING_WIDTH[timestep], d=d, d_out=d_out),
        ff_width=exact_integer(CONSTRUCTION_FF_WIDTH[timestep], d=d, d_out=d_out),
        heads=exact_integer(CONSTRUCTION_HEADS, d=d),
    )


def theory_sizes(m: int, d: int, N: int) -> TheorySizes:
    """Theorem 3.6's sizes at δ = 1/m (:class:`TheorySizes`)."""
    return TheorySizes(
        embedding_width=exact_integer(THEORY_EMBEDDING_WIDTH, d=d),
        ff_width=exact_integer(THEORY_FF_WIDTH, d=d),
        heads=exact_integer(THEORY_HEADS, d=d),
        head_size=1,
        loops=exact_integer(THEORY_LOOPS, delta=Fraction(1, m), d=d, N=N),
    )


def loops_for_grid(m: int, d: int, N: int, *, timestep: bool = True) -> int:
    """The construction's loop budget for δ = 1/m: (m − 1) + (N + d − 1) + K (the same with or
    without timestep scaling)."""
    return universal_sizes(m, d, N, 1, timestep=timestep).loops


def grid_for_loops(r: int, d: int, N: int, *, timestep: bool = True) -> int | None:
    """The largest m with loops_for_grid(m, d, N) ≤ r, or None when even the smallest grid that
    holds N tokens in distinct cells needs more loops."""
    smallest = 2
    while smallest**d < N:
        smallest += 1
    if loops_for_grid(smallest, d, N) > r:
        return None
    low, high = smallest, smallest
    while loops_for_grid(high, d, N) <= r:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if loops_for_grid(middle, d, N) <= r:
            low = middle
        else:
            high = middle
    return low
