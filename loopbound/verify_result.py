"""The results of ``loopbound verify``: one row per loop budget r and the whole verification, with their JSON.

:class:`VerifyRow` holds what was measured and the bound's range at one r; :class:`VerifyResult`
the settings, the claim with its provenance, the rows and the verdict. ``to_json`` is the record
``loopbound verify --json`` prints and the approximation sweep stores (docs/verify.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopbound.metadata import json_number
from loopbound.theory.bounds.core import Bound
from loopbound.theory.bounds.hypotheses import TheoremHypotheses
from loopbound.theory.error_measure import ErrorMeasurement
from loopbound.theory.moduli_bracket import ModulusValue
from loopbound.theory.verdict import Verdict

__all__ = ["VerifyRow", "VerifyResult", "GUARANTEE_FIELDS", "guarantee_summary"]


@dataclass(frozen=True)
class VerifyRow:
    """One loop budget r: the construction's grid m (δ = 1/m) and loop count, its measured error,
    the bound's value there and the values it was evaluated with — or why the construction was
    refused (``refused``: the one-line reason, e.g. float64 cannot hold the bits it needs).

    ``bound`` is the bound at the moduli's lower ends (exact or certified), ``bound_upper`` at their
    upper ends (None when the moduli are exact); ``bound_method`` says how the range was found
    (:class:`loopbound.theory.bounds.bracket.BoundRange`). ``values`` holds the constants the bound was
    evaluated with (the construction's ε, B, B_C, μ_B, μ_C at this grid, S, p) and the moduli's
    lower ends.

    ``warnings``: the rare-error warning (:func:`loopbound.verify_table.rare_error_warning`) where it applies.
    ``other_reading`` (theorem bound only): the other reading of Theorem 3.6's bound range and the
    status against it; ``reading_note`` says where the status depends on the reading, e.g.
    ``"violated under the stricter reading; held under the other"``."""

    r: int
    grid: int | None
    delta: float | None
    loops: int | None
    measurement: ErrorMeasurement | None
    bound: float | None
    values: Mapping[str, float]
    moduli: tuple[ModulusValue, ...] = ()
    bound_upper: float | None = None
    bound_method: str = "exact"
    guarantee: Mapping[str, Any] | None = None
    refused: str | None = None
    warnings: tuple[str, ...] = ()
    other_reading: tuple[float, float | None, str] | None = None
    reading_note: str | None = None
    bound_reason: str | None = None
    """Why the bound's range is not certified (then the row is inconclusive), e.g. it decreases in a
    modulus that is only estimated from below; None when it is."""
    arithmetic: str | None = None
    """The arithmetic the construction was evaluated in at this grid: ``float64`` or ``exact``
    (rational, no rounding until the output is rounded once to float64); None where none ran."""

    @property
    def ratio(self) -> float | None:
        """Measured error / bound (its low end); None for a refused row."""
        if self.measurement is None or self.bound is None:
            return None
        value = self.measurement.lp.value
        return value / self.bound if self.bound > 0 else (0.0 if value == 0 else math.inf)

    def bound_text(self, between: str = "..") -> str:
        """The bound, or its range ``low..high`` where the moduli are bracketed (one number where
        both ends print alike: a modulus known to float64 rounding is a range of a few ulps)."""
        if self.bound is None:
            return "-"
        low = f"{self.bound:.4g}"
        high = None if self.bound_upper is None else f"{self.bound_upper:.4g}"
        return low if high is None or high == low else f"{low}{between}{high}"

    def to_json(self) -> dict[str, Any]:
        lp = None if self.measurement is None else self.measurement.lp
        sup = None if self.measurement is None else self.measurement.sup
        ratio = self.ratio
        ratio = ratio if ratio is None or math.isfinite(ratio) else None  # a bound of 0: JSON has no inf
        return {
            "r": self.r,
            "grid": self.grid,
            "delta": self.delta,
            "loops": self.loops,
            "arithmetic": self.arithmetic,
            "error": None if lp is None else lp.value,
            "lower": None if lp is None else lp.lower,
            "upper": None if lp is None else lp.upper,
            "sup_error_lower_bound": None if sup is None else sup.value,
            "bound": self.bound,
            "bound_upper": self.bound_upper,
            "bound_method": None if self.refused is not None else self.bound_method,  # a refused row has no bound
            "bound_reason": self.bound_reason,
            "ratio": ratio,
            "values": {name: json_number(value) for name, value in self.values.items()},
            "moduli": [dataclasses.asdict(m) for m in self.moduli],
            "measurement": None if self.measurement is None else self.measurement.to_json(),
            "guarantee": None if self.guarantee is None else dict(self.guarantee),
            "refused": self.refused,
            "warnings": list(self.warnings),
            "other_reading": None
            if self.other_reading is None
            else {
                "bound": self.other_reading[0],
                "bound_upper": self.other_reading[1],
                "status": self.other_reading[2],
            },
            "reading_note": self.reading_note,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Everything ``loopbound verify`` reports: the settings, the bound with its provenance, where
    each value came from, the rows per r and the verdict over the measured rows (None when every r
    was refused)."""

    target: str
    d: int
    N: int
    p: float
    timestep: bool
    construction: str
    bound_kind: str
    bound: Bound
    sup_target: tuple[float, str]
    rows: tuple[VerifyRow, ...]
    verdict: Verdict | None
    samples: int
    scramblings: int
    level: float
    seed: int
    device: str
    seconds: float
    hypotheses: TheoremHypotheses | None = None

    @property
    def outside_hypotheses(self) -> bool:
        """True when the theorem bound was checked on a target outside its hypotheses."""
        return self.hypotheses is not None and not self.hypotheses.inside

    @property
    def bound_status(self) -> str:
        """The provenance status, or ``claimed`` for a user's bound (read from no paper)."""
        return "claimed" if self.bound_kind == "user" else self.bound.provenance.status

    @property
    def measured(self) -> tuple[VerifyRow, ...]:
        return tuple(row for row in self.rows if row.measurement is not None)

    @property
    def refused(self) -> tuple[VerifyRow, ...]:
        return tuple(row for row in self.rows if row.refused is not None)

    @property
    def statuses(self) -> dict[int, str]:
        """held / violated / inconclusive by r (measured rows only)."""
        return {v.r: v.status.value for v in self.verdict.points} if self.verdict else {}

    def status_text(self, row: VerifyRow) -> str:
        """The row's status as printed: the reading-dependent form where it applies ("violated
        under the stricter reading; held under the other"), with "outside the theorem's
        hypotheses" where the target is, and "!" where a rare-error warning applies."""
        if row.refused is not None:
            return "refused"
        text = row.reading_note or self.statuses.get(row.r, "")
        if self.outside_hypotheses:
            text += " (outside the theorem's hypotheses)"
        if row.warnings:
            text += " !"
        return text

    @property
    def exit_status(self) -> int:
        """0 when the bound held at every r asked for, 1 otherwise: a refused r (the construction
        could not be evaluated there) is not shown to hold, like an inconclusive one."""
        return 0 if self.verdict is not None and self.verdict.held and not self.refused else 1

    def moduli_sources(self) -> dict[str, str]:
        sources: dict[str, set[str]] = {}
        for row in self.measured:
            for m in row.moduli:
                sources.setdefault(m.name, set()).add(m.source)
        return {name: "/".join(sorted(kinds)) for name, kinds in sources.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "d": self.d,
            "N": self.N,
            "p": self.p,
            "timestep": self.timestep,
            "construction": self.construction,
            "bound": {
                "kind": self.bound_kind,
                "name": self.bound.name,
                "expression": str(self.bound.expression),
                "latex": self.bound.latex(),
                "provenance": self.bound.provenance.cite(),
                "status": self.bound_status,
            },
            "moduli_sources": self.moduli_sources(),
            "sup_target": {"value": self.sup_target[0], "source": self.sup_target[1]},
            "settings": {
                "samples": self.samples,
                "scramblings": self.scramblings,
                "level": self.level,
                "seed": self.seed,
                "device": self.device,
            },
            "rows": [dict(row.to_json(), status=self.status_text(row).rstrip(" !")) for row in self.rows],
            "hypotheses": None if self.hypotheses is None else self.hypotheses.to_json(),
            "verdict": None if self.verdict is None else self.verdict.to_json(),
            "refused": [row.r for row in self.refused],
            "seconds": self.seconds,
        }


GUARANTEE_FIELDS = (
    "delta",
    "grid_size",
    "loops",
    "timestep",
    "precision_bits",
    "sharpness",
    "band_measure",
    "collision_measure",
    "value_error_bound",
    "output_bound",
    "embedding_width",
    "ff_width",
    "heads",
    "head_size",
    "parameter_count",
)


def guarantee_summary(guarantee: Any) -> dict[str, Any]:
    """The guarantee's :data:`GUARANTEE_FIELDS` as JSON values: numbers as numbers (an exact δ = 1/m
    as its float, a per-coordinate tuple as a list: :func:`loopbound.metadata.json_number`), None where
    absent, text only where a value is neither a number nor a sequence of numbers."""
    summary = {}
    for name in GUARANTEE_FIELDS:
        value = json_number(getattr(guarantee, name, None))
        if isinstance(value, list) and not all(item is None or isinstance(item, (int, float)) for item in value):
            value = str(getattr(guarantee, name))
        summary[name] = value if value is None or isinstance(value, (bool, int, float, str, list)) else str(value)
    return summary
