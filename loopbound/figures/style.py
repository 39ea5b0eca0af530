"""The one matplotlib style of every loopbound figure.

- sizes for a paper: :data:`ONE_COLUMN` (3.25 in) and :data:`TWO_COLUMN` (6.75 in) wide, 8 pt text,
  7 pt legends and ticks (:func:`figure_size`);
- a colour-blind-safe palette, Okabe & Ito's eight colours ("Color Universal Design", 2008), as
  the colour cycle (so ``"C0"``… name them) and by name in :data:`PALETTE`;
- fonts embedded as TrueType (Type 42) in PDF and PostScript, never as Type 3 bitmaps-by-procedure
  that journals refuse; text in SVG as paths; DejaVu Sans and its mathtext, so no LaTeX is needed;
- deterministic files: no creation date in PDF or SVG metadata and a fixed SVG hash salt, so the
  same figure gives the same bytes (:func:`loopbound.figures.save.save_figure` applies
  :data:`SAVE_RC` and :data:`SAVE_METADATA` whatever style the figure was drawn in).

Use :func:`style` as a context manager around drawing (the figure functions of this package do),
or :func:`use_style` once in a notebook or script.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "ONE_COLUMN",
    "TWO_COLUMN",
    "PALETTE",
    "CYCLE",
    "RC",
    "SAVE_RC",
    "SAVE_METADATA",
    "figure_size",
    "style",
    "use_style",
]

ONE_COLUMN = 3.25
"""Width in inches of a one-column figure of a two-column paper."""
TWO_COLUMN = 6.75
"""Width in inches of a figure across both columns."""

PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
"""Okabe & Ito's colour-blind-safe colours, in the order of the colour cycle (yellow is kept for
fills: it is faint on white)."""

SAVE_RC: dict[str, Any] = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "path",
    "svg.hashsalt": "loopbound",
    "savefig.dpi": 200,
}
"""What a saved file depends on, applied at save time by ``save_figure``: Type 42 fonts, a fixed
SVG salt, one resolution."""

SAVE_METADATA: dict[str, dict[str, Any]] = {
    "pdf": {"CreationDate": None, "ModDate": None},
    "svg": {"Date": None},
    "png": {},
}
"""Per-format metadata: no dates, so two saves of one figure are byte-identical."""

CYCLE: tuple[str, ...] = tuple(
    PALETTE[name] for name in ("blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow")
)
"""The colour cycle: ``"C0"``… inside :func:`style`."""


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {
        **SAVE_RC,
        "text.usetex": False,
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "mathtext.fontset": "dejavusans",
        "font.size": 8,
        "axes.titlesize": 8,
        "axes.labelsize": 8,
        "figure.titlesize": 9,
        "legend.fontsize": 7,
        "legend.title_fontsize": 7,
        "legend.framealpha": 0.9,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "axes.prop_cycle": cycler(color=list(CYCLE)),
        "axes.linewidth": 0.6,
        "grid.linewidth": 0.4,
        "grid.alpha": 0.35,
        "lines.linewidth": 1.2,
        "lines.markersize": 4,
        "errorbar.capsize": 2,
        "figure.dpi": 100,
        "figure.figsize": (ONE_COLUMN, 2.4),
        "figure.constrained_layout.use": False,
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.02,
    }


RC: dict[str, Any] = {}
"""The full style (filled on first use, since building it imports matplotlib's cycler)."""


def rc() -> dict[str, Any]:
    """The style's rcParams (a fresh copy)."""
    if not RC:
        RC.update(_rc())
    return dict(RC)


@contextmanager
def style() -> Iterator[None]:
    """Draw inside this context to draw in the project style; the previous settings come back on exit."""
    import matplotlib

    with matplotlib.rc_context(rc()):
        yield


def use_style() -> None:
    """Set the project style for the rest of the process (a notebook, a script)."""
    import matplotlib

    matplotlib.rcParams.update(rc())


def figure_size(columns: int = 1, *, height: float | None = None, aspect: float = 0.72) -> tuple[float, float]:
    """(width, height) in inches: one or two paper columns wide, ``height`` given or ``aspect`` × width."""
    if columns not in (1, 2):
        raise ValueError(f"columns must be 1 or 2, got {columns!r}")
    width = ONE_COLUMN if columns == 1 else TWO_COLUMN
    return width, height if height is not None else aspect * width
