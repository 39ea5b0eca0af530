"""A bound's value when the moduli in it are known only within an interval.

A bound B(w, …) is evaluated at moduli of the target, and a modulus is known either exactly (the
built-ins' derived ω), or only *bracketed*: a certified lower bound ω_lo (a witness pair,
:func:`theory.modulus.estimate_modulus`) and, where derived, an analytic upper bound ω_hi. The claim
"error ≤ B(ω)" at the true ω can then only be judged through the range of B over the box
ω ∈ [ω_lo, ω_hi]:

- if B is nondecreasing in each modulus (checked symbolically, with the other values substituted:
  each partial derivative is nonnegative under the symbols' assumptions — w, w_tok, w_cont ≥ 0,
  r, d, N, p, δ > 0), the range
  is [B(ω_lo), B(ω_hi)] and B(ω_lo) ≤ B(ω) ≤ B(ω_hi) is certain;
- otherwise the range is *sampled*: B on a grid of the box (``GRID_POINTS`` per modulus, endpoints
  included), its min and max — a range that may be too narrow, which the result says.

The verdict then uses ``low`` for "held" (measured upper end ≤ B(ω_lo) ≤ B(ω)) and ``high`` for
"violated" (measured lower end > B(ω_hi) ≥ B(ω)); between the two nothing is certain. Substituting
the upper bounds alone, as a bound-preserving shortcut would, can call a false claim "held": a claim
C·ω with ω_hi > ω passes at the upper value while failing at the true one.

A modulus with no upper bound (a user's target: only the estimate is known) enters ``high`` at its
lower value; the range's ``high_is_estimate`` is then True and a violation is against the estimate.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import sympy

from theory.bounds.core import Bound
from theory.errors import InputError

__all__ = ["BoundRange", "nondecreasing_in", "bound_range", "GRID_POINTS"]

GRID_POINTS = 17
"""Grid points per bracketed modulus when the bound is not shown monotone (17³ ≈ 4900 evaluations
for three moduli, vectorised)."""


@dataclass(frozen=True)
class BoundRange:
    """The bound's value over the moduli's brackets: ``low`` ≤ B(true moduli) ≤ ``high`` (certain
    when ``method`` is ``exact`` or ``monotone``; ``sampled`` is a grid's min and max), and whether
    ``high`` rests on a lower estimate only (``high_is_estimate``)."""

    low: float
    high: float
    method: str
    high_is_estimate: bool = False

    @property
    def exact(self) -> bool:
        return self.low == self.high


def nondecreasing_in(bound: Bound, names: tuple[str, ...], fixed: Mapping[str, float] | None = None) -> bool:
    """True when sympy shows ∂B/∂s ≥ 0 for each symbol s named, under the symbols' assumptions,
    with the ``fixed`` values substituted first (False also when it cannot decide)."""
    expression = bound.expression
    if fixed:
        expression = expression.subs({s: sympy.Float(fixed[s.name]) for s in expression.free_symbols if s.name in fixed})
    by_name = {s.name: s for s in expression.free_symbols}
    for name in names:
        symbol = by_name.get(name)
        if symbol is None:
            continue
        derivative = sympy.simplify(sympy.diff(expression, symbol))
        if derivative.is_nonnegative is not True:
            return False
    return True


def bound_range(bound: Bound, fixed: Mapping[str, float], brackets: Mapping[str, tuple[float, float | None]]) -> BoundRange:
    """The range of ``bound`` with ``fixed`` values and each bracketed modulus ``name → (lower,
    upper or None)`` in its interval (module docstring). Raises InputError where a bracket is
    inverted (a certified lower bound above an analytic upper one: the target's upper bound is wrong)."""
    names = tuple(brackets)
    for name, (lower, upper) in brackets.items():
        if upper is not None and lower > upper * (1 + 1e-12) + 1e-300:
            raise InputError(f"{name}: the certified lower bound {lower:.6g} exceeds the target's analytic upper "
                             f"bound {upper:.6g}; the target's upper modulus is wrong")
    high_is_estimate = any(upper is None for _, upper in brackets.values())
    low_values = {name: lower for name, (lower, _) in brackets.items()}
    high_values = {name: (lower if upper is None else max(lower, upper)) for name, (lower, upper) in brackets.items()}

    def at(values: Mapping[str, float]) -> float:
        return float(bound.evaluate(**fixed, **values))

    low, high = at(low_values), at(high_values)
    if low_values == high_values:
        return BoundRange(low, high, "exact", high_is_estimate)
    if nondecreasing_in(bound, names, fixed):
        return BoundRange(low, high, "monotone", high_is_estimate)
    axes = [np.linspace(low_values[name], high_values[name], GRID_POINTS) for name in names]
    mesh = np.meshgrid(*axes, indexing="ij")
    grid = np.asarray(bound.evaluate(**fixed, **{name: mesh[i] for i, name in enumerate(names)}), dtype=np.float64)
    grid = np.broadcast_to(grid, mesh[0].shape)
    if np.isnan(grid).any():
        raise InputError("the bound is NaN somewhere between the moduli's lower and upper bounds")
    corners = [at(dict(zip(names, corner))) for corner in itertools.product(*[(low_values[n], high_values[n]) for n in names])]
    return BoundRange(float(min(grid.min(), *corners)), float(max(grid.max(), *corners)), "sampled", high_is_estimate)
