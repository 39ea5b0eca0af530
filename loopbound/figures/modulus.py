"""Figures of moduli of continuity (the sequence, token and contextual moduli of docs/theory.md §1,
Xu & Sato 2024): one modulus curve (:func:`plot_modulus`), the built-ins' three moduli, one panel
per target (:func:`plot_builtin_moduli`, the ``moduli`` stage of ``loopbound run`` and
``notebooks/moduli.py``), and the curves of a sweep store's ``modulus`` cells
(:func:`moduli_figure`, ``loopbound figures STORE``).

Each plot function takes estimates (:class:`~loopbound.theory.modulus.ModulusEstimate`, the points of
a ``modulus`` cell's record, or those points as JSON), accepts ``ax`` and returns the axes. The three
kinds are told apart by colour and by marker (a large hollow circle, a hollow square, a small
filled triangle), so a curve under another stays visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from loopbound.figures.style import PALETTE, TWO_COLUMN, style

__all__ = ["KIND_COLOURS", "KIND_MARKERS", "plot_modulus", "plot_builtin_moduli", "moduli_figure", "modulus_records"]

KIND_COLOURS = {"sequence": PALETTE["blue"], "token": PALETTE["vermillion"], "contextual": PALETTE["green"]}
KIND_MARKERS: dict[str, dict[str, Any]] = {
    "sequence": dict(marker="o", markersize=6.5, markerfacecolor="none", markeredgewidth=1.0),
    "token": dict(marker="s", markersize=4.5, markerfacecolor="none", markeredgewidth=1.0),
    "contextual": dict(marker="^", markersize=3.0),
}


class Point(NamedTuple):
    """One δ of a modulus curve, whatever it was read from."""

    kind: str
    delta: float
    lower: float
    upper: float | None
    exact: float | None


def _point(estimate: Any) -> Point:
    if isinstance(estimate, Mapping):
        get = estimate.get
    else:

        def get(name: str) -> Any:
            return getattr(estimate, name, None)

    kind = get("kind")
    kind = getattr(kind, "value", kind)
    return Point(str(kind), float(get("delta")), float(get("lower")), get("upper"), get("exact"))


def plot_modulus(estimates: Sequence[Any], *, ax=None, label: str | None = None, legend: bool = True):
    """Log-log curve of certified lower bounds against δ for one kind (markers), the exact modulus
    as a translucent band and an analytic upper bound dotted where known. Zero values are left off
    the log axes and named in the legend."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    points = [_point(e) for e in estimates]
    if not points:
        return ax
    kind = points[0].kind
    colour = KIND_COLOURS.get(kind)
    name = label or kind
    lowers = [(e.delta, e.lower) for e in points if e.lower > 0]
    exact = [(e.delta, e.exact) for e in points if e.exact is not None and e.exact > 0]
    upper = [(e.delta, e.upper) for e in points if e.exact is None and e.upper is not None and e.upper > 0]
    if exact:  # a wide translucent band under the markers: visible where the two coincide
        ax.plot(*zip(*exact), "-", color=colour, alpha=0.22, linewidth=5, solid_capstyle="round", label=f"{name} exact")
    if upper:
        ax.plot(*zip(*upper), ":", color=colour, linewidth=1.2, label=f"{name} upper bound")
    marker = KIND_MARKERS.get(kind, dict(marker="o", markersize=4))
    if lowers:
        ax.plot(*zip(*lowers), "-", color=colour, linewidth=0.8, label=f"{name} lower bound", **marker)
    else:
        ax.plot([], [], linestyle="none", color=colour, label=f"{name}: 0 at every δ", **marker)
    ax.set_xscale("log")
    if lowers or exact or upper:
        ax.set_yscale("log")
    ax.set_xlabel("δ")
    ax.set_ylabel("modulus of continuity")
    ax.grid(True, which="major")
    if legend:
        ax.legend()
    return ax


def _kind_legend(figure: Any, kinds: Sequence[str]) -> None:
    """One legend for the figure, below the panels: the kinds (colour, marker) and the line styles."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=KIND_COLOURS.get(k), linewidth=0.8, label=f"{k}: certified lower bound", **KIND_MARKERS[k])
        for k in kinds
    ]
    labels = {line.get_label() for ax in figure.axes for line in ax.get_lines()}
    if any(label.endswith(" exact") for label in labels):
        handles.append(Line2D([], [], color="grey", alpha=0.4, linewidth=5, label="exact modulus (band)"))
    if any(label.endswith(" upper bound") for label in labels):
        handles.append(Line2D([], [], color="grey", linestyle=":", linewidth=1.2, label="analytic upper bound"))
    figure.legend(handles=handles, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.0))


def _grid(panels: int, columns: int):
    import matplotlib.pyplot as plt

    columns = max(1, min(columns, panels))
    rows = -(-panels // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(TWO_COLUMN, 1.9 * rows + 0.7), squeeze=False, layout="constrained"
    )
    figure.get_layout_engine().set(h_pad=0.04, w_pad=0.04)
    for ax in list(axes.flat)[panels:]:
        ax.set_visible(False)
    return figure, axes


def _panel(ax: Any, title: str, curves: Sequence[Sequence[Any]], *, first: bool) -> None:
    for estimates in curves:
        plot_modulus(estimates, ax=ax, legend=False)
    ax.set_title(title)
    if not first:
        ax.set_ylabel("")


def plot_builtin_moduli(results, *, columns: int = 3):
    """A grid of panels, one per target (title: the target, d, N, p), each with its three moduli
    (:func:`plot_modulus`) and one legend below."""
    with style():
        figure, axes = _grid(len(results), columns)
        kinds: dict[str, None] = {}
        for index, (ax, (target, moduli)) in enumerate(zip(axes.flat, results)):
            curves = list(moduli.values())
            p = next((e.p for c in curves for e in c), 2.0)
            kinds.update({_point(c[0]).kind: None for c in curves if c})
            _panel(ax, f"{target.spec}\nd={target.d}, N={target.N}, p={p:g}", curves, first=index % columns == 0)
        figure.suptitle("Moduli of continuity of the built-in targets")
        _kind_legend(figure, list(kinds))
        figure.get_layout_engine().set(rect=(0, 0.09, 1, 0.91))
        figure.canvas.draw()
    return figure


def modulus_records(records: Sequence[Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """The (config, result) pairs of a store's ``modulus`` cells (:class:`~loopbound.sweep.store.CellRecord`)."""
    return [(r.config, r.result) for r in records if r.config.get("cell") == "modulus"]


def moduli_figure(records: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], *, columns: int = 3):
    """One panel per (target, d, N, p, seed) of ``modulus`` cell records (config, result), each
    with the kinds its cells computed; one legend below."""
    if not records:
        from loopbound.theory.errors import InputError

        raise InputError("no modulus records to plot")
    panels: dict[tuple, list[Sequence[Any]]] = {}
    for config, result in records:
        key = (config["target"], config["d"], config["N"], float(config["p"]), config["seed"])
        panels.setdefault(key, []).append(result["curve"])
    order = {"sequence": 0, "token": 1, "contextual": 2}
    with style():
        figure, axes = _grid(len(panels), columns)
        kinds: dict[str, None] = {}
        for index, (ax, key) in enumerate(zip(axes.flat, sorted(panels, key=str))):
            curves = sorted((c for c in panels[key] if c), key=lambda c: order.get(_point(c[0]).kind, 3))
            kinds.update({_point(c[0]).kind: None for c in curves})
            target, d, N, p, seed = key
            _panel(ax, f"{target}\nd={d}, N={N}, p={p:g}, seed {seed}", curves, first=index % columns == 0)
        figure.suptitle("Moduli of continuity (sweep records)")
        _kind_legend(figure, sorted(kinds, key=lambda k: order.get(k, 3)))
        figure.get_layout_engine().set(rect=(0, 0.09, 1, 0.91))
        figure.canvas.draw()
    return figure
