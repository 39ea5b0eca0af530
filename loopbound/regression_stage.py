"""The ``regression`` stage of ``loopbound run``: in-context regression by looped linear attention
at a small size (well under a minute on two CPU cores), with a short report of measured numbers.

Writes under ``out``: ``regression/records/<hash>.json`` (one record per sweep cell, a
``loopbound sweep`` results store, reused on a rerun), ``regression/reference.json``, ``regression/newton_schulz.json`` and the figures
``regression_errors.{pdf,png}``, ``regression_summary.{pdf,png}``. The full-size sweep is
``loopbound.regression_experiment.SweepConfig()`` (d = 8, κ_Σ ∈ {1, 4, 16}, 1500 loops);
``notebooks/regression.py`` draws the paper figure.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from loopbound.atomic import write_text_atomic
from loopbound.regression_experiment import (
    NewtonSchulzConfig,
    ReferenceConfig,
    SweepConfig,
    newton_schulz_report,
    reference_report,
    run_newton_schulz,
    run_reference,
    run_sweep,
    sweep_report,
)
from loopbound.regression_plots import write_figures

#: The stage's small sizes: d = 4, n/d ∈ {1, 2, 4, 8}, κ_Σ ∈ {1, 8}, both step rules, 32 prompts,
#: 500 loops; reference curves at d = 20 with 2000 prompts of 8 queries; Newton–Schulz m = 8.
STAGE_SWEEP = dict(d=4, ratios=(1, 2, 4, 8), kappas=(1.0, 8.0), instances=32, loops=500)
STAGE_REFERENCE = dict(d=20, ks=(5, 10, 20, 40), prompts=2000, queries=8)
STAGE_NEWTON_SCHULZ = dict(m=8, kappas=(10.0, 100.0, 1000.0), batch=8, loops=30)


def regression_stage(out: Path, seed: int) -> list[str]:
    """Run the small regression suite with ``seed``; returns the report lines."""
    started = time.perf_counter()
    folder = Path(out) / "regression"
    folder.mkdir(parents=True, exist_ok=True)
    device = torch.device("cpu")
    sweep_config = SweepConfig(seed=seed, **STAGE_SWEEP)
    sweep = run_sweep(sweep_config, out=folder, device=device)
    reference = run_reference(ReferenceConfig(seed=seed, **STAGE_REFERENCE), device=device)
    newton_schulz = run_newton_schulz(NewtonSchulzConfig(seed=seed, **STAGE_NEWTON_SCHULZ), device=device)
    write_text_atomic(folder / "reference.json", json.dumps(reference))
    write_text_atomic(folder / "newton_schulz.json", json.dumps(newton_schulz))
    figures = write_figures(out, sweep, reference, newton_schulz)
    fitted = [r for r in sweep if r["slope"]["ratio"] is not None]
    contained = sum(bool(r["slope"]["contains_one"]) for r in fitted)
    violations = sum(r["bound_check"]["violations"] for r in sweep)
    worst = max(r["bound_check"]["max_ratio"] for r in sweep)
    agree = sum(p["agrees"] for p in reference["points"])
    c = sweep_config
    lines = [
        f"in-context regression by looped linear attention (d={c.d}, {c.instances} prompts per cell, {c.loops} loops, seed {seed})",
        "  looped GD vs the bound |ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖ and the fitted log-error slope vs log ρ "
        f"(median over prompts, {c.level:.0%} bootstrap interval; window: subdominant modes decayed {1 / c.transient:g}×):",
        *sweep_report(sweep),
        f"  bound: {violations} violations, worst measured/bound {worst:.4f}; slope/log ρ interval contains 1 in "
        f"{contained} of {len(fitted)} fitted cells; loops to ε={c.epsilon:g} ≤ bound in every prompt: "
        f"{all(r['loops_to_epsilon']['measured_within_bound'] for r in sweep)}",
        f"  reference curves, error/d (Monte Carlo, {reference['config']['prompts']} prompts × {reference['config']['queries']} queries; "
        f"averaging and one-step GD predicted by the transformer with 1 loop):",
        *reference_report(reference),
        f"  {agree} of {len(reference['points'])} points agree at family level {reference['config']['family_level']}",
        "  Newton–Schulz as a looped linear-attention transformer: ‖I − AX_t‖₂ vs ρ₀^(2^t), loops to ε:",
        *newton_schulz_report(newton_schulz),
        f"  records: {folder}   figures: {', '.join(str(p) for p in figures)}   ({time.perf_counter() - started:.1f} s)",
    ]
    return lines
