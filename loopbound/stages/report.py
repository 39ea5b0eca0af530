"""What a stage of ``loopbound run`` hands back: its report lines, its verdict rows, its figures and
its bounds, typed (:class:`StageReport`), and what it is given (:class:`StageContext`: folder, seed,
scale, a progress callback).

A :class:`VerdictRow` is one claim held against one measurement: the claim (a bound, a closed form,
an exact value), what was measured, the bound it was held against, the verdict (``held``,
``violated`` or ``inconclusive``, the words of :func:`loopbound.theory.verdict.judge`) and, where a
rate was fitted, the fitted rate against the claimed one. The text report prints the lines; the
HTML report (:mod:`loopbound.report_html`) draws the rows, the figures and the bounds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SCALES", "VERDICTS", "StageContext", "VerdictRow", "BoundEntry", "StageReport", "stderr_progress"]

SCALES = ("smoke", "default", "paper")
"""The sizes ``loopbound run --scale`` knows: smoke (seconds, for tests and CI), default, paper."""
VERDICTS = ("held", "violated", "inconclusive")
"""The three verdicts a row can carry."""


def stderr_progress(message: str) -> None:
    """Progress on the terminal: one line on stderr, flushed."""
    print(f"[loopbound run]   {message}", file=sys.stderr, flush=True)


def _quiet(message: str) -> None:
    """No progress output."""


@dataclass(frozen=True)
class StageContext:
    """What a stage is given: the folder ``out`` for its records and figures, the ``seed``, the
    ``scale`` (one of :data:`SCALES`) and a ``progress`` callback for one-line messages."""

    out: Path
    seed: int = 0
    scale: str = "default"
    progress: Callable[[str], None] = _quiet

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"StageContext.scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        object.__setattr__(self, "out", Path(self.out))


@dataclass(frozen=True)
class VerdictRow:
    """One claim against one measurement: ``claim``, ``measured``, ``bound``, ``verdict`` (one of
    :data:`VERDICTS`), ``detail`` (what the verdict counts, e.g. "11/11 r"), ``rate`` (the fitted
    rate against the claimed one, "" where none is fitted), and the ``stage`` it comes from."""

    stage: str
    claim: str
    measured: str
    bound: str
    verdict: str
    detail: str = ""
    rate: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"VerdictRow.verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")


@dataclass(frozen=True)
class BoundEntry:
    """One bound as the reports show it: its ``name``, its provenance ``citation``, its formula
    as LaTeX math (``latex``, mathtext-compatible) and the section it belongs to."""

    section: str
    name: str
    citation: str
    latex: str


@dataclass(frozen=True)
class StageReport:
    """A stage's output: the report ``lines`` (printed and written to ``report.txt``), its verdict
    ``rows``, the PNG ``figures`` it wrote (paths), the ``bounds`` it lists with ``definitions``
    of their symbols ((section, symbol as LaTeX math, definition with inline ``$…$`` math)), and
    ``notes`` (one sentence each: legends and footnotes of its tables)."""

    name: str
    lines: tuple[str, ...]
    rows: tuple[VerdictRow, ...] = ()
    figures: tuple[Path, ...] = ()
    bounds: tuple[BoundEntry, ...] = ()
    definitions: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())
