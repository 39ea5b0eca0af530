"""Ranges of a bound over the moduli's box, right by construction (loopbound.theory.bounds.bracket): a
certified direction gives the ends, otherwise an outward-rounded enclosure; what neither certifies
is said, and a bound that is not nondecreasing in a modulus known only from below cannot hold.
The property test checks soundness: every value of B in the box lies in the reported range."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.theory.bounds.approximation import SYMBOLS
from loopbound.theory.bounds.bracket import BoundRange, bound_range, direction_in, enclose, nondecreasing_in
from loopbound.theory.bounds.core import Bound, Provenance
from loopbound.theory.bounds.parse import USER_SYMBOLS, parse_bound
from loopbound.theory.errors import InputError
from loopbound.theory.verdict import Status, classify, judge

FIXED = {"r": 10, "d": 1, "N": 2, "p": 2.0, "delta": 0.25}


def _fixed(brackets: dict) -> dict:
    return {**FIXED, **{name: 0.0 for name in ("w", "w_tok", "w_cont") if name not in brackets}}


def _range(text: str, brackets: dict) -> BoundRange:
    return bound_range(parse_bound(text), _fixed(brackets), brackets)


def test_an_interior_minimum_is_inside_the_range_where_sampling_missed_it() -> None:
    """The issue's case: 0.05 + 100(w − c)² reaches 0.05 at w = c inside the bracket; a 17-point grid
    reported 0.1066 as the low end and the row "held"."""
    c = 0.6840139322936072
    span = _range(f"0.05 + 100*(w - {c!r})^2", {"w": (0.5, 1.0)})
    assert span.certified and span.method == "interval arithmetic"
    assert span.low <= 0.05 and span.low == pytest.approx(0.05, abs=1e-12)
    assert span.high >= 0.05 + 100 * (1.0 - c) ** 2


def test_a_certified_direction_gives_the_ends_either_way() -> None:
    up = _range("0.5*w + w_tok^2 + delta", {"w": (0.2, 0.6), "w_tok": (0.1, 0.3)})
    assert up.method == "monotone" and (up.low, up.high) == pytest.approx((0.36, 0.64))
    down = _range("exp(-w)", {"w": (0.2, 0.6)})
    # the ends are certified (outward-rounded), not float64 values: math.exp(-0.2) is below e^{-0.2}
    with mpmath.workprec(200):
        true_low, true_high = mpmath.exp(mpmath.mpf(-0.6)), mpmath.exp(mpmath.mpf(-0.2))
    assert down.method == "monotone" and down.low <= true_low <= down.low + math.ulp(down.low)
    assert down.high - math.ulp(down.high) <= true_high <= down.high
    mixed = _range("w - w_tok", {"w": (0.2, 0.6), "w_tok": (0.1, 0.3)})
    assert mixed.method == "monotone" and (mixed.low, mixed.high) == pytest.approx((-0.1, 0.5))
    # decided by the derivative's enclosure over the box, not by sympy's assumptions alone
    assert direction_in(parse_bound("(w - 0.1)^3").expression, "w", {"w": (0.2, 0.6)}) == 1
    assert nondecreasing_in(parse_bound("(w - 0.1)^2"), ("w",), FIXED, {"w": (0.2, 0.6)})
    assert not nondecreasing_in(parse_bound("(w - 0.1)^2"), ("w",), FIXED)  # on [0, ∞) it is not


def test_jumps_are_never_called_monotone_by_their_derivative() -> None:
    """floor's derivative is 0 almost everywhere, so −floor(10w) once looked monotone both ways; a
    Piecewise with constant pieces too. Jumps go to the enclosure, or are not certified."""
    falling = _range("-floor(10*w)", {"w": (0.2, 0.6)})
    assert falling.method == "interval arithmetic" and falling.low <= -6 and falling.high >= -2
    w = SYMBOLS["w"]
    steps = Bound(
        "steps",
        sympy.Piecewise((1, w < 0.5), (0, True)),
        tuple(SYMBOLS[n] for n in USER_SYMBOLS),
        Provenance("test", "Piecewise"),
    )
    span = bound_range(steps, _fixed({"w": 0}), {"w": (0.2, 0.6)})
    assert not span.certified and span.method == "not certified" and "could not be enclosed" in span.reason


def test_a_pole_inside_the_bracket_is_not_certified() -> None:
    span = _range("1/(w - 0.5)", {"w": (0.2, 0.6)})
    assert not span.certified and "w" in span.reason


def test_estimated_moduli_hold_only_where_the_bound_is_nondecreasing_in_them() -> None:
    """The true modulus lies anywhere in [lower, ∞): B(lower) is the smallest value only where B
    is nondecreasing; otherwise the low end is unknown and the reason says so."""
    up = _range("2*w + w^2", {"w": (0.3, None)})
    assert up.certified and up.high_is_estimate and up.low == pytest.approx(0.69)
    down = _range("0.02*delta^2/w", {"w": (0.05, None)})
    assert not down.certified and "decreases in w, which is only estimated from below" in down.reason
    hump = _range("w*(1 - w)", {"w": (0.1, None)})
    assert not hump.certified and "not shown nondecreasing in w" in hump.reason
    exact_other = _range("w_tok/w", {"w": (0.05, None), "w_tok": (0.2, 0.2)})
    assert not exact_other.certified and "decreases in w" in exact_other.reason


def test_a_bound_undefined_at_the_moduli_or_r_is_refused() -> None:
    with pytest.raises(InputError, match="infinite at r = 11 "):
        bound_range(parse_bound("(r-11)**-1 + 1"), {**_fixed({}), "r": 11}, {})
    with pytest.raises(InputError, match="NaN"):
        _range("sqrt(w - 0.5)", {"w": (0.2, 0.6)})
    with pytest.raises(InputError, match="exceeds the target's analytic upper bound"):
        _range("w", {"w": (0.7, 0.6)})


def test_the_enclosure_is_outward_rounded() -> None:
    """0.1 + 0.2 in float64 is 0.30000000000000004; the enclosure of the exact sum of the two
    decimal constants contains both that and the real 0.3."""
    low, high = enclose(sympy.Rational(1, 10) + sympy.Rational(2, 10), {})
    assert low < 0.3 < high or (low <= 0.3 <= high and low < high)
    low, high = enclose(sympy.exp(SYMBOLS["w"]), {"w": (1.0, 1.0)})
    assert low < high and low <= math.e <= high


def test_an_uncertified_bound_never_holds_and_the_verdict_says_why() -> None:
    assert classify(0.1, 0.2, 1.0) is Status.HELD
    assert classify(0.1, 0.2, 1.0, None, "the bound decreases in w") is Status.INCONCLUSIVE
    assert classify(2.0, 3.0, 1.0, None, "the bound decreases in w") is Status.INCONCLUSIVE
    reason = "the bound decreases in w, which is only estimated from below: it cannot hold on the estimate alone"
    verdict = judge([5, 11], [0.1, 0.05], [0.09, 0.04], [0.11, 0.06], [1.0, 1.0], bound_reasons=[reason, None])
    assert [p.status for p in verdict.points] == [Status.INCONCLUSIVE, Status.HELD]
    assert verdict.points[0].reason == reason and not verdict.held
    assert reason in verdict.summary()


# --------------------------------------------------------------------------- soundness
SHAPES = (
    "{a}*(w - {c})^2 + {b}",
    "{a}*w - {b}*w_tok + {c}",
    "exp(-{a}*w) + {b}*sqrt(w_tok)",
    "min({a}*w, {c}) + max(w_tok, {b})",
    "abs(w - {c}) + {a}*floor(4*w_tok)",
    "{a}*log(1 + w)*(w_tok - {c})",
    "{b}/(1 + {a}*w) - w_tok^3",
    "(w + {b})^({c} - 0.5)",
)


def _reference(bound: Bound, fixed: dict, grid_w: np.ndarray, grid_t: np.ndarray) -> np.ndarray:
    """The bound at each grid point, evaluated at 60 digits and rounded to float64 (NaN where it is
    undefined or not real). Not float64 evaluation: that can be wrong by far more than the
    tolerance (log(1 + 1e-152) is 0 in float64, 1e-152 in truth)."""
    function = sympy.lambdify(bound.symbols, bound.expression, modules="mpmath")
    values = np.full(grid_w.shape, np.nan)
    with mpmath.workdps(60):
        for index in np.ndindex(grid_w.shape):
            point = {**fixed, "w": grid_w[index], "w_tok": grid_t[index]}
            try:
                value = function(*(mpmath.mpf(float(point[s.name])) for s in bound.symbols))
            except (ZeroDivisionError, ValueError):
                continue
            if isinstance(value, mpmath.mpc):
                value = value.real if value.imag == 0 else mpmath.nan
            values[index] = float(value)
    return values


@settings(max_examples=60, database=None)
@given(
    shape=st.sampled_from(SHAPES),
    a=st.floats(0.1, 10),
    b=st.floats(0.0, 2),
    c=st.floats(0.0, 1.5),
    w=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
    w_tok=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
)
def test_every_value_in_the_box_lies_in_a_certified_range(shape, a, b, c, w, w_tok) -> None:
    bound = parse_bound(shape.format(a=repr(a), b=repr(b), c=repr(c)))
    brackets = {"w": tuple(w), "w_tok": tuple(w_tok)}
    grid_w, grid_t = np.meshgrid(np.linspace(*w, 41), np.linspace(*w_tok, 41))
    values = _reference(bound, _fixed(brackets), grid_w, grid_t)
    try:
        span = bound_range(bound, _fixed(brackets), brackets)
    except InputError:  # refused only where the bound is undefined at an end of the box
        assert not np.isfinite(values).all()
        return
    if span.certified:
        assert span.low <= values.min() + 1e-12 * abs(values.min()) + 1e-300
        assert span.high >= values.max() - 1e-12 * abs(values.max()) - 1e-300


def test_a_one_sided_derivative_enclosure_proves_direction_in_an_estimated_modulus() -> None:
    """sympy's assumptions cannot sign this derivative; its enclosure over [lower, ∞) is [≥ 0, +∞],
    which is enough. A modulus the bound does not use leaves the range exact and not an estimate."""
    span = _range(
        "((((w + w_tok)*w_cont + w)^2 + w_tok)^3 + w)^0.5",
        {"w": (0.2, 0.6), "w_tok": (0.1, 0.3), "w_cont": (0.05, None)},
    )
    assert span.certified and span.method == "monotone" and span.high_is_estimate
    unused = _range("2*w", {"w": (0.2, 0.6), "w_cont": (0.05, None)})
    assert unused.certified and not unused.high_is_estimate and (unused.low, unused.high) == pytest.approx((0.4, 1.2))
