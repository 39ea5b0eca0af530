"""The named steps of :func:`loopbound.constructions.contextual_check.check_contextual_mapping`.

Each step looks at a map's values on grid inputs (rows of cells [M, N]; float64 arrays, or lists
of exactly comparable values) and returns what it found with the first witness of a failure, one
line each. The properties (i)–(iv) and the band are those of the contextual mapping
(Yun et al. 2020, Def. 3.1; docs/theory.md §5):

- :func:`sort_values` sorts every value once; :func:`separation` (the smallest gap between
  distinct values) and :func:`collisions` ((i) two tokens of one input, (ii) two inputs sharing a
  value) then only compare neighbours;
- :func:`permutations` chooses the permuted copies for (iii), :func:`equivariance_failure`
  compares their values;
- :func:`separation_holds` (iv), :func:`inside_band` and :func:`duplicates_outside` the band.

Two values within ``tolerance`` count as equal (0 for an exact evaluation).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "SortedValues",
    "sort_values",
    "separation",
    "collisions",
    "permutations",
    "equivariance_failure",
    "separation_holds",
    "inside_band",
    "duplicates_outside",
    "describe",
]


def describe(rows: np.ndarray, i: int) -> str:
    """Input ``i`` as its cells, for a witness line."""
    return "cells " + str([int(c) for c in rows[i]])


def _exactly(value: Any, exact: bool) -> Any:
    """A float as the exact rational it is (comparisons with Fraction bounds stay exact)."""
    return value if exact else Fraction(float(value))


@dataclass(frozen=True)
class SortedValues:
    """Every value of M inputs with N tokens in one sequence (``flat``; position k belongs to input
    k // N, token k % N), its sorting ``order``, the sorted values and neighbours' gaps."""

    flat: Any
    N: int
    order: Any
    ordered: Any
    gaps: Any

    def owner(self, k: int) -> tuple[int, int]:
        """(input, token) of position ``k``."""
        return int(k) // self.N, int(k) % self.N


def sort_values(values: Any, rows: int, N: int, *, exact: bool) -> SortedValues:
    """All values sorted once: collisions and the separation are then among neighbours."""
    if exact:
        flat: Any = [v for row in values for v in row]
        order: Any = sorted(range(len(flat)), key=flat.__getitem__)
        ordered: Any = [flat[k] for k in order]
        return SortedValues(flat, N, order, ordered, [b - a for a, b in zip(ordered, ordered[1:])])
    flat = np.asarray(values, dtype=np.float64).reshape(rows * N)
    order = np.argsort(flat, kind="stable")
    return SortedValues(flat, N, order, flat[order], np.diff(flat[order]))


def separation(s: SortedValues, *, tolerance: float, exact: bool) -> Any:
    """The smallest gap between two values that differ by more than ``tolerance`` (None: no such pair)."""
    distinct_gaps = [g for g in s.gaps if g > tolerance] if exact else s.gaps[s.gaps > tolerance]
    smallest: Any = min(distinct_gaps) if len(distinct_gaps) else None
    if smallest is not None and not exact:
        smallest = float(smallest)
    return smallest


def _run(gaps: Any, k: int, tolerance: float) -> tuple[int, int]:
    """The run of neighbours within ``tolerance`` around gap k: sorted positions lo..hi."""
    lo = k
    while lo > 0 and gaps[lo - 1] <= tolerance:
        lo -= 1
    hi = k + 1
    while hi < len(gaps) and gaps[hi] <= tolerance:
        hi += 1
    return lo, hi


def collisions(s: SortedValues, rows: np.ndarray, *, tolerance: float, exact: bool) -> tuple[bool, bool, list[str]]:
    """(i) and (ii): in each run of neighbours within ``tolerance`` every pair is compared. Returns
    (two tokens of one input collide, two inputs share a value, the first witness of each)."""
    failures: list[str] = []
    same_input = cross_input = False
    close = (
        [k for k, g in enumerate(s.gaps) if g <= tolerance] if exact else np.flatnonzero(s.gaps <= tolerance).tolist()
    )
    for k in close:
        lo, hi = _run(s.gaps, k, tolerance)
        members = [int(s.order[m]) for m in range(lo, hi + 1)]
        for a, b in itertools.combinations(members, 2):
            if abs(s.flat[b] - s.flat[a]) > tolerance:
                continue
            (ia, ja), (ib, jb) = s.owner(a), s.owner(b)
            if ia == ib and not same_input:
                same_input = True
                failures.append(f"(i) input {describe(rows, ia)} has equal values at tokens {ja} and {jb}: {s.flat[a]}")
            elif ia != ib and not cross_input:
                cross_input = True
                failures.append(
                    f"(ii) inputs {describe(rows, ia)} (token {ja}) and {describe(rows, ib)} (token {jb}) "
                    f"share the value {s.flat[a]}"
                )
        if same_input and cross_input:
            break
    return same_input, cross_input, failures


def permutations(count: int, N: int, budget: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(input index, permutation) pairs: every non-identity permutation of every input when the
    budget allows, else random non-identity permutations spread over the inputs."""
    if N == 1 or count == 0 or budget <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, N), dtype=np.int64)
    if count * (math.factorial(N) - 1) <= budget:
        all_perms = np.array(list(itertools.permutations(range(N)))[1:], dtype=np.int64)
        index = np.repeat(np.arange(count), len(all_perms))
        return index, np.tile(all_perms, (count, 1))
    rng = np.random.default_rng(seed + 1)
    index = np.sort(rng.choice(count, size=budget, replace=budget > count))
    perms = np.argsort(rng.random((budget, N)), axis=1)
    identity = np.all(perms == np.arange(N), axis=1)
    perms[identity] = np.roll(np.arange(N), 1)
    return index, perms


def equivariance_failure(
    values: Any,
    permuted_values: Any,
    index: np.ndarray,
    perms: np.ndarray,
    rows: np.ndarray,
    *,
    tolerance: float,
    exact: bool,
) -> str | None:
    """(iii): q(L ∘ π) = q(L) ∘ π on every permuted copy (input ``index[k]`` permuted by
    ``perms[k]`` has values ``permuted_values[k]``); the first witness of a failure, else None."""
    if exact:
        bad = next(
            (
                k
                for k in range(len(index))
                if any(abs(a - values[index[k]][p]) > tolerance for a, p in zip(permuted_values[k], perms[k]))
            ),
            None,
        )
    else:
        expected_all = np.take_along_axis(values[index], perms, axis=1)
        wrong = np.flatnonzero(np.any(np.abs(permuted_values - expected_all) > tolerance, axis=1))
        bad = int(wrong[0]) if len(wrong) else None
    if bad is None:
        return None
    expected = [values[index[bad]][p] for p in perms[bad]]
    return (
        f"(iii) permuting input {describe(rows, index[bad])} by {perms[bad].tolist()} gives "
        f"{list(permuted_values[bad])}, not the permuted values {expected}"
    )


def separation_holds(measured: Any, claimed: Any) -> tuple[bool | None, list[str]]:
    """(iv): the measured separation is not below the claimed one (None: nothing to compare)."""
    if claimed is None or measured is None:
        return None, []
    holds = bool(measured >= claimed)
    return holds, [] if holds else [f"(iv) measured separation {measured} is below the claimed {claimed}"]


def inside_band(
    s: SortedValues, rows: np.ndarray, band: tuple[Any, Any], *, exact: bool
) -> tuple[bool | None, list[str]]:
    """Every value of a valid input lies in the band [t_l, t_r], compared exactly (None: no values)."""
    low, high = band
    if not len(s.ordered):
        return None, []
    if _exactly(s.ordered[0], exact) >= low and _exactly(s.ordered[-1], exact) <= high:
        return True, []
    k = int(s.order[0]) if s.ordered[0] < low else int(s.order[-1])
    i, j = s.owner(k)
    return False, [f"band: input {describe(rows, i)} has value {s.flat[k]} at token {j}, outside [{low}, {high}]"]


def duplicates_outside(
    dup_rows: np.ndarray, evaluate: Callable[[np.ndarray], Any], band: tuple[Any, Any], *, exact: bool
) -> tuple[bool | None, list[str]]:
    """Every value (``evaluate(dup_rows)``) of an input with a duplicated token lies outside the
    band, compared exactly. Returns (holds, or None when there is no such input; the first witness
    of a failure)."""
    if not len(dup_rows):
        return None, []
    low, high = band
    dup_values = evaluate(dup_rows)
    if exact:
        hit = next(((i, value) for i, row in enumerate(dup_values) for value in row if low <= value <= high), None)
    else:  # a float prefilter one ulp wide of the band, then exact comparisons
        mask = (dup_values >= np.nextafter(float(low), -np.inf)) & (dup_values <= np.nextafter(float(high), np.inf))
        hits = [
            (int(i), float(dup_values[i, j]))
            for i, j in np.argwhere(mask)
            if low <= Fraction(float(dup_values[i, j])) <= high
        ]
        hit = hits[0] if hits else None
    if hit is None:
        return True, []
    return False, [
        f"band: input {describe(dup_rows, hit[0])} with a duplicated token has value {hit[1]} inside [{low}, {high}]"
    ]
