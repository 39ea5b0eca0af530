"""Where the softmax contextual mapping (:mod:`loopbound.constructions.contextual_softmax`) starts
to hold: the inverse temperature above which it is a contextual mapping for every larger λ.

Above the proven λ₀ the values for one query token are ordered by the key (M, −a₍₂₎, −a₍₃₎, …) of
the sorted ids, the hardmax (λ → ∞) order. :func:`softmax_onset` finds, by a downward scan and
bisection in high-precision arithmetic, where this order last breaks: there two non-permutation
inputs share a value (a sign change of a continuous difference, :func:`witness_difference`,
refined by :func:`collision_point`), and for every larger λ the property holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from loopbound.constructions.contextual_grid import canonical_inputs, cells_to_fractions, check_shape
from loopbound.constructions.contextual_softmax import (
    DEFAULT_INVERSE_TEMPERATURE,
    BoltzmannSpec,
    boltzmann_spec,
    sufficient_inverse_temperature,
)
from loopbound.theory.errors import InputError

__all__ = [
    "SoftmaxOnset",
    "OrderViolation",
    "order_violations",
    "softmax_onset",
    "witness_difference",
    "collision_point",
]


@dataclass(frozen=True)
class SoftmaxOnset:
    """The inverse temperature above which the softmax map is a contextual mapping for good.

    The value order for some query token differs from the λ → ∞ order at ``lower`` and agrees at
    ``upper`` (upper − lower ≤ rel_tol·upper), and for ``witness`` = (query cell, cells of input A,
    cells of input B) the difference c(A) − c(B) changes sign in between: A and B (not permutations
    of each other) share a value at some λ in [lower, upper). ``sufficient`` is the proven λ₀.
    ``scanned`` lists the λ of the downward scan, each with whether the order held there."""

    delta: Fraction
    d: int
    N: int
    lower: float
    upper: float
    witness: tuple[int, tuple[int, ...], tuple[int, ...]] | None
    sufficient: float
    scanned: tuple[tuple[float, bool], ...]

    def __post_init__(self) -> None:
        if not 0 <= self.lower <= self.upper:
            raise ValueError(f"need 0 <= lower <= upper, got lower={self.lower}, upper={self.upper}")


def _order_key(ids: Sequence[int]) -> tuple[int, ...]:
    """The λ → ∞ order of s(α, A) for a fixed query: (max, −second, −third, …)."""
    ordered = sorted(ids, reverse=True)
    return (ordered[0], *(-a for a in ordered[1:]))


OrderViolation = tuple[int, tuple[int, ...], tuple[int, ...], Any]
"""(query cell, cells of input A, cells of input B, c(A) − c(B) as an mpmath number)."""


def order_violations(spec: BoltzmannSpec, rows: np.ndarray, dps: int) -> list[OrderViolation]:
    """(query cell, A, B, c(A) − c(B)) for every neighbouring pair, in the λ → ∞ order, of the
    canonical inputs ``rows`` (cells) sharing a query token whose values are not strictly increasing
    (mpmath with ``dps`` digits). Empty: the order of the hardmax limit holds, so all are distinct."""
    steps = spec.delta.denominator
    values = spec.ids_mp(cells_to_fractions(rows.tolist(), steps, spec.d), dps=dps)
    by_query: dict[int, list[tuple[tuple[int, ...], tuple[int, ...], Any]]] = {}
    for row, row_values in zip(rows.tolist(), values):
        for cell, value in zip(row, row_values):
            by_query.setdefault(cell, []).append((_order_key([c + 1 for c in row]), tuple(row), value))
    violations = []
    for cell, entries in by_query.items():
        entries.sort(key=lambda e: e[0])
        for (_, A, va), (_, B, vb) in zip(entries, entries[1:]):
            if not va < vb:
                violations.append((cell, A, B, va - vb))
    return violations


def softmax_onset(
    delta: float | Fraction,
    *,
    d: int,
    N: int,
    rel_tol: float = 1e-6,
    shrink: float = 0.9,
    floor: float = 1e-3,
    max_inputs: int = 5000,
) -> SoftmaxOnset:
    """Find where the softmax map becomes a contextual mapping for every larger λ.

    On all canonical grid inputs (at most ``max_inputs``; beyond, an InputError) and in mpmath at
    a precision that resolves e^{−λD(D−2)}: start at the default λ (above the proven λ₀, where the
    order must hold — a failure there is a bug and raises), scan down by factors ``shrink`` until
    the λ → ∞ order breaks, then bisect to ``rel_tol``. If the order never breaks down to
    ``floor``, the onset is reported as [0, floor]. A double crossing between two scan points would
    be missed; a finer ``shrink`` narrows that gap."""
    steps, cells = check_shape(delta, d, N)
    if not 0 < shrink < 1 or not 0 < rel_tol < 1 or not floor > 0:
        raise InputError("need 0 < shrink < 1, 0 < rel_tol < 1 and floor > 0")
    rows, total, exhaustive = canonical_inputs(cells, N, max_inputs=max_inputs, seed=0)
    if not exhaustive:
        raise InputError(f"{total} canonical inputs exceed max_inputs={max_inputs}; the onset needs all of them")
    D = cells

    def check(lam: float) -> list[OrderViolation]:
        spec = boltzmann_spec(delta, d=d, N=N, inverse_temperature=lam)
        dps = 30 + math.ceil(lam * D * max(D - 2, 1) / math.log(10))
        return order_violations(spec, rows, dps)

    upper = DEFAULT_INVERSE_TEMPERATURE
    if check(upper):
        raise RuntimeError(f"the λ → ∞ order fails at λ = {upper} > λ₀: the derivation in this module is wrong")
    scanned: list[tuple[float, bool]] = [(upper, True)]
    lower: float | None = None
    witness_violations: list[OrderViolation] = []
    lam = upper * shrink
    while lam >= floor:
        violations = check(lam)
        scanned.append((lam, not violations))
        if violations:
            lower, witness_violations = lam, violations
            break
        upper, lam = lam, lam * shrink
    if lower is None:  # the order held at every scanned λ: the onset lies below the last one
        return SoftmaxOnset(
            Fraction(1, steps), d, N, 0.0, upper, None, sufficient_inverse_temperature(), tuple(scanned)
        )
    while upper - lower > rel_tol * upper:
        mid = (lower + upper) / 2
        violations = check(mid)
        if violations:
            lower, witness_violations = mid, violations
        else:
            upper = mid
    cell, A, B, _ = min(witness_violations, key=lambda v: abs(v[3]))
    return SoftmaxOnset(
        Fraction(1, steps), d, N, lower, upper, (cell, A, B), sufficient_inverse_temperature(), tuple(scanned)
    )


def witness_difference(onset: SoftmaxOnset, inverse_temperature: float | Fraction, *, dps: int = 60) -> Any:
    """c(A) − c(B) at the query token of the onset's witness, at inverse temperature λ (mpmath)."""
    if onset.witness is None:
        raise InputError("this onset has no witness (the order never broke)")
    cell, A, B = onset.witness
    spec = boltzmann_spec(onset.delta, d=onset.d, N=onset.N, inverse_temperature=inverse_temperature)
    steps = onset.delta.denominator
    values = spec.ids_mp(cells_to_fractions([list(A), list(B)], steps, onset.d), dps=dps)
    return values[0][A.index(cell)] - values[1][B.index(cell)]


def collision_point(onset: SoftmaxOnset, *, dps: int = 60, steps: int = 150) -> tuple[Fraction, Any]:
    """Refine, by bisection on the witness difference, a λ in [lower, upper] where the two witness
    inputs share a value; returns (λ, the remaining difference)."""
    lower, upper = onset.lower, onset.upper
    sign_lower = witness_difference(onset, lower, dps=dps) >= 0  # wrong order at lower: c(A) ≥ c(B)
    if not sign_lower or witness_difference(onset, upper, dps=dps) >= 0:
        raise InputError("the witness difference does not change sign on [lower, upper]")
    lo, hi = Fraction(lower), Fraction(upper)  # exact midpoints: λ itself is not rounded
    for _ in range(steps):
        mid = (lo + hi) / 2
        if witness_difference(onset, mid, dps=dps) >= 0:
            lo = mid
        else:
            hi = mid
    return lo, witness_difference(onset, lo, dps=dps)
