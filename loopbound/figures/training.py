"""Figures of trained error against loop count, beside the construction and its bound.

Records are :class:`~loopbound.training.result.TrainResult` values or their JSON records (a
``train`` sweep store, ``loopbound train --json``); construction records are the verify records of
the universal construction (``approximation`` / ``approximation_curve`` cells, ``loopbound verify
--json``), read through :func:`loopbound.figures.approximation.merged_rows`.

- :func:`plot_trained_vs_loops`: one panel, log-log — per model kind (and matching) the trained
  model's test error against r with its interval as a band; the constant predictor's error as a
  dotted floor; the construction's measured error (black, band) and the Theorem 3.6 bound for it
  (black, dashed) when construction records are given. Takes records, accepts ``ax``, returns the axes.
- :func:`training_figure`: one panel per (target, d, N, p).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopbound.training.result import TrainResult

MODEL_COLOURS = {"standard": "C2", "looped": "C0", "timestep": "C3"}
MODEL_LABELS = {"standard": "standard (L = r layers)", "looped": "looped", "timestep": "looped + timestep"}

TrainRecord = TrainResult | Mapping[str, Any]


def as_result(record: TrainRecord) -> TrainResult:
    """A train record as its typed result (a ValueError for a record of another layout)."""
    return record if isinstance(record, TrainResult) else TrainResult.from_record(record)


def panel_key(result: TrainResult) -> tuple:
    """What shares a panel: target, d, N, p."""
    return (result.target, result.d, result.N, float(result.config.get("p", 2.0)))


def _series(results: Sequence[TrainResult]) -> dict[tuple[str, str], list[TrainResult]]:
    series: dict[tuple[str, str], list[TrainResult]] = {}
    for result in results:
        series.setdefault((result.model, str(result.config.get("match", "width"))), []).append(result)
    return {key: sorted(values, key=lambda r: r.loops) for key, values in sorted(series.items())}


def _draw_construction(ax: Any, records: Sequence[Any]) -> None:
    from loopbound.figures.approximation import merged_rows

    plain = [record if isinstance(record, Mapping) else record.to_record() for record in records]
    rows = [row for row in merged_rows(plain) if row.get("error") is not None]
    if not rows:
        return
    r = [row["r"] for row in rows]
    ax.plot(r, [row["error"] for row in rows], "ks-", ms=4, label="construction (measured)")
    ax.fill_between(r, [row["lower"] for row in rows], [row["upper"] for row in rows], color="k", alpha=0.15, lw=0)
    bounds = [(row["r"], row["bound"]) for row in rows if row.get("bound") is not None]
    if bounds:
        ax.plot(*zip(*bounds), "k--", lw=1, label="Thm 3.6 bound (construction)")


def plot_trained_vs_loops(
    records: Sequence[TrainRecord], *, construction: Sequence[Any] = (), ax: Any = None, title: str | None = None
) -> Any:
    """Trained error against r per model, the constant floor, and the construction (module docstring)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    results = [as_result(record) for record in records]
    for (model, match), values in _series(results).items():
        r = [v.loops for v in values]
        colour = MODEL_COLOURS.get(model, "C7")
        label = MODEL_LABELS.get(model, model) + (" (matched params)" if match == "params" else "")
        style = "o-" if match == "width" else "^:"
        ax.plot(r, [v.test_error.value for v in values], style, color=colour, ms=4, label=label)
        lower, upper = [v.test_error.lower for v in values], [v.test_error.upper for v in values]
        ax.fill_between(r, lower, upper, color=colour, alpha=0.2, lw=0)
    floors = [v.baselines["constant"].value for v in results if "constant" in v.baselines]
    if floors:
        ax.axhline(sum(floors) / len(floors), color="0.5", ls=":", lw=1, label="constant predictor")
    _draw_construction(ax, construction)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("loops r (standard: layers)")
    ax.set_ylabel("L^p test error" if not results or results[0].task == "cube" else "error / d at k = 2d")
    if title is None and results:
        target, d, N, p = panel_key(results[0])
        title = f"{target}  (d={d}, N={N}, p={p:g})"
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ax


def training_figure(
    records: Sequence[TrainRecord], *, construction: Mapping[tuple, Sequence[Any]] | None = None, columns: int = 2
) -> Any:
    """One panel per (target, d, N, p); ``construction`` maps a panel key to its construction records."""
    import matplotlib.pyplot as plt

    results = [as_result(record) for record in records]
    panels: dict[tuple, list[TrainResult]] = {}
    for result in results:
        panels.setdefault(panel_key(result), []).append(result)
    count = max(1, len(panels))
    columns = min(columns, count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    for ax, (key, values) in zip(axes.flat, sorted(panels.items())):
        plot_trained_vs_loops(values, construction=(construction or {}).get(key, ()), ax=ax)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure
