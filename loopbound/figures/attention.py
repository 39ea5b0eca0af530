"""The regularity of attention: moduli of continuity of one softmax and one sigmoid self-attention
layer (:mod:`loopbound.theory.attention_targets`, sharing their weights), against δ and against the
spectral norm of the query-key matrix A, for a few sequence lengths N.

Each plot function takes the points of :func:`loopbound.theory.attention_targets.attention_moduli`
(typed or as JSON objects), accepts ``ax`` and returns the axes: certified lower bounds as markers
joined by a line, the analytic upper bounds dotted, softmax and sigmoid in two colours.
:func:`attention_regularity_figure` draws the notebook's figure (``notebooks/attention_regularity.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopbound.figures.style import PALETTE, TWO_COLUMN, style
from loopbound.theory.attention_targets import AttentionModulusPoint

__all__ = ["LAYER_COLOURS", "plot_against_delta", "plot_against_norm", "attention_regularity_figure"]

LAYER_COLOURS = {"softmax": PALETTE["blue"], "sigmoid": PALETTE["vermillion"]}
LAYER_MARKERS: dict[str, dict[str, Any]] = {
    "softmax": dict(marker="o", markersize=5, markerfacecolor="none", markeredgewidth=1.0),
    "sigmoid": dict(marker="s", markersize=3),
}
LAYER_LABELS = {"softmax": "softmax", "sigmoid": "sigmoid, b = −log N"}


def _points(points: Sequence[Any]) -> list[AttentionModulusPoint]:
    return [p if isinstance(p, AttentionModulusPoint) else AttentionModulusPoint(**dict(p)) for p in points]


def _draw(ax: Any, layer: str, xs: list[float], lowers: list[float], uppers: list[float]) -> None:
    colour = LAYER_COLOURS.get(layer)
    positive = [(x, low) for x, low in zip(xs, lowers) if low > 0]
    if positive:
        ax.plot(
            *zip(*positive),
            "-",
            color=colour,
            linewidth=0.9,
            label=f"{LAYER_LABELS.get(layer, layer)}: lower bound",
            **LAYER_MARKERS.get(layer, {}),
        )
    ax.plot(xs, uppers, ":", color=colour, linewidth=1.2, label=f"{LAYER_LABELS.get(layer, layer)}: upper bound")


def _ticks_at(ax: Any, values: list[float]) -> None:
    """A log x-axis labelled at the measured values, in plain numbers."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    if values:
        ax.set_xticks(sorted(set(values)), [f"{v:g}" for v in sorted(set(values))])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plot_against(points: Sequence[Any], axis: str, keep: Any, *, xlabel: str, ylabel: str, ax: Any) -> Any:
    """The chosen points' moduli of both layers against the field ``axis`` (log-log)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    chosen = [p for p in _points(points) if keep(p)]
    for layer in LAYER_COLOURS:
        mine = sorted((p for p in chosen if p.layer == layer), key=lambda p: getattr(p, axis))
        if mine:
            _draw(ax, layer, [getattr(p, axis) for p in mine], [p.lower for p in mine], [p.upper for p in mine])
    _ticks_at(ax, [getattr(p, axis) for p in chosen])
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major")
    return ax


def plot_against_delta(points: Sequence[Any], *, N: int, qk_norm: float, kind: str = "sequence", ax=None):
    """The ``kind`` modulus against δ (log-log) of both layers at sequence length N and ‖A‖₂ = ``qk_norm``."""
    keep = lambda p: p.N == N and p.qk_norm == qk_norm and p.kind == kind  # noqa: E731
    return _plot_against(points, "delta", keep, xlabel="δ", ylabel=f"{kind} modulus ω(δ)", ax=ax)


def plot_against_norm(points: Sequence[Any], *, N: int, delta: float, kind: str = "sequence", ax=None):
    """The ``kind`` modulus at one δ against ‖A‖₂ (log-log) of both layers at sequence length N."""
    keep = lambda p: p.N == N and p.delta == delta and p.kind == kind  # noqa: E731
    return _plot_against(
        points, "qk_norm", keep, xlabel="‖A‖₂ = ‖W_Q W_Kᵀ‖₂/√d", ylabel=f"{kind} modulus at δ = {delta:g}", ax=ax
    )


def attention_regularity_figure(points: Sequence[Any], *, qk_norm: float, delta: float):
    """Three rows, one column per N: the sequence modulus against δ at ‖A‖₂ = ``qk_norm``, and the
    sequence and token moduli at ``delta`` against ‖A‖₂; one legend below, two paper columns wide."""
    import matplotlib.pyplot as plt

    points = _points(points)
    if not points:
        from loopbound.theory.errors import InputError

        raise InputError("no attention moduli to plot")
    Ns = sorted({p.N for p in points})
    d = points[0].d
    with style():
        figure, axes = plt.subplots(
            3, len(Ns), figsize=(TWO_COLUMN, 5.9), squeeze=False, layout="constrained", sharey="row"
        )
        for column, N in enumerate(Ns):
            plot_against_delta(points, N=N, qk_norm=qk_norm, ax=axes[0, column])
            axes[0, column].set_title(f"N = {N}")
            plot_against_norm(points, N=N, delta=delta, ax=axes[1, column])
            plot_against_norm(points, N=N, delta=delta, kind="token", ax=axes[2, column])
            for row in (1, 2):
                axes[row, column].set_xlabel("‖A‖₂")
        axes[0, 0].set_ylabel(f"sequence ω(δ)\nat ‖A‖₂ = {qk_norm:g}")
        axes[1, 0].set_ylabel(f"sequence ω({delta:g})")
        axes[2, 0].set_ylabel(f"token ω({delta:g})")
        for row in range(3):
            for ax in axes[row, 1:]:
                ax.set_ylabel("")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
        figure.suptitle(
            f"Moduli of one attention layer (d = {d}, ‖W_V‖₂ = 1, p = 2, A = W_Q W_Kᵀ/√d): against δ (top)\n"
            "and against ‖A‖₂ (middle, bottom); certified lower bounds (markers), analytic upper bounds (dotted)"
        )
        figure.canvas.draw()
    return figure


def records(points: Sequence[AttentionModulusPoint]) -> list[Mapping[str, Any]]:
    """The points as JSON objects (what :func:`plot_against_delta` and the others also read)."""
    from dataclasses import asdict

    return [asdict(p) for p in points]
