"""Figures of the precision wall (rows of :func:`loopbound.stages.precision.precision_rows`):
bits needed and the unscaled variant's value error bound against δ. Each plot function takes rows,
accepts ``ax`` and returns the axes."""

from __future__ import annotations

from collections.abc import Sequence

from loopbound.stages.precision import PrecisionRow

__all__ = ["plot_precision", "plot_value_error"]


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
        _, ax = plt.subplots(figsize=(5, 4))
    deltas = [row.delta for row in rows]
    name = label or f"N={rows[0].N}"
    ax.plot(deltas, [row.bits_unscaled for row in rows], "o-", label=f"{name}, without timestep scaling")
    ax.plot(deltas, [row.bits_timestep for row in rows], "s--", label=f"{name}, with timestep scaling")
    if not any(line.get_label() == "float64 significand (53 bits)" for line in ax.get_lines()):
        ax.axhline(53, color="grey", linewidth=1, linestyle=":", label="float64 significand (53 bits)")
    ax.set_yscale("log")
    _grid_axis(ax, rows)
    ax.set_ylabel("bits of precision needed")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_value_error(rows: Sequence[PrecisionRow], *, ax=None, label: str | None = None):
    """The unscaled variant's Lemma 4.1 bound ε against δ (log-log), with a δ¹ guide."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    deltas = [row.delta for row in rows]
    values = [row.value_error_bound for row in rows]
    ax.plot(deltas, values, "o-", label=label or f"N={rows[0].N}")
    guide = "∝ δ" if not any(line.get_label() == "∝ δ" for line in ax.get_lines()) else "_nolegend_"
    ax.plot(deltas, [values[0] * d / deltas[0] for d in deltas], ":", color="grey", label=guide)
    ax.set_yscale("log")
    _grid_axis(ax, rows)
    ax.set_ylabel("ε, Lemma 4.1 value error bound")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax
