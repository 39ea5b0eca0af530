"""The ``regression`` stage of ``loopbound run``: in-context regression by looped linear attention
at a small size (well under a minute on two CPU cores), with a short report of measured numbers.

Three sweeps of the sweep engine, computed in this process (:func:`loopbound.sweep.compute`) into
one results store ``regression/`` (``records/<hash>.json``, reused on a rerun): the ``looped_gd``
cells, the ``reference_curves`` and the ``newton_schulz`` cell (:mod:`loopbound.sweep.kinds`).
Also written under ``out``: ``regression/reference.json``, ``regression/newton_schulz.json`` and
the figures ``regression_errors.{pdf,png}``, ``regression_summary.{pdf,png}``. The full-size sweep
is the ``looped_gd`` kind's defaults at d = 8, κ_Σ ∈ {1, 4, 16} (1500 loops);
``notebooks/regression.py`` draws the paper figure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.figures.regression import write_figures
from loopbound.stages.regression_report import newton_schulz_report, reference_report, sweep_report
from loopbound.sweep import Store, SweepConfig, compute

__all__ = ["STAGE_SWEEP", "STAGE_REFERENCE", "STAGE_NEWTON_SCHULZ", "regression_sweeps", "regression_stage"]

STAGE_SWEEP: dict[str, Any] = dict(
    ratio=(1, 2, 4, 8), kappa=(1.0, 8.0), rule=("max", "optimal"), instances=32, loops=500
)
"""The ``looped_gd`` cells at d = 4: n/d ∈ {1, 2, 4, 8}, κ_Σ ∈ {1, 8}, both step rules, 32 prompts, 500 loops."""
STAGE_REFERENCE: dict[str, Any] = dict(ks=(5, 10, 20, 40), prompts=2000, queries=8)
"""The reference curves at d = 20: 2000 prompts of 8 queries per k."""
STAGE_NEWTON_SCHULZ: dict[str, Any] = dict(m=8, kappas=(10.0, 100.0, 1000.0), batch=8, loops=30)
"""Newton–Schulz on 8×8 matrices, 8 per κ."""


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


def regression_sweeps(seed: int, *, d: int = 4, reference_d: int = 20) -> tuple[SweepConfig, SweepConfig, SweepConfig]:
    """The stage's three sweeps: looped GD, the reference curves and Newton–Schulz."""
    return (
        sweep_config("looped_gd", STAGE_SWEEP, seed=seed, d=d),
        sweep_config("reference_curves", STAGE_REFERENCE, seed=seed, d=reference_d),
        sweep_config("newton_schulz", STAGE_NEWTON_SCHULZ, seed=seed),
    )


def regression_stage(out: Path, seed: int) -> list[str]:
    """Run the small regression suite with ``seed``; returns the report lines."""
    started = time.perf_counter()
    folder = Path(out) / "regression"
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder)
    looped, reference_config, newton_config = regression_sweeps(seed)
    sweep = compute(looped, store=store)
    [reference] = compute(reference_config, store=store)
    [newton_schulz] = compute(newton_config, store=store)
    write_text_atomic(folder / "reference.json", json.dumps(reference.to_record()))
    write_text_atomic(folder / "newton_schulz.json", json.dumps(newton_schulz.to_record()))
    figures = write_figures(out, sweep, reference, newton_schulz)
    fitted = [r for r in sweep if r.slope.ratio is not None]
    contained = sum(bool(r.slope.contains_one) for r in fitted)
    violations = sum(r.bound_check.violations for r in sweep)
    worst = max(r.bound_check.max_ratio for r in sweep)
    agree = sum(p.agrees for p in reference.points)
    c = sweep[0].config
    return [
        f"in-context regression by looped linear attention (d={c.d}, {c.instances} prompts per cell, {c.loops} loops, seed {seed})",
        "  looped GD vs the bound |ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖ and the fitted log-error slope vs log ρ "
        f"(median over prompts, {c.level:.0%} bootstrap interval; window: subdominant modes decayed {1 / c.transient:g}×):",
        *sweep_report(sweep),
        f"  bound: {violations} violations, worst measured/bound {worst:.4f}; slope/log ρ interval contains 1 in "
        f"{contained} of {len(fitted)} fitted cells; loops to ε={c.epsilon:g} ≤ bound in every prompt: "
        f"{all(r.loops_to_epsilon.measured_within_bound for r in sweep)}",
        f"  reference curves, error/d (Monte Carlo, {reference.config.prompts} prompts × {reference.config.queries} queries; "
        f"averaging and one-step GD predicted by the transformer with 1 loop):",
        *reference_report(reference),
        f"  {agree} of {len(reference.points)} points agree at family level {reference.config.family_level}",
        "  Newton–Schulz as a looped linear-attention transformer: ‖I − AX_t‖₂ vs ρ₀^(2^t), loops to ε:",
        *newton_schulz_report(newton_schulz),
        f"  records: {folder}   figures: {', '.join(str(p) for p in figures)}   ({time.perf_counter() - started:.1f} s)",
    ]
