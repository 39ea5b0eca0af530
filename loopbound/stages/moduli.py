"""The ``moduli`` stage of ``loopbound run``: ω, ω^tok, ω^cont of every built-in target at
d = 2, N = 3, p = 2, certified lower bounds against the exact values where known (``moduli.json``,
``moduli.png``, ``moduli.pdf``); ``notebooks/moduli.py`` computes and draws them the same way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.figures.modulus import plot_builtin_moduli
from loopbound.figures.save import save_figure
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


def moduli_stage(out: Path, seed: int) -> list[str]:
    """Moduli of every built-in at d=2, N=3, p=2; returns report lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = builtin_moduli(seed=seed)
    lines = [
        f"moduli of the built-in targets (d={SHAPE['d']}, N={SHAPE['N']}, p=2, δ from {DELTAS[0]} to {DELTAS[-1]}, seed {seed})",
        *report_lines(results),
    ]
    write_text_atomic(out / "moduli.json", json.dumps(records(results)))
    figure = plot_builtin_moduli(results)
    for suffix in ("png", "pdf"):
        save_figure(figure, out / f"moduli.{suffix}", close=False)
    plt.close(figure)
    lines.append(f"  records: {out / 'moduli.json'}   figure: {out / 'moduli.png'}, {out / 'moduli.pdf'}")
    return lines
