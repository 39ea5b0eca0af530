"""The ``moduli`` stage of ``loopbound run``: ω, ω^tok, ω^cont of every built-in target at
d = 2, N = 3, p = 2, certified lower bounds against the exact values where known (``moduli.json``,
``moduli.png``, ``moduli.pdf``); ``notebooks/moduli.py`` computes and draws them the same way.

Scales (:data:`MODULI_SCALES`): ``smoke`` searches a small budget at three δ; ``default`` the
search's default budget at six δ; ``paper`` the default budget at twelve δ from 0.005 to 0.3.
Each row of the verdict table holds a certified lower bound against the exact value or analytic
upper bound (:meth:`loopbound.theory.targets.Target.upper_modulus`): a lower bound above it would
be a bug in the search's certification or in the analytic bound.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.figures.modulus import plot_builtin_moduli
from loopbound.figures.save import save_figure
from loopbound.metadata import with_metadata
from loopbound.stages.report import StageContext, StageReport, VerdictRow
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import ModulusEstimate, estimate_moduli
from loopbound.theory.modulus_search import SearchBudget
from loopbound.theory.targets import BUILTIN_TARGETS, Target, builtin_target

__all__ = ["DELTAS", "SHAPE", "MODULI_SCALES", "ROUNDING", "builtin_moduli", "records", "report_lines", "moduli_stage"]

DELTAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
SHAPE = {"d": 2, "N": 3}
MODULI_SCALES: dict[str, tuple[tuple[float, ...], SearchBudget]] = {
    "smoke": ((0.05, 0.1, 0.2), SearchBudget(screen=256, restarts=4, steps=10)),
    "default": (DELTAS, SearchBudget()),
    "paper": ((0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3), SearchBudget()),
}
"""Per scale: the δ grid and the search budget."""
ROUNDING = 1e-12
"""Relative slack of the moduli verdicts: a certified lower bound is the target evaluated in
float64 at its witness pair, so it is exact up to that evaluation's rounding (a few ulps)."""


def builtin_moduli(
    *,
    deltas: Sequence[float] = DELTAS,
    d: int = SHAPE["d"],
    N: int = SHAPE["N"],
    seed: int = 0,
    budget: SearchBudget = SearchBudget(),
) -> list[tuple[Target, dict[ModulusKind, tuple[ModulusEstimate, ...]]]]:
    """Every built-in's three moduli at p = 2 (certified lower bounds; exact or upper where known)."""
    results = []
    for name in sorted(BUILTIN_TARGETS):
        target = builtin_target(name, d=d, N=N)
        results.append((target, estimate_moduli(target, deltas, seed=seed, budget=budget)))
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


def verdict_rows(results, *, at_delta: float = 0.1) -> list[VerdictRow]:
    """One row per target and kind: the certified lower bounds over the δ grid held against the
    exact value or analytic upper bound (inconclusive where the target has neither)."""
    rows = []
    for target, moduli in results:
        for kind, estimates in moduli.items():
            at = min(estimates, key=lambda e: abs(e.delta - at_delta))
            claim = f"{kind.value} modulus of {target.spec} (d={target.d}, N={target.N}, p=2)"
            measured = f"certified lower {at.lower:.4g} at δ={at.delta:g}"
            known = [e for e in estimates if e.upper is not None]
            if not known:
                rows.append(
                    VerdictRow("moduli", claim, measured, "none known", "inconclusive", "no exact value or upper bound")
                )
                continue
            over = [e for e in known if e.lower > e.upper * (1 + ROUNDING)]
            word = "exact" if all(e.exact is not None for e in known) else "upper bound"
            bound = "-" if at.upper is None else f"{word} {at.upper:.4g} at δ={at.delta:g}"
            detail = f"lower ≤ {word} at {len(known) - len(over)}/{len(estimates)} δ"
            rows.append(VerdictRow("moduli", claim, measured, bound, "violated" if over else "held", detail))
    return rows


def moduli_stage(out: Path, seed: int) -> list[str]:
    """Moduli of every built-in at d=2, N=3, p=2 (default scale); returns report lines."""
    return list(moduli_report(StageContext(out=out, seed=seed)).lines)


def moduli_report(context: StageContext) -> StageReport:
    """Moduli of every built-in at d=2, N=3, p=2 at the context's scale: records, figure, rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, seed = context.out, context.seed
    out.mkdir(parents=True, exist_ok=True)
    deltas, budget = MODULI_SCALES[context.scale]
    context.progress(f"moduli: {len(BUILTIN_TARGETS)} targets × 3 kinds at {len(deltas)} δ")
    results = builtin_moduli(deltas=deltas, seed=seed, budget=budget)
    lines = [
        f"moduli of the built-in targets (d={SHAPE['d']}, N={SHAPE['N']}, p=2, δ from {deltas[0]} to {deltas[-1]}, seed {seed})",
        *report_lines(results),
    ]
    write_text_atomic(out / "moduli.json", json.dumps(with_metadata({"records": records(results)})))
    figure = plot_builtin_moduli(results)
    for suffix in ("png", "pdf"):
        save_figure(figure, out / f"moduli.{suffix}", close=False)
    plt.close(figure)
    lines.append(f"  records: {out / 'moduli.json'}   figure: {out / 'moduli.png'}, {out / 'moduli.pdf'}")
    return StageReport(
        name="moduli",
        lines=tuple(lines),
        rows=tuple(verdict_rows(results)),
        figures=(out / "moduli.png",),
        notes=(
            "Moduli rows: each certified lower bound (attained by a witness pair) is held against the exact "
            f"modulus or an analytic upper bound at every δ of the grid, with a relative slack of {ROUNDING:g} for "
            "the float64 evaluation of the target at the witness.",
        ),
    )
