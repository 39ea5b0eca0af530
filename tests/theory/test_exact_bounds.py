"""A bound's numbers are exact and its values certified (loopbound.theory.bounds.parse, .interval,
.core, .bracket): float literals are the rationals they are, constant arithmetic is rational, a
value at a row is an outward-rounded enclosure tightened by extra precision (never float64, which
cancels catastrophically), and a bound undefined as written is refused where sympy would cancel
it. The property tests check soundness against 60-digit evaluation."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.theory.bounds import interval
from loopbound.theory.bounds.bracket import bound_range
from loopbound.theory.bounds.interval import NotEnclosed, enclose_point
from loopbound.theory.bounds.parse import parse_bound, parse_expression
from loopbound.theory.errors import InputError

FIXED = {"r": 11, "d": 1, "N": 1, "p": 2.0, "delta": 1 / 3}
ZERO = "(r + 10^16)^2 - 10^32 - 2*10^16*r - r^2"


def _fixed(brackets: dict) -> dict:
    return {**FIXED, **{name: 0.0 for name in ("w", "w_tok", "w_cont") if name not in brackets}}


# --------------------------------------------------------------------------- exact literals
def test_float_literals_are_their_exact_float64_values() -> None:
    assert parse_expression("0.1") == sympy.Rational(0.1) != sympy.Rational(1, 10)
    assert parse_expression("1e19 + 9 - 1e19") == 9
    assert parse_expression("0.1 + 0.2 - 0.3") == sympy.Rational(0.1) + sympy.Rational(0.2) - sympy.Rational(0.3)
    assert parse_expression("5e-324") == sympy.Rational(5e-324)  # the smallest subnormal is a number
    assert parse_expression("2^-1074*w") == sympy.Rational(1, 2**1074) * sympy.Symbol(
        "w", nonnegative=True
    ) or parse_expression("2^-1074*w").as_coeff_Mul()[0] == sympy.Rational(1, 2**1074)


def test_a_constant_cancelled_in_exact_arithmetic_is_usable() -> None:
    """1e19 + 9 − 1e19 is 9: dividing by it or taking its log is fine (float64 would see 0)."""
    assert parse_expression("1/(1e19 + 9 - 1e19)") == sympy.Rational(1, 9)
    assert parse_expression("log(1e19 + 9 - 1e19)") == sympy.log(9)


@pytest.mark.parametrize("text", ["1e-400*w", "1e-400", "1e-200*1e-200*w", "2^-1075", "w*1e-300*1e-300"])
def test_a_nonzero_constant_that_rounds_to_0_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="underflows float64"):
        parse_expression(text)


@pytest.mark.parametrize("text", ["0e5*w + 1", "0.0", "0.000e-400 + w"])
def test_a_zero_literal_is_zero(text: str) -> None:
    parse_expression(text)


@pytest.mark.parametrize("text", ["1 + log(w, 0)", "log(w, -2)", "log(w, 1)", "log(w, 1e19 + 1 - 1e19)", "log(w, 0.0)"])
def test_log_to_base_at_most_0_or_1_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="not a finite real number"):
        parse_expression(text)


def test_combined_exponents_stay_within_the_limit() -> None:
    with pytest.raises(InputError, match="exponent above"):
        parse_expression("(w^1000)^1000")
    parse_expression("(w^10)^100")


# --------------------------------------------------------------------------- certified values
def test_catastrophic_cancellation_is_exactly_zero_not_float64_noise() -> None:
    bound = parse_bound(ZERO)
    assert abs(bound.evaluate(**_fixed({}))) > 1e15  # float64 is wrong by 1.8e16 here
    value = bound.enclosure(**_fixed({}))
    assert (value.low, value.high) == (0.0, 0.0) and value.tight and value.bits > 53
    span = bound_range(bound, _fixed({}), {})
    assert span.method == "exact" and span.certified and (span.low, span.high) == (0.0, 0.0)


def test_an_enclosure_that_stays_wide_is_not_certified(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 53 bits alone the zero above is enclosed only in about ±7e16: too wide to say anything,
    so the range is not certified (a verdict is inconclusive) and the reason says why."""
    monkeypatch.setattr(interval, "PRECISIONS", (53,))
    span = bound_range(parse_bound(ZERO), _fixed({}), {})
    assert not span.certified and "could not be computed to float64 precision" in span.reason
    assert span.low < 0 < span.high  # still an enclosure of the true 0


def test_bracketed_ends_are_enclosures() -> None:
    span = bound_range(parse_bound(f"w + {ZERO}"), _fixed({"w": (0.25, 0.5)}), {"w": (0.25, 0.5)})
    assert span.certified and span.method == "monotone" and (span.low, span.high) == (0.25, 0.5)


# --------------------------------------------------------------------------- defined as written
@pytest.mark.parametrize(
    "text, brackets, where",
    [
        ("w_cont/w_cont", {}, "w_cont = 0"),
        ("(w - 0.5)^2/(w - 0.5) + 1", {"w": (0.5, 0.5)}, "w = 0.5"),
        ("w_cont*log(w_cont) + 1", {}, "w_cont = 0"),
        ("w_cont^(-r)*w_cont^r", {}, "w_cont = 0"),
        ("sqrt(w - 0.5)^2 + 1", {"w": (0.25, 0.25)}, "w = 0.25"),
    ],
)
def test_a_bound_undefined_as_written_is_refused_though_sympy_cancels_it(text: str, brackets: dict, where: str) -> None:
    bound = parse_bound(text)
    assert bound.domain  # recorded before sympy simplified the expression
    with pytest.raises(InputError, match=f"(undefined|NaN|infinite) at .*{where}"):
        bound_range(bound, _fixed(brackets), brackets)


def test_a_bound_defined_as_written_is_evaluated_as_simplified() -> None:
    span = bound_range(parse_bound("(w - 0.5)^2/(w - 0.5) + 1"), _fixed({"w": (0.75, 0.75)}), {"w": (0.75, 0.75)})
    assert span.certified and (span.low, span.high) == (1.25, 1.25)


def test_a_bound_undefined_inside_a_bracket_is_not_certified() -> None:
    """(w − ½)²/(w − ½) + 1 = w + ½ is smooth, but undefined at w = ½ inside [0.25, 0.75]."""
    span = bound_range(parse_bound("(w - 0.5)^2/(w - 0.5) + 1"), _fixed({"w": (0.25, 0.75)}), {"w": (0.25, 0.75)})
    assert not span.certified and "undefined inside the brackets of w" in span.reason


def test_a_power_of_zero_with_a_symbolic_positive_exponent_is_defined() -> None:
    span = bound_range(parse_bound("w_cont^p + 1"), _fixed({}), {})
    assert span.certified and (span.low, span.high) == (1.0, 1.0)


# --------------------------------------------------------------------------- soundness
SHAPES = (
    "(r + {a})^2 - {a}^2 - 2*{a}*r - r^2 + w",
    "exp(-{a}*w) + sqrt(w + {b})",
    "log(1 + {b}*w) * ({a} - w)",
    "({a} + w)^3 - {a}^3",
    "min({a}*w, {b}) + max(w, {b}) / (1 + w)",
    "w^p * {a} - {b}",
)


def _reference(bound, point: dict) -> mpmath.mpf:
    """The bound at the point evaluated with 4096 bits (80 digits would lose 4 + 1e-300; these
    shapes' rational parts are exact at 4096 bits, their irrational parts within 2^-4000)."""
    function = sympy.lambdify(bound.symbols, bound.expression, modules="mpmath")
    with mpmath.workprec(4096):
        return function(*(mpmath.mpf(float(point[s.name])) for s in bound.symbols))


@settings(max_examples=80, database=None, deadline=None)
@given(
    shape=st.sampled_from(SHAPES),
    a=st.one_of(st.floats(1e-3, 1e15), st.integers(1, 10**15).map(float)),
    b=st.floats(0.0, 10.0),
    w=st.floats(0.0, 1e6),
    r=st.integers(1, 10**6),
)
def test_every_certified_value_contains_the_true_value(shape: str, a: float, b: float, w: float, r: int) -> None:
    bound = parse_bound(shape.format(a=repr(a), b=repr(b)))
    point = {**FIXED, "r": r, "w": w, "w_tok": 0.0, "w_cont": 0.0}
    try:
        value = bound.enclosure(**point)
    except InputError:
        return  # beyond float64's range (a^3 with a large) or undefined: refused, not guessed
    truth = _reference(bound, point)
    with mpmath.workprec(4096):
        assert mpmath.mpf(value.low) <= truth <= mpmath.mpf(value.high), (shape, a, b, w, r, value)
    assert value.tight


def test_a_point_where_the_expression_is_undefined_is_not_enclosed() -> None:
    w = sympy.Symbol("w")
    with pytest.raises(NotEnclosed):
        enclose_point(1 / (w - sympy.Rational(1, 2)), {"w": 0.5})
    with pytest.raises(NotEnclosed):
        enclose_point(sympy.log(w), {"w": 0.0})
    value = enclose_point(1 / (w - sympy.Rational(1, 2)), {"w": math.nextafter(0.5, 1.0)})
    assert value.tight and value.low == value.high == 2.0**53
