"""Figures of approximation error against loop count, from verify records.

A *verify record* is the JSON object of :meth:`loopbound.verify.VerifyResult.to_json` (what
``loopbound verify --json`` prints, what the run stage and a sweep's ``approximation`` cells
store): target, d, N, p, timestep, the bound's description and ``rows`` with ``r``, ``error``,
``lower``, ``upper`` and ``bound`` per loop budget. Records of the same series (same target, d, N,
p, variant and bound) are merged by r. Every function also takes the typed result of those cells
(:class:`~loopbound.sweep.kinds.approximation.ApproximationResult`, what
:func:`loopbound.sweep.compute` returns), read as its record.

- :func:`plot_error_vs_loops`: one series on log-log axes — the measured L^p error (markers and
  line) with its confidence interval as a band, the bound dashed in the same colour, the fitted
  slope (with its bootstrap interval) annotated; takes records, accepts ``ax``, returns the axes.
- :func:`plot_approximation`: both variants (looped, looped + timestep scaling) of one target.
- :func:`approximation_figure` / :func:`save_approximation_figure`: one panel per (target, d, N, p),
  saved atomically (PDF, PNG or SVG from the suffix).
- :func:`load_records`: verify records from JSON files or a sweep store folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loopbound.figures.save import save_figure
from loopbound.sweep.kinds.approximation import ApproximationResult
from loopbound.theory.errors import InputError
from loopbound.theory.rate_fit import fit_rate

VARIANT_COLOURS = {False: "C0", True: "C3"}
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


def _draw_measured(ax: Any, rows: list[dict[str, Any]], *, timestep: bool, colour: str, name: str) -> bool:
    """The measured error (markers and line) with its interval band; True when some error is > 0."""
    shown = [row for row in rows if row["error"] > 0]
    if shown:
        r = [row["r"] for row in shown]
        ax.fill_between(
            r,
            [max(row["lower"], 1e-300) for row in shown],
            [row["upper"] for row in shown],
            color=colour,
            alpha=0.25,
            linewidth=0,
        )
        # open circles for one variant, filled squares for the other: coinciding curves stay visible
        marker = (
            dict(marker="s", markersize=3.5) if timestep else dict(marker="o", markersize=7, markerfacecolor="none")
        )
        ax.plot(
            r,
            [row["error"] for row in shown],
            "-",
            color=colour,
            linewidth=1.2,
            **marker,
            label=f"{name}: measured L^p error",
        )
    elif rows:
        ax.plot([], [], "o", color=colour, label=f"{name}: error 0 at every r")
    return bool(shown)


def _draw_bound(ax: Any, rows: list[dict[str, Any]], *, colour: str, name: str) -> None:
    """The bound, dashed, where it is positive and finite."""
    bounded = [row for row in rows if row["bound"] > 0 and math.isfinite(row["bound"])]
    if bounded:
        ax.plot(
            [row["r"] for row in bounded],
            [row["bound"] for row in bounded],
            "--",
            color=colour,
            linewidth=1.2,
            label=f"{name}: bound",
        )


def _annotate_slope(
    ax: Any, rows: list[dict[str, Any]], *, colour: str, name: str, level: float, seed: int, slot: int
) -> None:
    """The fitted slope with its bootstrap interval, in the lower left at line ``slot``."""
    fit = fit_rate([row["r"] for row in rows], [row["error"] for row in rows], level=level, seed=seed)
    if fit.fitted and fit.has_interval:
        text = (
            f"{name}: slope {fit.exponent:.2f} [{fit.lower:.2f}, {fit.upper:.2f}] "
            f"({fit.level:.0%} bootstrap, r ≥ {fit.r_min:g})"
        )
    elif fit.fitted:
        text = f"{name}: slope {fit.exponent:.2f} ({fit.points} r ≥ {fit.r_min:g}: too few for an interval)"
    else:
        text = f"{name}: slope not fitted (fewer than 3 r)"
    ax.text(0.03, 0.04 + 0.065 * slot, text, transform=ax.transAxes, fontsize="x-small", color=colour)


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
    slot: int = 0,
):
    """One series: measured L^p error against r (log-log) with its interval band, the bound dashed,
    and the fitted slope annotated in the lower left (line ``slot``; refitted from the merged rows,
    :func:`loopbound.theory.rate_fit.fit_rate`, pairs bootstrap at ``level`` from ``seed``). Zero errors are
    left off the log axes."""
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    if isinstance(records, (Mapping, ApproximationResult)):
        records = [records]
    records = [_check_record(r, "plot_error_vs_loops") for r in records]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.2))
    if not records:
        return ax
    rows = merged_rows(records)
    timestep = bool(records[0]["timestep"])
    colour = colour or VARIANT_COLOURS[timestep]
    name = label or VARIANT_LABELS[timestep]
    shown = _draw_measured(ax, rows, timestep=timestep, colour=colour, name=name)
    if show_bound:
        _draw_bound(ax, rows, colour=colour, name=name)
    if annotate and shown:
        _annotate_slope(ax, rows, colour=colour, name=name, level=level, seed=seed, slot=slot)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(ticker.FuncFormatter(_minor_label))
    if shown:
        ax.set_yscale("log")
    ax.set_xlabel("loops r")
    ax.set_ylabel(f"L^{records[0]['p']:g} error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="xx-small", loc="upper right")
    return ax


def _minor_label(value: float, _: Any = None) -> str:
    """Label the minor ticks 2, 3, 5 (× powers of ten) only, so log axes over a decade stay legible."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value) + 1e-12))
    return f"{value:g}" if leading in (2, 3, 5) else ""


def plot_approximation(records: Sequence[RecordOrResult], *, ax=None, level: float = 0.95, seed: int = 0):
    """Every series of one (target, d, N, p): looped and looped + timestep on the same axes."""
    import matplotlib.pyplot as plt

    records = [_check_record(r, "plot_approximation") for r in records]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.2))
    groups: dict[tuple, list[Record]] = {}
    for record in records:
        groups.setdefault(series_key(record), []).append(record)
    for slot, key in enumerate(sorted(groups, key=lambda k: (k[4], str(k[5])))):
        plot_error_vs_loops(groups[key], ax=ax, level=level, seed=seed, slot=slot)
    if records:
        first = records[0]
        ax.set_title(f"{first['target']}  (d={first['d']}, N={first['N']}, p={float(first['p']):g})", fontsize="small")
    return ax


def approximation_figure(records: Sequence[RecordOrResult], *, columns: int = 3, level: float = 0.95, seed: int = 0):
    """A figure with one panel (:func:`plot_approximation`) per (target, d, N, p)."""
    import matplotlib.pyplot as plt

    records = [_check_record(r, "approximation_figure") for r in records]
    if not records:
        raise InputError("no verify records to plot")
    panels: dict[tuple, list[Record]] = {}
    for record in records:
        panels.setdefault(panel_key(record), []).append(record)
    columns = max(1, min(columns, len(panels)))
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.0 * rows), squeeze=False)
    for ax, key in zip(axes.flat, sorted(panels, key=str)):
        plot_approximation(panels[key], ax=ax, level=level, seed=seed)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle(
        "Approximation error against loops: measured (band: confidence interval), bound dashed", fontsize="medium"
    )
    figure.tight_layout()
    return figure


def save_approximation_figure(records: Sequence[RecordOrResult], path: str | Path, *, close: bool = True) -> Path:
    """:func:`approximation_figure` written atomically to ``path``."""
    return save_figure(approximation_figure(records), path, close=close)


# --------------------------------------------------------------------------- reading records
def _records_in(payload: Any, where: str) -> list[Record]:
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
        records.extend(_records_in(payload, str(path)))
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
            found.extend(_records_in(dict(record.result), f"{folder}/records/{record.hash}.json"))
    return found
