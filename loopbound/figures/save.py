"""Figures written atomically and deterministically: :func:`save_figure` (PNG, PDF or SVG from the
suffix) and :func:`save_pdf_png` (both, from a stem).

Whatever style a figure was drawn in, the file is written with the save settings of
:mod:`loopbound.figures.style`: fonts embedded as Type 42 (never Type 3), no creation date, a fixed
SVG salt, one resolution. The same figure saved twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopbound.atomic import write_atomic
from loopbound.figures.style import SAVE_METADATA, SAVE_RC

__all__ = ["save_figure", "save_pdf_png"]


def save_figure(figure: Any, path: str | Path, *, close: bool = True) -> Path:
    """Save ``figure`` to ``path`` (format from the suffix) atomically, then close it unless asked not to."""
    import matplotlib
    import matplotlib.pyplot as plt

    suffix = Path(path).suffix.lstrip(".").lower()

    def write(temporary: str) -> None:
        with matplotlib.rc_context(SAVE_RC):
            figure.savefig(
                temporary,
                format=suffix,
                bbox_inches="tight",
                pad_inches=0.02,
                dpi=SAVE_RC["savefig.dpi"],
                metadata=SAVE_METADATA.get(suffix) or None,
            )

    try:
        return write_atomic(path, write)
    finally:
        if close:
            plt.close(figure)


def save_pdf_png(figure: Any, stem: str | Path, *, close: bool = True) -> list[Path]:
    """Save ``figure`` as ``stem.pdf`` and ``stem.png`` (:func:`save_figure`); returns both paths."""
    stem = Path(stem)
    paths = [save_figure(figure, stem.with_name(f"{stem.name}.{suffix}"), close=False) for suffix in ("pdf", "png")]
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return paths
