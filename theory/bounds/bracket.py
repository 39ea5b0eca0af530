"""A bound's value when the moduli in it are known only within an interval.

A bound B(w, …) is evaluated at moduli of the target, and a modulus is known either exactly (the
built-ins' derived ω), *bracketed* (a certified lower bound ω_lo from a witness pair,
:func:`loopbound.theory.modulus.estimate_modulus`, and an analytic upper bound ω_hi), or *estimated* (a user's
target: ω_lo only, so the true ω lies somewhere in [ω_lo, ∞)). The claim "error ≤ B(ω)" at the true
ω can then only be judged through the range of B over the box of the moduli's intervals, and every
range here is right by construction, never sampled:

- **monotone**: where B is nondecreasing in a modulus, its smallest value over the box is at that
  modulus' lower end and its largest at the upper end (the reverse where nonincreasing). The
  direction is certified by the sign of ∂B/∂ω: sympy's assumptions (ω, ω^tok, ω^cont ≥ 0; r, d, N,
  p, δ > 0) with the other values substituted, else an outward-rounded interval enclosure of ∂B/∂ω
  over the box (an enclosure ≥ 0 proves nondecreasing). Bounds with jumps in a modulus (floor,
  ceiling, sign, Piecewise) are never judged by their derivative;
- **interval arithmetic**: in a modulus where no direction is certified, B is enclosed over the box
  by outward-rounded interval arithmetic (:mod:`mpmath.iv`, the box split into up to
  :data:`SUBBOXES` pieces to tighten it): the enclosure [L, U] has L ≤ min B and U ≥ max B;
- otherwise (an enclosure that fails, or is unbounded) the range is **not certified**: ``reason``
  says why, and a verdict on the row can be neither "held" nor "violated".

An estimated modulus has no upper end: where B is nondecreasing in it, B(ω_lo) is the certified
smallest value (``low``) and ``high`` is B at the estimate too (``high_is_estimate``: a violation is
against the estimate). Where B decreases in it, or no direction is certified, its smallest value
over [ω_lo, ∞) is unknown: a bound cannot hold on an estimate alone, and ``reason`` says so.

The verdict uses ``low`` for "held" (measured upper end ≤ low ≤ B(ω)) and ``high`` for "violated"
(measured lower end > high ≥ B(ω)); in between nothing is certain. Substituting the upper bounds
alone can call a false claim "held": a claim C·ω with ω_hi > ω passes at the upper value while
failing at the true one.

Every value of B at a point (the exact case, the ends of the monotone case) is a certified
enclosure, never a float64 evaluation (:meth:`loopbound.theory.bounds.core.Bound.enclosure`):
``low`` is the enclosure's lower end and ``high`` its upper end, and an enclosure that stays wider
than a few ulps at every working precision leaves the range not certified. The other values are
put in as the exact rationals they are (sympy Floats would round constant arithmetic). Where the
bound as written is undefined (:attr:`~loopbound.theory.bounds.core.Bound.domain`: ``w/w`` at
w = 0) at a point it is refused, and where that can happen inside the box, not certified.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from loopbound.theory.bounds.core import Bound
from loopbound.theory.bounds.interval import NotEnclosed, PointValue, Unsupported, enclose
from loopbound.theory.errors import InputError

__all__ = ["BoundRange", "nondecreasing_in", "direction_in", "enclose", "bound_range", "SUBBOXES", "NotEnclosed"]

SUBBOXES = 64
"""Pieces the box of the undecided moduli is split into for the enclosure (the smallest of the
pieces' lower ends, the largest of their upper ends: still an enclosure, tighter than one box)."""

JUMPS = (sympy.Piecewise, sympy.floor, sympy.ceiling, sympy.sign, sympy.Heaviside, sympy.frac, sympy.DiracDelta)
"""Functions with jumps: a derivative says nothing about monotonicity across a jump."""


@dataclass(frozen=True)
class BoundRange:
    """The bound's value over the moduli's box: ``low`` ≤ B(true moduli) ≤ ``high``, certified when
    ``reason`` is None. Every end is an outward-rounded enclosure, never a float64 evaluation (which
    can cancel catastrophically). ``method``: ``exact`` (every modulus known exactly: ``low`` and
    ``high`` enclose one value, within a few ulps), ``monotone`` (ends of
    the box, the direction certified) or ``interval arithmetic`` (an outward-rounded enclosure over
    the box). ``high_is_estimate``: ``high`` rests on a lower estimate of a modulus only (a
    violation is against the estimate). ``reason``: why the range is not certified (then
    ``method`` is ``not certified`` and ``low``, ``high`` are values of B shown, not certain)."""

    low: float
    high: float
    method: str
    high_is_estimate: bool = False
    reason: str | None = None

    @property
    def exact(self) -> bool:
        """One value of B (every modulus known exactly), enclosed to a few ulps in [low, high]."""
        return self.method == "exact"

    @property
    def certified(self) -> bool:
        return self.reason is None


# --------------------------------------------------------------------------- interval arithmetic
def _enclose_split(
    expression: sympy.Expr, box: Mapping[str, tuple[float, float]], split: tuple[str, ...]
) -> tuple[float, float]:
    """:func:`enclose` over ``box`` with the moduli ``split`` cut into equal pieces (up to
    :data:`SUBBOXES` sub-boxes): the smallest lower end and the largest upper end."""
    pieces = max(1, int(SUBBOXES ** (1.0 / len(split)))) if split else 1
    axes = []
    for name in split:
        lo, hi = box[name]
        cuts = [lo + (hi - lo) * k / pieces for k in range(pieces + 1)]
        cuts[0], cuts[-1] = lo, hi
        axes.append([(cuts[k], cuts[k + 1]) for k in range(pieces)])
    low, high = math.inf, -math.inf
    for parts in itertools.product(*axes):
        sub = dict(box)
        sub.update(zip(split, parts))
        a, b = enclose(expression, sub)
        low, high = min(low, a), max(high, b)
    return low, high


# --------------------------------------------------------------------------- monotonicity
def _has_jump_in(expression: sympy.Expr, symbol: sympy.Symbol) -> bool:
    return any(symbol in node.free_symbols for node in expression.atoms(*JUMPS))


def direction_in(expression: sympy.Expr, name: str, box: Mapping[str, tuple[float, float]]) -> int:
    """+1 when ``expression`` is certified nondecreasing in the symbol ``name`` over ``box``, −1 when
    nonincreasing, 0 when neither is certified (module docstring: the derivative's sign by sympy's
    assumptions, else by an interval enclosure of the derivative over the box)."""
    symbol = next((s for s in expression.free_symbols if s.name == name), None)
    if symbol is None:
        return 1  # constant in it: both directions hold
    if _has_jump_in(expression, symbol):
        return 0
    derivative = sympy.diff(expression, symbol)
    if derivative.has(sympy.Derivative, sympy.Subs):
        return 0
    if derivative.is_finite is True:
        if derivative.is_nonnegative is True:
            return 1
        if derivative.is_nonpositive is True:
            return -1
    try:  # a one-sided enclosure is enough: [0, +inf] still proves nondecreasing
        low, high = enclose(derivative, box, bounded=False)
    except NotEnclosed:
        return 0
    if low >= 0:
        return 1
    if high <= 0:
        return -1
    return 0


def nondecreasing_in(
    bound: Bound,
    names: tuple[str, ...],
    fixed: Mapping[str, float | Fraction] | None = None,
    box: Mapping[str, tuple[float, float]] | None = None,
) -> bool:
    """True when ∂B/∂s ≥ 0 is certified for each symbol s named (:func:`direction_in`), with the
    ``fixed`` values substituted first and the moduli in ``box`` (default: each named symbol in
    [0, ∞)); False also when it cannot be decided."""
    expression = _substituted(bound, fixed or {})
    box = dict(box or {name: (0.0, math.inf) for name in names})
    return all(direction_in(expression, name, box) > 0 for name in names)


def _exact(value: float | Fraction) -> sympy.Expr:
    """A float64 as the exact rational it is, a Fraction as itself (±inf as sympy's infinities)."""
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    value = float(value)
    return sympy.Rational(value) if math.isfinite(value) else sympy.Float(value)


def _substituted(bound: Bound, fixed: Mapping[str, float | Fraction]) -> sympy.Expr:
    """The bound's expression with the ``fixed`` values put in as the exact rationals they are:
    constant arithmetic then stays exact (sympy Floats would round it, and cancel catastrophically)."""
    replacements = {s: _exact(fixed[s.name]) for s in bound.expression.free_symbols if s.name in fixed}
    return bound.expression.xreplace(replacements)


# --------------------------------------------------------------------------- the range
def _reason_estimate(name: str, direction: int) -> str:
    if direction < 0:
        return (
            f"the bound decreases in {name}, which is only estimated from below: it cannot hold on the estimate alone"
        )
    return (
        f"the bound is not shown nondecreasing in {name}, which is only estimated from below: "
        "it cannot hold on the estimate alone"
    )


def bound_range(
    bound: Bound, fixed: Mapping[str, float | Fraction], brackets: Mapping[str, tuple[float, float | None]]
) -> BoundRange:
    """The range of ``bound`` with ``fixed`` values and each bracketed modulus ``name → (lower,
    upper or None)`` in its interval (module docstring). Raises InputError where a bracket is
    inverted (a certified lower bound above an analytic upper one: the target's upper bound is
    wrong) and where the bound is not finite at the moduli's ends (undefined there).

    The steps: the value at the lower and the upper ends (:class:`_Points`); the moduli that
    actually range (:func:`_ranged`; none: the exact case); the direction of B in each of them and
    the monotone ends it gives (:func:`_monotone_ends`); and, in the moduli with no certified
    direction, the enclosure over their brackets (:func:`_enclosed_range`)."""
    _check_brackets(brackets)
    lows = {name: lower for name, (lower, _) in brackets.items()}
    highs = {name: (lower if upper is None else max(lower, upper)) for name, (lower, upper) in brackets.items()}
    points = _Points(bound, fixed)
    at_low, at_high = points.value_at(lows, "lower ends"), points.at(highs)
    shown = (min(at_low.low, at_high.low), max(at_low.high, at_high.high))
    ranged = _ranged(bound, brackets, highs)
    if not ranged:
        return BoundRange(*shown, "not certified" if points.reasons else "exact", reason=points.reason())

    estimated = {name for name in ranged if brackets[name][1] is None}
    known = {**fixed, **{name: lows[name] for name in brackets if name not in ranged}}
    expression = _substituted(bound, known)
    box = {name: (lows[name], math.inf if name in estimated else highs[name]) for name in ranged}
    points.reasons.extend(_undefined_inside(bound, known, box))
    directions = {name: direction_in(expression, name, box) for name in ranged}
    ends = _monotone_ends(ranged, estimated, directions, lows, highs, points.reasons)

    method = "monotone"
    low, high = points.value_at(ends.low, "low end").low, points.value_at(ends.high, "high end").high
    if ends.free:
        method = "interval arithmetic"
        finite_box = {name: (lows[name], highs[name]) for name in ranged}
        low, high = _enclosed_range(expression, finite_box, ends, points.reasons) or shown
    low, high = min(low, high), max(low, high)  # both stay certified ends: min ≤ each, max ≥ each
    if points.reasons:
        method = "not certified"
    return BoundRange(low, high, method, ends.high_is_estimate, points.reason())


def _check_brackets(brackets: Mapping[str, tuple[float, float | None]]) -> None:
    """Refuse an inverted bracket: a certified lower bound above the target's analytic upper one."""
    for name, (lower, upper) in brackets.items():
        if upper is not None and lower > upper * (1 + 1e-12) + 1e-300:
            raise InputError(
                f"{name}: the certified lower bound {lower:.6g} exceeds the target's analytic upper "
                f"bound {upper:.6g}; the target's upper modulus is wrong"
            )


@dataclass(frozen=True)
class _Points:
    """Certified values of ``bound`` at points of the moduli (``fixed`` values put in too), with
    the reasons met on the way why the range is not certified (in the order met)."""

    bound: Bound
    fixed: Mapping[str, float | Fraction]
    reasons: list[str] = field(default_factory=list)

    def at(self, values: Mapping[str, float]) -> PointValue:
        """The enclosure of B at ``values``; where the interval arithmetic does not know a function,
        the float64 value, shown but not certain (a reason). InputError where B is not finite."""
        try:
            return self.bound.enclosure(**self.fixed, **values)
        except Unsupported as error:  # shown, not certain
            self.reasons.append(f"the bound's value could not be enclosed ({error})")
            shown = float(self.bound.evaluate(**self.fixed, **values))
            if not math.isfinite(shown):
                raise InputError(
                    f"the bound is {'NaN' if math.isnan(shown) else 'infinite'} at "
                    f"{', '.join(f'{k} = {v:.6g}' for k, v in values.items())}"
                ) from None
            return PointValue(shown, shown, True, 0)

    def value_at(self, values: Mapping[str, float], where: str) -> PointValue:
        """:meth:`at`, with a reason where the enclosure stays wider than float64 precision."""
        point = self.at(values)
        if not point.tight:
            self.reasons.append(
                f"the bound's value at the moduli's {where} could not be computed to float64 precision "
                f"(it lies in [{point.low:.6g}, {point.high:.6g}])"
            )
        return point

    def reason(self) -> str | None:
        """The reasons joined, or None when the values met are all certified."""
        return "; ".join(self.reasons) or None


def _ranged(bound: Bound, brackets: Mapping[str, tuple[float, float | None]], highs: Mapping[str, float]) -> list[str]:
    """The bracketed moduli B actually ranges over: not those known exactly (upper end = lower end)
    nor those B (and its domain conditions) does not use, in the brackets' order."""
    used = {s.name for e in (bound.expression, *bound.domain) for s in e.free_symbols}
    exact = {
        name
        for name, (lower, upper) in brackets.items()
        if (upper is not None and highs[name] == lower) or name not in used
    }
    return [name for name in brackets if name not in exact]


@dataclass(frozen=True)
class _Ends:
    """The points of the moduli where B is smallest (``low``) and largest (``high``) along the
    certified directions; ``free``: the moduli with no certified direction (enclosed over their
    brackets instead); ``high_is_estimate``: ``high`` rests on a lower estimate of a modulus."""

    low: dict[str, float]
    high: dict[str, float]
    free: tuple[str, ...]
    high_is_estimate: bool


def _monotone_ends(
    ranged: list[str],
    estimated: set[str],
    directions: Mapping[str, int],
    lows: Mapping[str, float],
    highs: Mapping[str, float],
    reasons: list[str],
) -> _Ends:
    """The monotone case: the lower end of a modulus where B is nondecreasing in it, the upper end
    where nonincreasing (the reverse for ``high``); an estimated modulus stays at its estimate (a
    reason where B is not certified nondecreasing in it), an undecided one is left ``free``."""
    low_point: dict[str, float] = dict(lows)
    high_point: dict[str, float] = dict(highs)
    free: list[str] = []
    high_is_estimate = False
    for name in ranged:
        direction, lower, upper = directions[name], lows[name], highs[name]
        if name in estimated:
            if direction <= 0:
                reasons.append(_reason_estimate(name, direction))
            high_is_estimate = high_is_estimate or direction >= 0
            continue  # both ends at the estimate
        if direction > 0:
            low_point[name], high_point[name] = lower, upper
        elif direction < 0:
            low_point[name], high_point[name] = upper, lower
        else:
            free.append(name)
    return _Ends(low_point, high_point, tuple(free), high_is_estimate)


def _enclosed_range(
    expression: sympy.Expr, finite_box: Mapping[str, tuple[float, float]], ends: _Ends, reasons: list[str]
) -> tuple[float, float] | None:
    """The interval-arithmetic case: the smallest value of B enclosed over the ``free`` moduli's
    brackets with the others at their low ends, the largest with the others at their high ends;
    None (and a reason) where the enclosure fails."""
    try:
        low, _ = _enclose_split(
            expression,
            {**finite_box, **{n: (v, v) for n, v in ends.low.items() if n not in ends.free}},
            ends.free,
        )
        _, high = _enclose_split(
            expression,
            {**finite_box, **{n: (v, v) for n, v in ends.high.items() if n not in ends.free}},
            ends.free,
        )
    except NotEnclosed as error:
        reasons.append(f"the bound's range over the brackets of {', '.join(ends.free)} could not be enclosed ({error})")
        return None
    return low, high


def _undefined_inside(
    bound: Bound, fixed: Mapping[str, float | Fraction], box: Mapping[str, tuple[float, float]]
) -> list[str]:
    """Why the bound as written may be undefined somewhere inside the moduli's ``box`` (each
    :attr:`Bound.domain` subexpression enclosed over it, ``fixed`` values put in exactly): a
    division by a modulus bracket that reaches 0, a logarithm of one reaching 0 or below."""
    reasons = []
    for written in bound.domain:
        names = {s.name for s in written.free_symbols}
        if not names & set(box):
            continue  # checked at the point by Bound.enclosure
        expression = written.xreplace({s: _exact(fixed[s.name]) for s in written.free_symbols if s.name in fixed})
        try:
            enclose(expression, {name: box[name] for name in names if name in box}, bounded=False)
        except NotEnclosed as error:
            reasons.append(
                f"the bound as written may be undefined inside the brackets of {', '.join(sorted(names & set(box)))} "
                f"({written}: {error})"
            )
    return reasons
