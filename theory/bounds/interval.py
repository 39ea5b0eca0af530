"""Outward-rounded interval arithmetic on sympy expressions, and certified values of a bound.

:func:`enclose` evaluates a sympy expression with each symbol in an interval by :mod:`mpmath.iv`
(every operation rounded outward), so the result [L, U] contains every value the expression takes
on the box: L ≤ min, U ≥ max. Where that cannot be done (a logarithm of an interval reaching 0, a
negative power of one containing 0, an unsupported function) it raises :class:`NotEnclosed`.

:func:`enclose_point` is the certified value of an expression at a point (every symbol a float64,
i.e. an exact rational): the enclosure at the working precisions of :data:`PRECISIONS` in turn,
until it is as tight as float64 can say (a few ulps). Extra precision removes what float64's
rounding adds: ``(r + 10^16)^2 − 10^32 − 2·10^16·r − r^2`` is 0 exactly, ±1.8e16 evaluated in
float64, [−6.7e16, 6.7e16] enclosed with 53 bits and [0, 0] with 128. A point where the
expression is undefined (a pole, a logarithm of 0, an even root of a negative) is not enclosed at
any precision: :class:`NotEnclosed`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy
from mpmath import iv
from mpmath.libmp import mpf_pos, round_ceiling, round_floor

__all__ = [
    "NotEnclosed",
    "Unsupported",
    "PointValue",
    "PRECISIONS",
    "TIGHT_ULPS",
    "enclose",
    "enclose_point",
    "working_precision",
    "Exact",
]

Exact = float | Fraction
"""A value a symbol is put in at: a float64 (itself an exact rational) or an exact rational (δ = 1/m)."""

PRECISIONS: tuple[int, ...] = (53, 128, 512, 2048, 8192)
"""Working precisions (bits) tried in turn by :func:`enclose_point`."""

TIGHT_ULPS = 4
"""An enclosure [L, U] of a point value is tight when U − L ≤ this many ulps of max(|L|, |U|)."""


class NotEnclosed(Exception):
    """Interval arithmetic cannot enclose the expression over the box (unsupported function, a
    value outside the domain, or an unbounded result); the message says why."""


class Unsupported(NotEnclosed):
    """The expression has a function the interval arithmetic does not know (Piecewise, …): nothing
    about its domain follows."""


def _outward(raw: tuple) -> iv.mpf:
    """An mpf (raw tuple) as the tightest interval around it at the working precision."""
    return iv.mpf(
        [
            mpmath.mp.make_mpf(mpf_pos(raw, iv.prec, round_floor)),
            mpmath.mp.make_mpf(mpf_pos(raw, iv.prec, round_ceiling)),
        ]
    )


def _number(value: sympy.Number) -> iv.mpf:
    if isinstance(value, sympy.Integer):
        return iv.mpf(int(value))
    if isinstance(value, sympy.Rational):
        return iv.mpf(int(value.p)) / iv.mpf(int(value.q))
    if isinstance(value, sympy.Float):
        return _outward(value._mpf_)
    raise NotEnclosed(f"the number {value} is not finite")


def _end_interval(value: Exact) -> iv.mpf:
    """The tightest interval at the working precision around ``value``: a Fraction (1/3 is no
    float) rounded outward, a float64 as itself (±inf kept)."""
    if isinstance(value, Fraction):
        return iv.mpf(value.numerator) / iv.mpf(value.denominator)
    return iv.mpf(float(value))


def _ends(x: iv.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    return mpmath.mpf(x.a), mpmath.mpf(x.b)


def _interval(lo: mpmath.mpf, hi: mpmath.mpf) -> iv.mpf:
    return iv.mpf([lo, hi])


def _pow(base: iv.mpf, exponent: sympy.Expr, value: iv.mpf) -> iv.mpf:
    a, b = _ends(base)
    e_lo, e_hi = _ends(value)
    if exponent.is_Integer or (e_lo == e_hi and mpmath.isint(e_lo) and abs(e_lo) <= 1 << 20):
        n = int(exponent) if exponent.is_Integer else int(e_lo)  # p = 2 at a point is the integer power
        if n >= 0:
            return base**n
        if a <= 0 <= b:
            raise NotEnclosed("a negative power of an interval containing 0 is unbounded")
        return 1 / base ** (-n)
    if a > 0:
        return iv.exp(value * iv.log(base))
    if a == 0 and e_lo > 0 and exponent.is_number:
        return base**value
    if a == 0 and e_lo > 0:  # x^e over [0, b] × [e_lo, e_hi] with e_lo > 0: from 0 up to the most of b^e
        if b == 0:
            return _interval(mpmath.mpf(0), mpmath.mpf(0))
        _, top = _ends(iv.exp(value * iv.log(_interval(b, b))))
        return _interval(mpmath.mpf(0), top)
    raise NotEnclosed("a non-integer power of an interval reaching 0 or below")


def _jump(function: type, x: iv.mpf) -> iv.mpf:
    a, b = _ends(x)
    if function is sympy.floor:
        return _interval(mpmath.floor(a), mpmath.floor(b))
    if function is sympy.ceiling:
        return _interval(mpmath.ceil(a), mpmath.ceil(b))
    if function is sympy.sign:
        return _interval(
            mpmath.mpf(-1 if a < 0 else (0 if a == 0 else 1)), mpmath.mpf(1 if b > 0 else (0 if b == 0 else -1))
        )
    if function is sympy.Heaviside:  # H(0) is 1/2 or the given H0 (≤ 1): [0, 1] covers it
        return _interval(mpmath.mpf(0 if a <= 0 else 1), mpmath.mpf(1 if b >= 0 else 0))
    raise Unsupported(f"{function.__name__} is not supported")


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
    raise Unsupported(f"{type(expression).__name__} is not supported by the interval arithmetic")


def enclose(
    expression: sympy.Expr, box: Mapping[str, tuple[Exact, Exact]], *, bounded: bool = True
) -> tuple[float, float]:
    """[L, U] ⊇ {expression(x) : x in box} by outward-rounded interval arithmetic, each symbol named
    in ``box`` in its interval (``math.inf`` allowed as an upper end). Raises :class:`NotEnclosed`
    where it cannot (then nothing is certain), including a NaN enclosure, and an unbounded one
    unless ``bounded`` is False (L = −∞ or U = +∞ is then returned as such)."""
    values = {}
    for symbol in expression.free_symbols:
        if symbol.name not in box:
            raise NotEnclosed(f"no interval for {symbol.name}")
        lo, hi = box[symbol.name]
        values[symbol] = iv.mpf([_end_interval(lo).a, _end_interval(hi).b])
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


@contextlib.contextmanager
def working_precision(bits: int) -> Iterator[None]:
    """mpmath's interval and real contexts at ``bits`` of precision (both: interval ends are read
    back as real mpf, which must not round them), restored afterwards."""
    saved = iv.prec
    iv.prec = bits
    try:
        with mpmath.workprec(bits):
            yield
    finally:
        iv.prec = saved


@dataclass(frozen=True)
class PointValue:
    """A certified value of an expression at a point: the true value lies in [``low``, ``high``]
    (float64, rounded outward). ``tight``: within :data:`TIGHT_ULPS` ulps (as tight as float64
    can say); otherwise the widest precision tried still left it wide. ``bits``: the working
    precision that gave it."""

    low: float
    high: float
    tight: bool
    bits: int


def _tight(low: float, high: float) -> bool:
    if not (math.isfinite(low) and math.isfinite(high)):
        return False
    return high - low <= TIGHT_ULPS * math.ulp(max(abs(low), abs(high)))


def enclose_point(expression: sympy.Expr, values: Mapping[str, Exact]) -> PointValue:
    """The certified value of ``expression`` with each symbol at its value in ``values``, a float64
    or an exact Fraction (module docstring). Raises :class:`NotEnclosed` where no precision encloses it (undefined
    there); an unbounded end (beyond float64's range) is returned as ±inf."""
    box: dict[str, tuple[Exact, Exact]] = {
        name: (value, value) if isinstance(value, Fraction) else (float(value), float(value))
        for name, value in values.items()
    }
    first: tuple[float, float] | None = None  # the probe's result at PRECISIONS[0], reused below
    try:
        with working_precision(PRECISIONS[0]):
            first = enclose(expression, box, bounded=False)
    except Unsupported:  # at a point sympy decides Piecewise conditions, floor, … exactly on rationals
        exact = {
            s: sympy.Rational(box[s.name][0])  # a float or a Fraction, exactly
            for s in expression.free_symbols
            if s.name in box and math.isfinite(box[s.name][0])
        }
        expression = expression.xreplace(exact)
    except NotEnclosed:
        pass
    last: PointValue | None = None
    error: NotEnclosed | None = None
    for bits in PRECISIONS:
        try:
            if bits == PRECISIONS[0] and first is not None:
                low, high = first
            else:
                with working_precision(bits):
                    low, high = enclose(expression, box, bounded=False)
        except NotEnclosed as failure:
            error = failure
            continue
        last = PointValue(low, high, _tight(low, high), bits)
        if last.tight or math.isinf(low) or math.isinf(high):  # beyond float64's range: no precision helps
            return last
    if last is None:
        raise error if error is not None else NotEnclosed("no precision encloses it")
    return last
