"""Figures of moduli of continuity: one modulus curve (:func:`plot_modulus`) and the built-ins'
three moduli, one panel per target (:func:`plot_builtin_moduli`, the ``moduli`` stage of
``loopbound run`` and ``notebooks/moduli.py``). Each plot function takes estimates, accepts ``ax``
and returns the axes."""

from __future__ import annotations

from collections.abc import Sequence

from loopbound.theory.modulus import ModulusEstimate

__all__ = ["KIND_COLOURS", "plot_modulus", "plot_builtin_moduli"]

KIND_COLOURS = {"sequence": "C0", "token": "C1", "contextual": "C2"}


def plot_modulus(estimates: Sequence[ModulusEstimate], *, ax=None, label: str | None = None):
    """Log-log curve of certified lower bounds against δ for one kind (markers), the exact modulus
    as a translucent band and an analytic upper bound dotted where known. Zero values are left off
    the log axes and named in the legend."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    if not estimates:
        return ax
    kind = estimates[0].kind.value
    colour = KIND_COLOURS.get(kind, None)
    name = label or kind
    deltas = [e.delta for e in estimates if e.lower > 0]
    lowers = [e.lower for e in estimates if e.lower > 0]
    exact = [(e.delta, e.exact) for e in estimates if e.exact is not None and e.exact > 0]
    upper = [(e.delta, e.upper) for e in estimates if e.exact is None and e.upper is not None and e.upper > 0]
    if exact:  # a wide translucent band under the markers: visible where the two coincide
        ax.plot(*zip(*exact), "-", color=colour, alpha=0.25, linewidth=6, solid_capstyle="round", label=f"{name} exact")
    if upper:
        ax.plot(*zip(*upper), ":", color=colour, linewidth=1.5, label=f"{name} upper bound")
    if deltas:
        ax.plot(deltas, lowers, "o-", color=colour, markersize=4, linewidth=1, label=f"{name} lower bound")
    elif estimates:
        ax.plot([], [], "o", color=colour, label=f"{name}: 0 at every δ")
    ax.set_xscale("log")
    if deltas or exact or upper:
        ax.set_yscale("log")
    ax.set_xlabel("δ")
    ax.set_ylabel("modulus of continuity")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_builtin_moduli(results, *, columns: int = 3):
    """A grid of panels, one per target, each with its three moduli (plot_modulus)."""
    import matplotlib.pyplot as plt

    rows = -(-len(results) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    for ax, (target, moduli) in zip(axes.flat, results):
        for estimates in moduli.values():
            plot_modulus(estimates, ax=ax)
        ax.set_title(target.spec)
    for ax in list(axes.flat)[len(results) :]:
        ax.set_visible(False)
    figure.suptitle(
        "Moduli of the built-ins: certified lower bounds (markers), exact values (bands), analytic upper bounds (dotted)"
    )
    figure.tight_layout()
    return figure
