"""Figures of the precision wall (rows of :func:`loopbound.stages.precision.precision_rows`):
bits needed and the unscaled variant's value error bound against δ. Each plot function takes rows,
accepts ``ax`` and returns the axes; :func:`precision_figure` draws both panels in the project style
(:mod:`loopbound.figures.style`), two paper columns wide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loopbound.figures.style import TWO_COLUMN, style
from loopbound.stages.precision import PrecisionRow

__all__ = ["plot_precision", "plot_value_error", "precision_figure"]


def _grid_axis(ax, rows: Sequence[PrecisionRow]) -> None:
    """Log x-axis of δ, ticks at the measured grid sizes labelled 1/m, decreasing to the right."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ticks = sorted(
        {row.delta for row in rows} | {x for line in ax.get_lines() for x in line.get_xdata() if 0 < x <= 0.5}
    )
    ax.set_xticks(ticks, [f"1/{round(1 / t)}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.set_xlabel("δ (grid size)")


def plot_precision(rows: Sequence[PrecisionRow], *, ax=None, label: str | None = None):
    """Bits needed against δ (log-log): unscaled (one bit per value loop) and timestep-scaled, with
    the float64 significand (53 bits) for reference."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    deltas = [row.delta for row in rows]
    name = label or f"N={rows[0].N}"
    ax.plot(deltas, [row.bits_unscaled for row in rows], "o-", label=f"{name}, without timestep scaling")
    ax.plot(deltas, [row.bits_timestep for row in rows], "s--", label=f"{name}, with timestep scaling")
    if not any(line.get_label() == "float64 significand (53 bits)" for line in ax.get_lines()):
        ax.axhline(53, color="grey", linewidth=1, linestyle=":", label="float64 significand (53 bits)")
    ax.set_yscale("log")
    _grid_axis(ax, rows)
    ax.set_ylabel("bits of precision needed")
    ax.grid(True, which="major")
    ax.legend(loc="upper left")
    return ax


def plot_value_error(rows: Sequence[PrecisionRow], *, ax=None, label: str | None = None):
    """The unscaled variant's Lemma 4.1 bound ε against δ (log-log), with a δ¹ guide."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    deltas = [row.delta for row in rows]
    values = [row.value_error_bound for row in rows]
    ax.plot(deltas, values, "o-", label=label or f"N={rows[0].N}")
    guide = "∝ δ" if not any(line.get_label() == "∝ δ" for line in ax.get_lines()) else "_nolegend_"
    ax.plot(deltas, [values[0] * d / deltas[0] for d in deltas], ":", color="grey", label=guide)
    ax.set_yscale("log")
    _grid_axis(ax, rows)
    ax.set_ylabel("ε, Lemma 4.1 value error bound")
    ax.grid(True, which="major")
    ax.legend()
    return ax


def precision_figure(rows_by_N: Mapping[int, Sequence[PrecisionRow]], *, title: str = "smooth target, d = 1"):
    """(a) bits needed and (b) the unscaled value error bound against δ, one curve per N, side by side."""
    import matplotlib.pyplot as plt

    with style():
        figure, (left, right) = plt.subplots(1, 2, figsize=(TWO_COLUMN, 2.6), layout="constrained")
        for N, rows in rows_by_N.items():
            plot_precision(rows, ax=left, label=f"N={N}")
            plot_value_error(rows, ax=right, label=f"N={N}")
        low, high = left.get_ylim()
        left.set_ylim(low, high * 8)  # room for the legend above the curves
        left.set_title(f"(a) bits needed ({title})")
        right.set_title("(b) unscaled value error bound ε")
        figure.canvas.draw()
    return figure
