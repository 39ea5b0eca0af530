"""The :class:`Bound` type: a claimed inequality's right-hand side as a sympy expression.

A bound carries its provenance (paper, theorem, equation, and whether the statement was read from
the paper or reconstructed from secondary summaries, theory-notes marks which) and the derivation
of every constant that loopbound's own construction fixes. It evaluates through
``sympy.lambdify`` in float64 (numpy), vectorised over arrays, and renders as LaTeX for reports.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

import numpy as np
import sympy

from loopbound.theory.errors import InputError


@dataclass(frozen=True)
class Provenance:
    """Where a bound comes from. ``status``: "paper" (read from the source), "reconstructed"
    (from secondary summaries: constants are hypotheses) or "derived here" (fixed by loopbound's
    construction, with the derivation in the Bound)."""

    source: str
    statement: str
    arxiv: str | None = None
    equation: str | None = None
    status: str = "paper"

    def __post_init__(self) -> None:
        if self.status not in ("paper", "reconstructed", "derived here"):
            raise ValueError(f"Provenance.status must be paper, reconstructed or derived here, got {self.status!r}")

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

    @cached_property
    def _compiled(self) -> Callable[..., Any]:
        return sympy.lambdify(self.symbols, self.expression, modules="numpy")

    def evaluate(self, **values: Any) -> float | np.ndarray:
        """The bound at ``values`` (one per symbol, scalars or broadcastable arrays), in float64."""
        missing = [s.name for s in self.symbols if s.name not in values]
        if missing:
            raise InputError(f"bound {self.name} needs values for {', '.join(missing)}")
        extra = set(values) - {s.name for s in self.symbols}
        if extra:
            raise InputError(f"bound {self.name} has no symbol(s) {', '.join(sorted(extra))}")
        arguments = [np.asarray(values[s.name], dtype=np.float64) for s in self.symbols]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = np.asarray(self._compiled(*arguments), dtype=np.float64)
        return float(result) if result.ndim == 0 else result

    def substitute(self, mapping: Mapping[str, Any], name: str | None = None) -> "Bound":
        """The bound with some symbols replaced (by numbers or expressions)."""
        replacements = {s: mapping[s.name] for s in self.symbols if s.name in mapping}
        expression = self.expression.subs(replacements)
        remaining = tuple(s for s in self.symbols if s.name not in mapping)
        return Bound(name or self.name, expression, remaining, self.provenance, self.derivation)

    def latex(self) -> str:
        return sympy.latex(self.expression)

    def __str__(self) -> str:
        return f"{self.name}: {self.expression}  ({self.provenance.cite()})"
