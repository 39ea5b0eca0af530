"""The ``regression`` stage of ``loopbound run``: in-context regression by looped linear attention
at a small size (well under a minute on two CPU cores), with a short report of measured numbers.

Three sweeps of the sweep engine, computed in this process (:func:`loopbound.sweep.compute`) into
one results store ``regression/`` (``records/<hash>.json``, reused on a rerun): the ``looped_gd``
cells at d = 4, the ``reference_curves`` at d = 20 (their own dimension: the isotropic curves of
Garg et al. are drawn at d = 20) and the ``newton_schulz`` cell (:mod:`loopbound.sweep.kinds`).
Also written under ``out``: ``regression/reference.json``, ``regression/newton_schulz.json`` and
the figures ``regression_errors.{pdf,png}``, ``regression_summary.{pdf,png}``.

Scales (:data:`REGRESSION_SCALES`): ``smoke`` (8 prompts, 200 loops, 2 κ of Newton–Schulz: seconds);
``default`` (:data:`STAGE_SWEEP`, :data:`STAGE_REFERENCE`, :data:`STAGE_NEWTON_SCHULZ`); ``paper``
the ``looped_gd`` kind's defaults at d = 8, κ_Σ ∈ {1, 4, 16} (64 prompts, 1500 loops), the reference
curves at 7 k with 8000 prompts of 16 queries, and Newton–Schulz's defaults (16 matrices per κ);
``notebooks/regression.py`` draws the paper figure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.figures.regression import write_figures
from loopbound.stages.regression_report import newton_schulz_report, reference_report, sweep_legend, sweep_report
from loopbound.stages.regression_rows import regression_rows, summary_line
from loopbound.stages.report import StageContext, StageReport
from loopbound.sweep import Store, SweepConfig, compute

__all__ = [
    "STAGE_SWEEP",
    "STAGE_REFERENCE",
    "STAGE_NEWTON_SCHULZ",
    "RegressionSettings",
    "REGRESSION_SCALES",
    "sweep_config",
    "regression_sweeps",
    "regression_stage",
    "regression_report",
]

STAGE_SWEEP: dict[str, Any] = dict(
    ratio=(1, 2, 4, 8), kappa=(1.0, 8.0), rule=("max", "optimal"), instances=32, loops=500
)
"""The ``looped_gd`` cells at d = 4: n/d ∈ {1, 2, 4, 8}, κ_Σ ∈ {1, 8}, both step rules, 32 prompts, 500 loops."""
STAGE_REFERENCE: dict[str, Any] = dict(ks=(5, 10, 20, 40), prompts=2000, queries=8)
"""The reference curves at d = 20: 2000 prompts of 8 queries per k."""
STAGE_NEWTON_SCHULZ: dict[str, Any] = dict(m=8, kappas=(10.0, 100.0, 1000.0), batch=8, loops=30)
"""Newton–Schulz on 8×8 matrices, 8 per κ."""


@dataclass(frozen=True)
class RegressionSettings:
    """The stage's size at one scale: the three sweeps' parameter tables, d of the looped-GD cells
    and d of the reference curves."""

    sweep: Mapping[str, Any]
    reference: Mapping[str, Any]
    newton_schulz: Mapping[str, Any]
    d: int = 4
    reference_d: int = 20


REGRESSION_SCALES: dict[str, RegressionSettings] = {
    "smoke": RegressionSettings(
        dict(ratio=(2, 4), kappa=(1.0,), rule=("max", "optimal"), instances=8, loops=200),
        dict(ks=(5, 10), prompts=200, queries=4),
        dict(m=4, kappas=(10.0, 100.0), batch=2, loops=20),
    ),
    "default": RegressionSettings(STAGE_SWEEP, STAGE_REFERENCE, STAGE_NEWTON_SCHULZ),
    "paper": RegressionSettings(
        dict(ratio=(1, 2, 4, 8), kappa=(1.0, 4.0, 16.0), rule=("max", "optimal"), instances=64, loops=1500),
        dict(ks=(5, 10, 20, 30, 40, 60, 80), prompts=8000, queries=16),
        dict(m=8, kappas=(10.0, 100.0, 1000.0), batch=16, loops=30),
        d=8,
    ),
}
"""Per scale: the sweeps' parameters and dimensions."""


def sweep_config(
    cell: str, params: Mapping[str, Any], *, seed: int, d: int | None = None, device: str = "cpu"
) -> SweepConfig:
    """A one-kind sweep built in code: ``cell`` with its ``params`` table, dimension ``d`` (for
    kinds that use it), one seed."""
    return SweepConfig(
        name=f"regression-{cell}",
        cell=cell,
        d=() if d is None else (d,),
        seeds=(seed,),
        device=device,
        params=tuple(params.items()),
    )


def regression_sweeps(
    seed: int, *, d: int = 4, reference_d: int = 20, settings: RegressionSettings | None = None
) -> tuple[SweepConfig, SweepConfig, SweepConfig]:
    """The stage's three sweeps: looped GD, the reference curves and Newton–Schulz (``settings``:
    a scale's, else the default tables at ``d`` and ``reference_d``)."""
    settings = settings or RegressionSettings(STAGE_SWEEP, STAGE_REFERENCE, STAGE_NEWTON_SCHULZ, d, reference_d)
    return (
        sweep_config("looped_gd", settings.sweep, seed=seed, d=settings.d),
        sweep_config("reference_curves", settings.reference, seed=seed, d=settings.reference_d),
        sweep_config("newton_schulz", settings.newton_schulz, seed=seed),
    )


def regression_stage(out: Path, seed: int) -> list[str]:
    """Run the small regression suite with ``seed`` at the default scale; returns the report lines."""
    return list(regression_report(StageContext(out=out, seed=seed)).lines)


def regression_report(context: StageContext) -> StageReport:
    """Run the regression suite at the context's scale; returns lines, verdict rows and figures."""
    started = time.perf_counter()
    out, seed = context.out, context.seed
    folder = out / "regression"
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder)
    looped, reference_config, newton_config = regression_sweeps(seed, settings=REGRESSION_SCALES[context.scale])
    context.progress("regression: looped gradient descent cells")
    sweep = compute(looped, store=store)
    context.progress("regression: reference curves and Newton–Schulz")
    [reference] = compute(reference_config, store=store)
    [newton_schulz] = compute(newton_config, store=store)
    write_text_atomic(folder / "reference.json", json.dumps(reference.to_record()))
    write_text_atomic(folder / "newton_schulz.json", json.dumps(newton_schulz.to_record()))
    figures = write_figures(out, sweep, reference, newton_schulz)
    c = sweep[0].config
    legend = sweep_legend(c)
    lines = [
        f"in-context regression by looped linear attention (looped GD at d={c.d}, {c.instances} prompts per cell, "
        f"{c.loops} loops; reference curves at d={reference.config.d}; seed {seed})",
        "  looped GD vs the bound |ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖ and the fitted log-error slope vs log ρ "
        f"(median over prompts, {c.level:.0%} bootstrap interval; window: subdominant modes decayed {1 / c.transient:g}×):",
        *sweep_report(sweep),
        *legend,
        summary_line(sweep),
        f"  reference curves at d={reference.config.d}, error/d (Monte Carlo, {reference.config.prompts} prompts × "
        f"{reference.config.queries} queries; averaging and one-step GD predicted by the transformer with 1 loop):",
        *reference_report(reference),
        f"  {sum(p.agrees for p in reference.points)} of {len(reference.points)} points agree at family level "
        f"{reference.config.family_level}",
        "  Newton–Schulz as a looped linear-attention transformer: ‖I − AX_t‖₂ vs ρ₀^(2^t), loops to ε:",
        *newton_schulz_report(newton_schulz),
        f"  records: {folder}   figures: {', '.join(str(p) for p in figures)}   ({time.perf_counter() - started:.1f} s)",
    ]
    pngs = tuple(Path(p) for p in figures if Path(p).suffix == ".png")
    rows = regression_rows(sweep, reference, newton_schulz)
    return StageReport("regression", tuple(lines), rows, pngs, notes=tuple(line.strip() for line in legend))
