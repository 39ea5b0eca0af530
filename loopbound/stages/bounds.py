"""The ``bounds`` stage of ``loopbound run``: every bound loopbound checks, as a LaTeX document
with provenance and the definition of every symbol (``bounds.tex``, :mod:`loopbound.bounds_report`).
The same at every scale: nothing is measured."""

from __future__ import annotations

from pathlib import Path

from loopbound.atomic import write_text_atomic
from loopbound.stages.report import BoundEntry, StageContext, StageReport

__all__ = ["bounds_stage", "bounds_report"]


def bounds_stage(out: Path, seed: int) -> list[str]:
    """Every bound loopbound checks, written as ``bounds.tex``; returns report lines."""
    return list(bounds_report(StageContext(out=out, seed=seed)).lines)


def bounds_report(context: StageContext) -> StageReport:
    """Every bound loopbound checks, written as ``bounds.tex``; the report lists each bound with its
    section, citation and formula."""
    from loopbound.bounds_report import (
        all_bounds,
        bound_latex,
        bounds_document,
        citation,
        glossary_entries,
        section_of,
    )

    out = context.out
    out.mkdir(parents=True, exist_ok=True)
    bounds = all_bounds()
    write_text_atomic(out / "bounds.tex", bounds_document(bounds))
    statuses = sorted({b.provenance.status for b in bounds})
    counts = ", ".join(f"{sum(b.provenance.status == s for b in bounds)} {s}" for s in statuses)
    entries = tuple(BoundEntry(section_of(b), b.name, citation(b), bound_latex(b)) for b in bounds)
    line = f"bounds: {len(bounds)} as LaTeX with provenance ({counts}): {out / 'bounds.tex'}"
    definitions = tuple(
        (section, written, text)
        for section in dict.fromkeys(entry.section for entry in entries)
        for written, text in glossary_entries(section, [b for b in bounds if section_of(b) == section]).items()
    )
    return StageReport("bounds", (line,), bounds=entries, definitions=definitions)
