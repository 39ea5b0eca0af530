"""The :class:`Bound` type: a claimed inequality's right-hand side as a sympy expression.

A bound carries its provenance (paper, theorem, equation, and whether the statement was read from
the paper or reconstructed from secondary summaries) and the derivation
of every constant that loopbound's own construction fixes. It evaluates through
``sympy.lambdify`` in float64 (numpy), vectorised over arrays, for figures and tables, and
*certified* at a point (:meth:`Bound.enclosure`: outward-rounded interval arithmetic at rising
precision, :mod:`loopbound.theory.bounds.interval`) for verdicts: float64 evaluation can cancel
catastrophically (``(r + 10^16)^2 − 10^32 − 2·10^16·r − r^2`` is 0, and 1.8e16 in float64), so a
verdict never rests on it. It renders as LaTeX for reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from loopbound.theory.bounds.interval import NotEnclosed, PointValue, Unsupported, enclose_point
from loopbound.theory.errors import InputError


@dataclass(frozen=True)
class Provenance:
    """Where a bound comes from. ``status``: "paper" (read from the source), "reconstructed"
    (from secondary summaries: constants are hypotheses) or "derived here" (fixed by loopbound's
    construction, with the derivation in the Bound) or "claimed" (a user's bound, read from no source)."""

    source: str
    statement: str
    arxiv: str | None = None
    equation: str | None = None
    status: str = "paper"

    def __post_init__(self) -> None:
        if self.status not in ("paper", "reconstructed", "derived here", "claimed"):
            raise ValueError(
                f"Provenance.status must be paper, reconstructed, derived here or claimed, got {self.status!r}"
            )

    def cite(self) -> str:
        parts = [self.source, self.statement]
        if self.equation:
            parts.append(f"eq. {self.equation}")
        if self.arxiv:
            parts.append(f"arXiv {self.arxiv}")
        return ", ".join(parts) + f" [{self.status}]"


@dataclass(frozen=True)
class Bound:
    """A right-hand side ``expression`` in ``symbols`` (evaluation order), with provenance.

    ``derivation`` states how each constant the construction fixes was obtained. Quantities that
    are functions elsewhere (the moduli ω(δ√(Nd)), …) enter as plain symbols whose values the
    caller computes, so every bound is an ordinary expression in numbers.
    """

    name: str
    expression: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    provenance: Provenance
    derivation: str = ""
    domain: tuple[sympy.Expr, ...] = ()
    """Subexpressions, as written, that must be finite reals wherever the bound is used: each
    divisor to the power −1, each negative or non-integer power, each logarithm. The parser records
    them before sympy simplifies (``w/w`` becomes 1, ``(w − ½)²/(w − ½)`` becomes w − ½), so a bound
    undefined as written (0/0 at w = 0) is still refused there."""
    decimals: tuple[sympy.Rational, ...] = ()
    """Exact values of float literals, shown as decimals by :meth:`readable` (display only)."""

    @cached_property
    def exact_function(self) -> Callable[..., Any]:
        """The expression as a function of its symbols in exact sympy arithmetic (compiled once per bound)."""
        return sympy.lambdify(self.symbols, self.expression, modules="sympy")

    @cached_property
    def _compiled(self) -> Callable[..., Any]:
        return sympy.lambdify(self.symbols, self.expression, modules="numpy")

    def _check_names(self, values: Mapping[str, Any]) -> None:
        missing = [s.name for s in self.symbols if s.name not in values]
        if missing:
            raise InputError(f"bound {self.name} needs values for {', '.join(missing)}")
        extra = set(values) - {s.name for s in self.symbols}
        if extra:
            raise InputError(f"bound {self.name} has no symbol(s) {', '.join(sorted(extra))}")

    def evaluate(self, **values: Any) -> float | np.ndarray:
        """The bound at ``values`` (one per symbol, scalars or broadcastable arrays), in float64:
        for figures and tables only, never for a verdict (:meth:`enclosure`)."""
        self._check_names(values)
        arguments = [np.asarray(values[s.name], dtype=np.float64) for s in self.symbols]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = np.asarray(self._compiled(*arguments), dtype=np.float64)
        return float(result) if result.ndim == 0 else result

    def enclosure(self, **values: float | Fraction) -> PointValue:
        """The bound's certified value at the point ``values`` (one float64 or exact Fraction per
        symbol, δ = 1/m put in exactly): the true value
        of the expression lies in [low, high] (outward-rounded interval arithmetic, at rising
        precision until float64-tight, :func:`loopbound.theory.bounds.interval.enclose_point`).
        Raises InputError, naming the values, where the bound or a subexpression of it as written
        (:attr:`domain`) is undefined, or where it lies beyond float64's range; raises
        :class:`~loopbound.theory.bounds.interval.Unsupported` where the interval arithmetic does not
        know a function in it (then nothing is certified)."""
        self._check_names(values)
        point = {name: value if isinstance(value, Fraction) else float(value) for name, value in values.items()}
        used = set().union(*(e.free_symbols for e in (self.expression, *self.domain)))
        shown = ", ".join(f"{k} = {float(v):.6g}" for k, v in point.items() if k in {s.name for s in used})
        try:
            value = enclose_point(self.expression, point)
        except Unsupported:
            raise
        except NotEnclosed:
            value = None
        if value is None or not (math.isfinite(value.low) and math.isfinite(value.high)):
            with np.errstate(all="ignore"):
                approximate = float(self.evaluate(**point))
            word = (
                "NaN"
                if math.isnan(approximate)
                else ("infinite" if math.isinf(approximate) or value is not None else "undefined")
            )
            raise InputError(
                f"the bound is {word} at {shown or 'these values'} (undefined there, or beyond float64's range)"
            )
        for written in self.domain:
            try:
                enclose_point(written, {k: v for k, v in point.items() if k in {s.name for s in written.free_symbols}})
            except Unsupported:
                continue
            except NotEnclosed:
                raise InputError(
                    f"the bound is undefined at {shown or 'these values'} (as written it takes "
                    f"{written} there, which is not a finite real number)"
                ) from None
        return value

    def substitute(self, mapping: Mapping[str, Any], name: str | None = None) -> Bound:
        """The bound with some symbols replaced (by numbers or expressions)."""
        replacements = {s: mapping[s.name] for s in self.symbols if s.name in mapping}
        expression = self.expression.subs(replacements)
        domain = tuple(e for e in (w.subs(replacements) for w in self.domain) if e.free_symbols)
        remaining = tuple(s for s in self.symbols if s.name not in mapping)
        return Bound(name or self.name, expression, remaining, self.provenance, self.derivation, domain, self.decimals)

    def readable(self) -> sympy.Expr:
        """The expression for display: each of :attr:`decimals` (a float literal's exact value,
        3602879701896397/2^55 for ``0.1``) shown as the shortest decimal that is that float64
        (``0.1``); exponents stay as they are (``sqrt(w)``, not ``w^0.5``). Never computed with."""
        exponents = {power.exp for power in self.expression.atoms(sympy.Pow)}
        replacements = {
            signed: sympy.Float(repr(float(signed)), "")
            for number in self.decimals
            for signed in (number, -number)
            if signed not in exponents and not number.is_Integer
        }
        return self.expression.xreplace(replacements) if replacements else self.expression

    def latex(self) -> str:
        return sympy.latex(self.readable())

    def __str__(self) -> str:
        return f"{self.name}: {self.readable()}  ({self.provenance.cite()})"
