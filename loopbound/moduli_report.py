"""The moduli of the built-in targets as one figure and one report (the `moduli` stage of
``loopbound run`` and ``notebooks/moduli.py`` draw it the same way)."""
from __future__ import annotations

from typing import Any, Sequence

from loopbound.plots import plot_modulus
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import ModulusEstimate, estimate_moduli
from loopbound.theory.targets import BUILTIN_TARGETS, Target, builtin_target

DELTAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
SHAPE = {"d": 2, "N": 3}


def builtin_moduli(
    *, deltas: Sequence[float] = DELTAS, d: int = SHAPE["d"], N: int = SHAPE["N"], seed: int = 0
) -> list[tuple[Target, dict[ModulusKind, tuple[ModulusEstimate, ...]]]]:
    """Every built-in's three moduli at p = 2 (certified lower bounds; exact or upper where known)."""
    results = []
    for name in sorted(BUILTIN_TARGETS):
        target = builtin_target(name, d=d, N=N)
        results.append((target, estimate_moduli(target, deltas, seed=seed)))
    return results


def records(results) -> list[dict[str, Any]]:
    """One JSON-able record per (target, kind, δ)."""
    return [
        {"target": target.spec, "d": target.d, "N": target.N, "p": 2.0, **estimate.to_json()}
        for target, moduli in results
        for estimates in moduli.values()
        for estimate in estimates
    ]


def report_lines(results, *, at_delta: float = 0.1) -> list[str]:
    """Per target and kind: the lower bound at ``at_delta``, the reference value, and the worst
    ratio lower/exact over the grid."""
    lines = [f"  {'target':<34}{'kind':<12}{f'lower at δ={at_delta:g}':>16}{'exact/upper':>14}{'min lower/exact':>17}"]
    for target, moduli in results:
        for kind, estimates in moduli.items():
            at = min(estimates, key=lambda e: abs(e.delta - at_delta))
            ratios = [e.lower / e.exact for e in estimates if e.exact]
            worst = f"{min(ratios):.4f}" if ratios else ("exact 0" if all(e.exact == 0 for e in estimates) else "-")
            reference = "-" if at.upper is None else f"{at.upper:.4g}"
            lines.append(f"  {target.spec:<34}{kind.value:<12}{at.lower:>16.4g}{reference:>14}{worst:>17}")
    return lines


def plot_builtin_moduli(results, *, columns: int = 3):
    """A grid of panels, one per target, each with its three moduli (plot_modulus)."""
    import matplotlib.pyplot as plt

    rows = -(-len(results) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    for ax, (target, moduli) in zip(axes.flat, results):
        for estimates in moduli.values():
            plot_modulus(estimates, ax=ax)
        ax.set_title(target.spec)
    for ax in list(axes.flat)[len(results):]:
        ax.set_visible(False)
    figure.suptitle("Moduli of the built-ins: certified lower bounds (markers), exact values (bands), analytic upper bounds (dotted)")
    figure.tight_layout()
    return figure
