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
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Mapping

import mpmath
import sympy
from mpmath import iv
from mpmath.libmp import mpf_pos, round_ceiling, round_floor

from loopbound.theory.bounds.core import Bound
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
    ``reason`` is None. ``method``: ``exact`` (every modulus known exactly), ``monotone`` (ends of
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
        return self.low == self.high

    @property
    def certified(self) -> bool:
        return self.reason is None


class NotEnclosed(Exception):
    """Interval arithmetic cannot enclose the expression over the box (unsupported function, a
    value outside the domain, or an unbounded result); the message says why."""


# --------------------------------------------------------------------------- interval arithmetic
def _outward(raw: tuple) -> iv.mpf:
    """An mpf (raw tuple) as the tightest 53-bit interval around it."""
    return iv.mpf([mpmath.mp.make_mpf(mpf_pos(raw, iv.prec, round_floor)),
                   mpmath.mp.make_mpf(mpf_pos(raw, iv.prec, round_ceiling))])


def _number(value: sympy.Number) -> iv.mpf:
    if isinstance(value, sympy.Integer):
        return iv.mpf(int(value))
    if isinstance(value, sympy.Rational):
        return iv.mpf(int(value.p)) / iv.mpf(int(value.q))
    if isinstance(value, sympy.Float):
        return _outward(value._mpf_)
    raise NotEnclosed(f"the number {value} is not finite")


def _ends(x: iv.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    return mpmath.mpf(x.a), mpmath.mpf(x.b)


def _interval(lo: mpmath.mpf, hi: mpmath.mpf) -> iv.mpf:
    return iv.mpf([lo, hi])


def _pow(base: iv.mpf, exponent: sympy.Expr, value: iv.mpf) -> iv.mpf:
    a, b = _ends(base)
    if exponent.is_Integer:
        n = int(exponent)
        if n >= 0:
            return base ** n
        if a <= 0 <= b:
            raise NotEnclosed("a negative power of an interval containing 0 is unbounded")
        return 1 / base ** (-n)
    e_lo, _ = _ends(value)
    if a > 0:
        return iv.exp(value * iv.log(base))
    if a == 0 and e_lo > 0 and exponent.is_number:
        return base ** value
    raise NotEnclosed("a non-integer power of an interval reaching 0 or below")


def _jump(function: type, x: iv.mpf) -> iv.mpf:
    a, b = _ends(x)
    if function is sympy.floor:
        return _interval(mpmath.floor(a), mpmath.floor(b))
    if function is sympy.ceiling:
        return _interval(mpmath.ceil(a), mpmath.ceil(b))
    if function is sympy.sign:
        return _interval(mpmath.mpf(-1 if a < 0 else (0 if a == 0 else 1)), mpmath.mpf(1 if b > 0 else (0 if b == 0 else -1)))
    if function is sympy.Heaviside:  # H(0) is 1/2 or the given H0 (≤ 1): [0, 1] covers it
        return _interval(mpmath.mpf(0 if a <= 0 else 1), mpmath.mpf(1 if b >= 0 else 0))
    raise NotEnclosed(f"{function.__name__} is not supported")


def _evaluate(expression: sympy.Expr, values: Mapping[sympy.Symbol, iv.mpf]) -> iv.mpf:
    """An outward-rounded enclosure of ``expression`` with each symbol in its interval."""
    if expression.is_Symbol:
        if expression not in values:
            raise NotEnclosed(f"no value for {expression}")
        return values[expression]
    if expression.is_Number:
        return _number(expression)
    if expression is sympy.pi:
        return iv.pi
    if expression is sympy.E:
        return iv.e
    arguments = expression.args
    if isinstance(expression, sympy.Add):
        total = _evaluate(arguments[0], values)
        for argument in arguments[1:]:
            total = total + _evaluate(argument, values)
        return total
    if isinstance(expression, sympy.Mul):
        product = _evaluate(arguments[0], values)
        for argument in arguments[1:]:
            product = product * _evaluate(argument, values)
        return product
    if isinstance(expression, sympy.Pow):
        return _pow(_evaluate(arguments[0], values), arguments[1], _evaluate(arguments[1], values))
    if isinstance(expression, sympy.exp):
        return iv.exp(_evaluate(arguments[0], values))
    if isinstance(expression, sympy.log):
        x = _evaluate(arguments[0], values)
        if not mpmath.mpf(x.a) > 0:
            raise NotEnclosed("log of an interval reaching 0 or below")
        return iv.log(x)
    if isinstance(expression, (sympy.Min, sympy.Max)):
        parts = [_ends(_evaluate(argument, values)) for argument in arguments]
        pick = min if isinstance(expression, sympy.Min) else max
        return _interval(pick(a for a, _ in parts), pick(b for _, b in parts))
    if isinstance(expression, sympy.Abs):
        a, b = _ends(_evaluate(arguments[0], values))
        if a >= 0:
            return _interval(a, b)
        if b <= 0:
            return _interval(-b, -a)
        return _interval(mpmath.mpf(0), max(-a, b))
    if isinstance(expression, (sympy.floor, sympy.ceiling, sympy.sign, sympy.Heaviside)):
        return _jump(type(expression), _evaluate(arguments[0], values))
    raise NotEnclosed(f"{type(expression).__name__} is not supported by the interval arithmetic")


def enclose(expression: sympy.Expr, box: Mapping[str, tuple[float, float]], *, bounded: bool = True) -> tuple[float, float]:
    """[L, U] ⊇ {expression(x) : x in box} by outward-rounded interval arithmetic, each symbol named
    in ``box`` in its interval (``math.inf`` allowed as an upper end). Raises :class:`NotEnclosed`
    where it cannot (then nothing is certain), including a NaN enclosure, and an unbounded one
    unless ``bounded`` is False (L = −∞ or U = +∞ is then returned as such)."""
    values = {}
    for symbol in expression.free_symbols:
        if symbol.name not in box:
            raise NotEnclosed(f"no interval for {symbol.name}")
        lo, hi = box[symbol.name]
        values[symbol] = iv.mpf([lo, hi])
    try:
        result = _evaluate(expression, values)
    except NotEnclosed:
        raise
    except (ArithmeticError, ValueError, TypeError) as error:  # mpmath's ComplexResult is a ValueError
        raise NotEnclosed(f"{type(error).__name__}: {error}") from None
    lo, hi = mpmath.mpf(result.a), mpmath.mpf(result.b)
    if mpmath.isnan(lo) or mpmath.isnan(hi):
        raise NotEnclosed("the enclosure is NaN")
    low, high = _float_down(lo), _float_up(hi)
    if bounded and not (math.isfinite(low) and math.isfinite(high)):
        raise NotEnclosed("the enclosure is unbounded")
    return low, high


def _float_down(x: mpmath.mpf) -> float:
    value = float(x)
    return math.nextafter(value, -math.inf) if value > x else value


def _float_up(x: mpmath.mpf) -> float:
    value = float(x)
    return math.nextafter(value, math.inf) if value < x else value


def _enclose_split(expression: sympy.Expr, box: Mapping[str, tuple[float, float]], split: tuple[str, ...]) -> tuple[float, float]:
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


def nondecreasing_in(bound: Bound, names: tuple[str, ...], fixed: Mapping[str, float] | None = None,
                     box: Mapping[str, tuple[float, float]] | None = None) -> bool:
    """True when ∂B/∂s ≥ 0 is certified for each symbol s named (:func:`direction_in`), with the
    ``fixed`` values substituted first and the moduli in ``box`` (default: each named symbol in
    [0, ∞)); False also when it cannot be decided."""
    expression = _substituted(bound, fixed or {})
    box = dict(box or {name: (0.0, math.inf) for name in names})
    return all(direction_in(expression, name, box) > 0 for name in names)


def _substituted(bound: Bound, fixed: Mapping[str, float]) -> sympy.Expr:
    replacements = {s: sympy.Float(fixed[s.name]) for s in bound.expression.free_symbols if s.name in fixed}
    return bound.expression.subs(replacements)


# --------------------------------------------------------------------------- the range
def _reason_estimate(name: str, direction: int) -> str:
    if direction < 0:
        return f"the bound decreases in {name}, which is only estimated from below: it cannot hold on the estimate alone"
    return (f"the bound is not shown nondecreasing in {name}, which is only estimated from below: "
            "it cannot hold on the estimate alone")


def bound_range(bound: Bound, fixed: Mapping[str, float], brackets: Mapping[str, tuple[float, float | None]]) -> BoundRange:
    """The range of ``bound`` with ``fixed`` values and each bracketed modulus ``name → (lower,
    upper or None)`` in its interval (module docstring). Raises InputError where a bracket is
    inverted (a certified lower bound above an analytic upper one: the target's upper bound is
    wrong) and where the bound is not finite at the moduli's ends (undefined there)."""
    for name, (lower, upper) in brackets.items():
        if upper is not None and lower > upper * (1 + 1e-12) + 1e-300:
            raise InputError(f"{name}: the certified lower bound {lower:.6g} exceeds the target's analytic upper "
                             f"bound {upper:.6g}; the target's upper modulus is wrong")
    lows = {name: lower for name, (lower, _) in brackets.items()}
    highs = {name: (lower if upper is None else max(lower, upper)) for name, (lower, upper) in brackets.items()}

    def at(values: Mapping[str, float]) -> float:
        return float(bound.evaluate(**fixed, **values))

    at_low, at_high = at(lows), at(highs)
    for value, where in ((at_low, lows), (at_high, highs)):
        if not math.isfinite(value):
            shown = ", ".join(f"{k} = {v:.6g}" for k, v in {**fixed, **where}.items() if k in {s.name for s in bound.expression.free_symbols})
            raise InputError(f"the bound is {'NaN' if math.isnan(value) else 'infinite'} at {shown or 'these values'} "
                             "(undefined there, or beyond float64's range)")

    used = {s.name for s in bound.expression.free_symbols}
    exact = {name for name, (lower, upper) in brackets.items()
             if (upper is not None and highs[name] == lower) or name not in used}
    ranged = [name for name in brackets if name not in exact]
    estimated = {name for name in ranged if brackets[name][1] is None}
    if not ranged:
        return BoundRange(at_low, at_high, "exact")

    expression = _substituted(bound, {**fixed, **{name: lows[name] for name in exact}})
    box = {name: (lows[name], math.inf if name in estimated else highs[name]) for name in ranged}
    directions = {name: direction_in(expression, name, box) for name in ranged}

    reasons: list[str] = []
    low_point: dict[str, float] = dict(lows)
    high_point: dict[str, float] = dict(highs)
    low_free: list[str] = []
    high_free: list[str] = []
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
            low_free.append(name)
            high_free.append(name)

    method = "monotone"
    low, high = at(low_point), at(high_point)
    if low_free:
        method = "interval arithmetic"
        finite_box = {name: (lows[name], highs[name]) for name in ranged}
        try:
            low_enclosed, _ = _enclose_split(expression, {**finite_box, **{n: (v, v) for n, v in low_point.items() if n not in low_free}}, tuple(low_free))
            _, high_enclosed = _enclose_split(expression, {**finite_box, **{n: (v, v) for n, v in high_point.items() if n not in high_free}}, tuple(high_free))
        except NotEnclosed as error:
            reasons.append(f"the bound's range over the brackets of {', '.join(low_free)} could not be enclosed ({error})")
            low, high = min(at_low, at_high), max(at_low, at_high)
        else:
            low, high = low_enclosed, high_enclosed
    if low > high:  # float64 point values of a constant-in-the-moduli bound may differ in the last bit
        low, high = high, low
    if reasons:
        method = "not certified"
    return BoundRange(low, high, method, high_is_estimate, "; ".join(reasons) or None)
