"""Figures written atomically: :func:`save_figure` (PNG, PDF or SVG from the suffix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopbound.atomic import write_atomic

__all__ = ["save_figure"]


def save_figure(figure: Any, path: str | Path, *, close: bool = True) -> Path:
    """Save ``figure`` to ``path`` (format from the suffix) atomically, then close it unless asked not to."""
    import matplotlib.pyplot as plt

    suffix = Path(path).suffix.lstrip(".").lower()

    def write(temporary: str) -> None:
        figure.savefig(temporary, format=suffix, bbox_inches="tight", dpi=150)

    try:
        return write_atomic(path, write)
    finally:
        if close:
            plt.close(figure)
