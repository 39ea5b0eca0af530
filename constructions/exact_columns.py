"""Exact rational columns: the arithmetic of :mod:`loopbound.constructions.exact_batch`.

Mathematical object. A *column* is a vector of rationals (x_1, …, x_R) ∈ Q^R, one per row (a row
is one token of one sequence), stored as integer numerators p_i and one common positive
denominator D: x_i = p_i / D. The operations a block needs are exact on this representation:

- an affine combination Σ_j c_j·x^{(j)} + c₀ with rational c_j over columns with denominators D_j
  has the denominator D = lcm(den c₀, den(c_j)·D_j) and the numerators
  Σ_j num(c_j)·(D / (den(c_j)·D_j))·p^{(j)} + c₀·D, all integers;
- the entry-wise product of two columns has numerators p·p' over D·D';
- ReLU and every comparison act on the numerators alone (D > 0);
- a column is *reduced* by g = gcd(D, p_1, …, p_R): (p/g, D/g) is the same vector.

Numerators live in a numpy ``int64`` array while a bound on their magnitude stays below 2^62 (every
combination is then free of overflow: the bound is Σ|scaled c_j|·bound_j + |c₀·D|, checked before
the sum), and in a numpy ``object`` array of Python integers (exact at any size) otherwise. The
choice is made per column and per operation, so the few columns that carry hundreds of bits (the
bit register of the unscaled universal construction) cost big-integer time and the rest run at
machine-integer speed.

A float64 converts exactly: x = M·2^e with M an odd integer below 2^53 (``numpy.frexp``), and a
column of them has the denominator 2^E with E the largest −e. Back to floats, each entry p/D is
rounded to the nearest float64, ties to even, by Python's correctly rounded integer division.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

SAFE = 2**62
"""Numerator bound below which a column is kept in int64 (sums of two such values do not overflow)."""


@dataclass(frozen=True, slots=True)
class Column:
    """Rationals ``values[i] / den`` (``values``: int64 or object numerators; ``den`` > 0), with
    ``bound`` ≥ max |values[i]| (int64 is used only while ``bound`` < :data:`SAFE`)."""

    values: np.ndarray
    den: int
    bound: int
    converted: list[np.ndarray] = field(default_factory=list, compare=False, repr=False)

    @property
    def small(self) -> bool:
        return self.values.dtype == np.int64

    def objects(self) -> np.ndarray:
        """The numerators as Python integers (an object array; converted once per column)."""
        if not self.small:
            return self.values
        if not self.converted:
            self.converted.append(self.values.astype(object))
        return self.converted[0]

    def fractions(self) -> list[Fraction]:
        return [Fraction(int(p), self.den) for p in self.values.tolist()]


def from_floats(x: np.ndarray) -> Column:
    """The exact rationals of a float64 vector (finite entries; the caller checks)."""
    mantissa, exponent = np.frexp(x)
    M = (mantissa * 2.0**53).astype(np.int64)  # exact: a float64 significand has 53 bits
    e = exponent.astype(np.int64) - 53
    nonzero = M != 0
    if not nonzero.any():
        return Column(np.zeros(len(x), dtype=np.int64), 1, 0)
    lowest = M & -M  # strip trailing zeros: M odd, so the denominator is the least one
    twos = np.zeros_like(M)
    twos[nonzero] = np.round(np.log2(lowest[nonzero].astype(np.float64))).astype(np.int64)
    M = np.where(nonzero, M >> twos, 0)
    e = e + twos
    E = max(0, int(-(e[nonzero].min())))
    shift = np.where(nonzero, e + E, 0)
    if int(shift.max()) + 53 < 62:
        values = M << shift
        return tighten(Column(values, 2**E, SAFE))
    values = M.astype(object) << shift.astype(object)
    return tighten(Column(values, 2**E, 2 ** (int(shift.max()) + 53)))


def combine(terms: Sequence[tuple[Fraction, Column]], offset: Fraction, rows: int) -> Column:
    """Σ c·x + offset over ``terms`` (c, x), exactly."""
    terms = [(c, x) for c, x in terms if c != 0 and x.bound != 0]
    den = math.lcm(offset.denominator, *(c.denominator * x.den for c, x in terms))
    scaled = [(c.numerator * (den // (c.denominator * x.den)), x) for c, x in terms]
    start = offset.numerator * (den // offset.denominator)
    bound = sum(abs(f) * x.bound for f, x in scaled) + abs(start)
    small = [(f, x) for f, x in scaled if x.small]
    if sum(abs(f) * x.bound for f, x in small) + abs(start) >= SAFE:
        small = []  # even the machine-integer terms may overflow: all in Python integers
    large = [(f, x) for f, x in scaled if not any(x is y for _, y in small)]
    if bound < SAFE or small:
        partial = np.full(rows, start if small else 0, dtype=np.int64)
        for f, x in small:
            partial += x.values if f == 1 else f * x.values
        if not large and bound < SAFE:
            if not small:
                partial += start
            return Column(partial, den, bound)
    total: np.ndarray | None = None
    for f, x in large:  # new arrays only: a term may be a column's own array
        term = x.objects() if f == 1 else x.objects() * f
        total = term if total is None else total + term
    if total is None:
        total = np.empty(rows, dtype=object)
        total[:] = 0
    if small:
        total = total + partial
    elif start:
        total = total + start
    return Column(total, den, bound)


def product(a: Column, b: Column) -> Column:
    """The entry-wise product."""
    bound = a.bound * b.bound
    if a.small and b.small and bound < SAFE:
        return Column(a.values * b.values, a.den * b.den, bound)
    return Column(a.objects() * b.objects(), a.den * b.den, bound)


def relu(x: Column) -> Column:
    """max(x, 0) entry-wise."""
    return Column(np.maximum(x.values, 0), x.den, x.bound)


def tighten(x: Column) -> Column:
    """The same column with its bound made exact (max |p|), in int64 if that fits."""
    if len(x.values) == 0:
        return Column(np.zeros(0, dtype=np.int64), x.den, 0)
    if x.small:
        return Column(x.values, x.den, int(np.abs(x.values).max()))
    bound = int(np.abs(x.values).max())
    if bound < SAFE:
        return Column(x.values.astype(np.int64), x.den, bound)
    return Column(x.values, x.den, bound)


def reduce(x: Column) -> Column:
    """The same rationals over the least common denominator gcd-reduced: (p/g, D/g)."""
    if x.den == 1:
        return x
    if x.small:
        g = math.gcd(x.den, int(np.gcd.reduce(x.values))) if len(x.values) else x.den
    else:
        g = math.gcd(x.den, *x.values.tolist())
    if g == 1:
        return x
    return Column(x.values // g, x.den // g, x.bound // g)


def to_floats(x: Column) -> np.ndarray:
    """Each entry p/D rounded to the nearest float64, ties to even (±inf past the largest float)."""
    if x.small and x.den == 1 and x.bound <= 2**53:
        return x.values.astype(np.float64)
    numerators = x.objects()
    try:
        return (numerators / x.den).astype(np.float64)
    except OverflowError:
        return np.array([_nearest(int(p), x.den) for p in numerators.tolist()], dtype=np.float64)


def _nearest(p: int, q: int) -> float:
    try:
        return p / q
    except OverflowError:
        return math.inf if p > 0 else -math.inf
