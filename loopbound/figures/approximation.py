"""Figures of approximation error against loop count, from verify records.

A *verify record* is the JSON object of :meth:`loopbound.verify.VerifyResult.to_json` (what
``loopbound verify --json`` prints, what the run stage and a sweep's ``approximation`` cells
store): target, d, N, p, timestep, the bound's description and ``rows`` with ``r``, ``error``,
``lower``, ``upper`` and ``bound`` per loop budget. Records of the same series (same target, d, N,
p, variant and bound) are merged by r. Every function also takes the typed result of those cells
(:class:`~loopbound.sweep.kinds.approximation.ApproximationResult`, what
:func:`loopbound.sweep.compute` returns), read as its record.

- :func:`plot_error_vs_loops`: one series on log-log axes — the measured L^p error (markers and
  line) with its confidence interval as a band and error bars, the bound dashed in the same
  colour, refused r (rows with ``refused``: no measurement) as crosses on the r axis, the fitted
  slope (with its bootstrap interval) in a band kept free below the data; takes records, accepts
  ``ax``, returns the axes.
- :func:`plot_approximation`: both variants (looped, looped + timestep scaling) of one target.
- :func:`approximation_figure` / :func:`save_approximation_figure`: one panel per (target, d, N, p)
  in the records' order (the verify tables' order), two paper columns wide, one legend below the
  panels saying how wide the intervals are; saved atomically (PDF, PNG or SVG from the suffix).
- :func:`load_records`: verify records from JSON files or a sweep store folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loopbound.figures.save import save_figure
from loopbound.figures.style import ONE_COLUMN, PALETTE, TWO_COLUMN, style
from loopbound.sweep.kinds.approximation import ApproximationResult
from loopbound.theory.errors import InputError
from loopbound.theory.rate_fit import fit_rate

VARIANT_COLOURS = {False: PALETTE["blue"], True: PALETTE["vermillion"]}
VARIANT_MARKERS: dict[bool, dict[str, Any]] = {
    False: dict(marker="o", markersize=6, markerfacecolor="none", markeredgewidth=1.0),
    True: dict(marker="s", markersize=3),
}
"""Large hollow circles for one variant, small filled squares for the other: coinciding curves stay visible."""
VARIANT_LABELS = {False: "looped", True: "looped + timestep"}

Record = Mapping[str, Any]
"""A verify record (JSON)."""
RecordOrResult = Record | ApproximationResult
"""A verify record, or the typed result of an approximation cell."""


def series_key(record: Record) -> tuple:
    """What makes two records the same series: target, d, N, p, variant, bound kind and expression.

    The expression of the ``construction`` bound carries the constants of the construction built
    for the record's smallest r (its guarantee at that grid), so records of one series measured at
    different r (a sweep's ``approximation`` cells, one r each) differ in it: for that kind the
    series is the kind alone."""
    bound = record.get("bound") or {}
    kind = bound.get("kind")
    expression = None if kind == "construction" else bound.get("expression")
    return (record["target"], record["d"], record["N"], float(record["p"]), bool(record["timestep"]), kind, expression)


def panel_key(record: Record) -> tuple:
    """What shares one panel: target, d, N, p."""
    return (record["target"], record["d"], record["N"], float(record["p"]))


def merged_rows(records: Sequence[Record]) -> list[dict[str, Any]]:
    """The measured rows of records of one series, one per r (the last record wins), sorted by r."""
    keys = {series_key(record) for record in records}
    if len(keys) > 1:
        raise InputError(f"records of different series cannot be merged into one curve: {sorted(map(str, keys))}")
    by_r: dict[int, dict[str, Any]] = {}
    for record in records:
        for row in record.get("rows", ()):
            if row.get("error") is not None and row.get("bound") is not None:
                by_r[int(row["r"])] = dict(row)
    return [by_r[r] for r in sorted(by_r)]


def _check_record(record: Any, where: str) -> Record:
    if isinstance(record, ApproximationResult):
        return record.to_record()
    needed = ("target", "d", "N", "p", "timestep", "rows")
    if not isinstance(record, Mapping) or any(key not in record for key in needed):
        raise InputError(f"{where}: not a verify record (needs {', '.join(needed)})")
    return record


def refused_rows(records: Sequence[Record]) -> list[dict[str, Any]]:
    """The rows of records of one series that were refused (no measurement, a one-line reason), one per r."""
    by_r = {int(row["r"]): dict(row) for record in records for row in record.get("rows", ()) if row.get("refused")}
    return [by_r[r] for r in sorted(by_r)]


def _draw_measured(ax: Any, rows: list[dict[str, Any]], *, timestep: bool, colour: str, name: str) -> bool:
    """The measured error (markers and line) with its interval as a band and error bars; True when
    some error is > 0."""
    shown = [row for row in rows if row["error"] > 0]
    if shown:
        r = [row["r"] for row in shown]
        error = [row["error"] for row in shown]
        lower = [max(row["lower"], 1e-300) for row in shown]
        upper = [row["upper"] for row in shown]
        ax.fill_between(r, lower, upper, color=colour, alpha=0.3, linewidth=0)
        ax.errorbar(
            r,
            error,
            yerr=[[e - lo for e, lo in zip(error, lower)], [up - e for e, up in zip(error, upper)]],
            fmt="none",
            ecolor=colour,
            elinewidth=0.8,
            capsize=1.5,
        )
        ax.plot(r, error, "-", color=colour, label=f"{name}: measured L$^p$ error", **VARIANT_MARKERS[timestep])
    elif rows:
        ax.plot([], [], "o", color=colour, label=f"{name}: error 0 at every r")
    return bool(shown)


def _draw_bound(ax: Any, rows: list[dict[str, Any]], *, colour: str, name: str, width: float = 1.2) -> None:
    """The bound, dashed, where it is positive and finite (a lone r as a short dash, which a line
    of one point would not show)."""
    bounded = [row for row in rows if row["bound"] > 0 and math.isfinite(row["bound"])]
    if bounded:
        lone = dict(marker="_", markersize=10, markeredgewidth=1.5) if len(bounded) == 1 else {}
        ax.plot(
            [row["r"] for row in bounded],
            [row["bound"] for row in bounded],
            "--",
            color=colour,
            linewidth=width,
            label=f"{name}: bound",
            **lone,
        )


def _draw_refused(ax: Any, refused: list[dict[str, Any]], *, colour: str, name: str) -> None:
    """Refused r as crosses on the bottom edge of the axes (x in data, y in axes coordinates)."""
    if refused:
        ax.plot(
            [row["r"] for row in refused],
            [0.0] * len(refused),
            linestyle="none",
            marker="x",
            markersize=6,
            markeredgewidth=1.5,
            color=colour,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
            label=f"{name}: refused r (no construction in float64)",
        )


def slope_text(rows: list[dict[str, Any]], *, level: float, seed: int) -> str:
    """The fitted slope of the measured error with its bootstrap interval, in a few words."""
    fit = fit_rate([row["r"] for row in rows], [row["error"] for row in rows], level=level, seed=seed)
    if fit.fitted and fit.has_interval:
        return f"slope {fit.exponent:.2f} [{fit.lower:.2f}, {fit.upper:.2f}] (r ≥ {fit.r_min:g})"
    if fit.fitted:
        return f"slope {fit.exponent:.2f} (r ≥ {fit.r_min:g}, {fit.points} r: no interval)"
    return "slope not fitted (< 3 r)"


SLOPE_BAND = 0.3
"""Fraction of the axes' height kept free below the lowest point for the slope annotations."""


def _annotate_slopes(ax: Any, texts: list[tuple[str, str]]) -> None:
    """The slopes in each series' colour, one line each, in a band kept free at the bottom of the
    axes: on log axes the lower limit moves down so the data stay above it (they decrease in r,
    so nothing but the refusal crosses on the r axis shares the band)."""
    if not texts:
        return
    if ax.get_yscale() == "log":
        low, high = ax.get_ylim()
        span = math.log10(high / low)
        ax.set_ylim(low / 10 ** (span * SLOPE_BAND / (1 - SLOPE_BAND)), high)
    for line, (text, colour) in enumerate(reversed(texts)):
        ax.text(0.03, 0.09 + 0.09 * line, text, transform=ax.transAxes, color=colour, fontsize="small")


def plot_error_vs_loops(
    records: Sequence[RecordOrResult] | RecordOrResult,
    *,
    ax=None,
    label: str | None = None,
    colour: str | None = None,
    show_bound: bool = True,
    annotate: bool = True,
    level: float = 0.95,
    seed: int = 0,
    legend: bool = True,
):
    """One series: measured L^p error against r (log-log) with its interval (band and error bars),
    the bound dashed, refused r as crosses on the r axis, and the fitted slope annotated where it
    covers nothing (refitted from the merged rows, :func:`loopbound.theory.rate_fit.fit_rate`, pairs
    bootstrap at ``level`` from ``seed``). Zero errors are left off the log axes."""
    import matplotlib.pyplot as plt

    if isinstance(records, (Mapping, ApproximationResult)):
        records = [records]
    records = [_check_record(r, "plot_error_vs_loops") for r in records]
    if ax is None:
        _, ax = plt.subplots()
    if not records:
        return ax
    texts = _draw_series(ax, records, colour=colour, name=label, show_bound=show_bound, level=level, seed=seed)
    _finish_axes(ax, records[0])
    if legend:
        ax.legend(loc="upper right")
    if annotate:
        _annotate_slopes(ax, texts)
    return ax


def _draw_series(
    ax: Any, records: list[Record], *, colour: str | None, name: str | None, show_bound: bool, level: float, seed: int
) -> list[tuple[str, str]]:
    """Draw one series; return its slope text with its colour (none when no error is > 0)."""
    rows = merged_rows(records)
    timestep = bool(records[0]["timestep"])
    colour = colour or VARIANT_COLOURS[timestep]
    name = name or VARIANT_LABELS[timestep]
    shown = _draw_measured(ax, rows, timestep=timestep, colour=colour, name=name)
    if show_bound:
        _draw_bound(ax, rows, colour=colour, name=name, width=1.0 if timestep else 2.0)  # the wide one stays visible
    _draw_refused(ax, refused_rows(records), colour=colour, name=name)
    return [(f"{name}: {slope_text(rows, level=level, seed=seed)}", colour)] if shown else []


def _finish_axes(ax: Any, record: Record) -> None:
    from matplotlib import ticker

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(ticker.FuncFormatter(_minor_label))
    if any(line.get_ydata(orig=True).size and line.get_transform() is ax.transData for line in ax.get_lines()):
        ax.set_yscale("log")
    ax.set_xlabel("loops r")
    ax.set_ylabel(f"L$^{{{float(record['p']):g}}}$ error")
    ax.grid(True, which="major")


def _minor_label(value: float, _: Any = None) -> str:
    """Label the minor ticks 2, 3, 5 (× powers of ten) only, so log axes over a decade stay legible."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value) + 1e-12))
    return f"{value:g}" if leading in (2, 5) else ""


def plot_approximation(
    records: Sequence[RecordOrResult], *, ax=None, level: float = 0.95, seed: int = 0, legend: bool = True
):
    """Every series of one (target, d, N, p): looped and looped + timestep on the same axes, the
    slopes annotated together where they cover nothing."""
    import matplotlib.pyplot as plt

    records = [_check_record(r, "plot_approximation") for r in records]
    if ax is None:
        _, ax = plt.subplots()
    if not records:
        return ax
    groups: dict[tuple, list[Record]] = {}
    for record in records:
        groups.setdefault(series_key(record), []).append(record)
    texts: list[tuple[str, str]] = []
    for key in sorted(groups, key=lambda k: (k[4], str(k[5]))):
        texts += _draw_series(ax, groups[key], colour=None, name=None, show_bound=True, level=level, seed=seed)
    _finish_axes(ax, records[0])
    first = records[0]
    ax.set_title(f"{first['target']}  (d={first['d']}, N={first['N']}, p={float(first['p']):g})")
    if legend:
        ax.legend(loc="upper right")
    _annotate_slopes(ax, texts)
    return ax


def interval_note(records: Sequence[Record]) -> str:
    """How wide the drawn intervals are, relative to the error: "at most ±x%" over every measured row."""
    widths = [
        (row["upper"] - row["lower"]) / (2 * row["error"])
        for record in records
        for row in record.get("rows", ())
        if row.get("error") and row.get("lower") is not None and row.get("upper") is not None
    ]
    return f"at most ±{max(widths):.1%} of the error" if widths else "none measured"


def _figure_legend(figure: Any, records: Sequence[Record], level: float, columns: int) -> None:
    """One legend below the panels: the variants (colour, marker), the bound, the interval, refusals."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    variants = sorted({bool(record["timestep"]) for record in records})
    handles = [
        Line2D(
            [], [], color=VARIANT_COLOURS[v], label=f"{VARIANT_LABELS[v]}: measured L$^p$ error", **VARIANT_MARKERS[v]
        )
        for v in variants
    ]
    handles.append(Line2D([], [], color="grey", linestyle="--", label="the bound, in its variant's colour"))
    handles.append(
        Patch(
            color="grey", alpha=0.3, linewidth=0, label=f"{level:.0%} interval (band, bars): {interval_note(records)}"
        )
    )
    if any(refused_rows([record]) for record in records):
        handles.append(
            Line2D(
                [],
                [],
                color="grey",
                linestyle="none",
                marker="x",
                markeredgewidth=1.5,
                label="refused r (float64 cannot hold it)",
            )
        )
    figure.legend(handles=handles, loc="outside lower center", ncol=min(2, columns), frameon=False)


def approximation_figure(records: Sequence[RecordOrResult], *, columns: int = 2, level: float = 0.95, seed: int = 0):
    """A figure with one panel (:func:`plot_approximation`) per (target, d, N, p), in the order the
    records come (the order of the verify tables), ``columns`` per row, two paper columns wide (one
    for a single panel), with one legend below."""
    import matplotlib.pyplot as plt

    records = [_check_record(r, "approximation_figure") for r in records]
    if not records:
        raise InputError("no verify records to plot")
    panels: dict[tuple, list[Record]] = {}
    for record in records:
        panels.setdefault(panel_key(record), []).append(record)
    columns = max(1, min(columns, len(panels)))
    rows = -(-len(panels) // columns)
    with style():
        width = TWO_COLUMN if columns > 1 else ONE_COLUMN
        figure, axes = plt.subplots(
            rows, columns, figsize=(width, 2.0 * rows + 1.1), squeeze=False, layout="constrained"
        )
        for ax, key in zip(axes.flat, panels):
            plot_approximation(panels[key], ax=ax, level=level, seed=seed, legend=False)
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        figure.suptitle(
            "Approximation error against loops,"
            + ("\n" if columns == 1 else " ")
            + f"with the bound (dashed) and fitted slopes ({level:.0%} bootstrap)"
        )
        _figure_legend(figure, records, level, columns)
        figure.canvas.draw()
    return figure


def save_approximation_figure(records: Sequence[RecordOrResult], path: str | Path, *, close: bool = True) -> Path:
    """:func:`approximation_figure` written atomically to ``path``."""
    return save_figure(approximation_figure(records), path, close=close)


# --------------------------------------------------------------------------- reading records
def records_in(payload: Any, where: str) -> list[Record]:
    if isinstance(payload, Mapping) and "records" in payload:
        payload = payload["records"]
    if isinstance(payload, Mapping):
        payload = [payload]
    if not isinstance(payload, list):
        raise InputError(f'{where}: expected a verify record, a list of them or {{"records": [...]}}')
    return [_check_record(item, where) for item in payload]


def load_records(paths: Iterable[str | Path]) -> list[Record]:
    """Verify records from JSON files (one record, a list, or ``{"records": [...]}``) and from sweep
    store folders (:class:`loopbound.sweep.store.Store`: each ``approximation`` cell's result is a
    verify record). Anything else is an InputError naming the path."""
    records: list[Record] = []
    for path in map(Path, paths):
        if path.is_dir():
            records.extend(_store_records(path))
            continue
        if not path.is_file():
            raise InputError(f"no such file or folder: {path}")
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(f"{path} is not JSON: {error}") from None
        records.extend(records_in(payload, str(path)))
    if not records:
        raise InputError("no verify records found in " + ", ".join(map(str, paths)))
    return records


def _store_records(folder: Path) -> list[Record]:
    try:
        from loopbound.sweep.store import Store
    except ImportError:
        raise InputError(f"{folder} is a folder, and this checkout has no sweep store to read it") from None
    if not (folder / "records").is_dir():
        raise InputError(f"{folder} is not a sweep store (no records/ folder)")
    found = []
    for record in Store(folder).iter_records():
        config = record.config
        if config.get("cell") in ("approximation", "approximation_curve"):
            found.extend(records_in(dict(record.result), f"{folder}/records/{record.hash}.json"))
    return found
