"""The ``bounds`` stage of ``loopbound run``: every bound loopbound checks, as a LaTeX document
with provenance (``bounds.tex``, :mod:`loopbound.bounds_report`)."""

from __future__ import annotations

from pathlib import Path

from loopbound.atomic import write_text_atomic

__all__ = ["bounds_stage"]


def bounds_stage(out: Path, seed: int) -> list[str]:
    """Every bound loopbound checks, written as ``bounds.tex``; returns report lines."""
    from loopbound.bounds_report import all_bounds, bounds_document

    bounds = all_bounds()
    write_text_atomic(out / "bounds.tex", bounds_document(bounds))
    statuses = sorted({b.provenance.status for b in bounds})
    counts = ", ".join(f"{sum(b.provenance.status == s for b in bounds)} {s}" for s in statuses)
    return [f"bounds: {len(bounds)} as LaTeX with provenance ({counts}): {out / 'bounds.tex'}"]
