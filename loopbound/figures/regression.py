"""Figures of the in-context regression experiments (results of the ``looped_gd``,
``reference_curves`` and ``newton_schulz`` cell kinds of :mod:`loopbound.sweep.kinds` in, axes out;
CONTRIBUTING.md).

- :func:`plot_error_curves`: normalised error against loops per sweep cell, with the bound ρ^r;
- :func:`plot_slopes`: fitted slope / log ρ per cell with its bootstrap interval, against κ(H);
- :func:`plot_loops_to_epsilon`: loops to ε against κ(H) with the κ-form bounds;
- :func:`plot_reference_curves`: error/d against k, Monte Carlo against the closed forms;
- :func:`plot_newton_schulz`: ‖I − AX_t‖₂ against loops with ρ₀^{2^t};
- :func:`write_figures`: the two figures of the run stage, PDF and PNG, written atomically.

Each plot function takes results and ``ax`` and returns the axes: the kinds' typed results
(:class:`~loopbound.sweep.kinds.looped_gd_result.LoopedGDResult`,
:class:`~loopbound.sweep.kinds.reference.ReferenceResult`,
:class:`~loopbound.sweep.kinds.newton_schulz.NewtonSchulzResult`) or their JSON records, read with
``from_record``. matplotlib is imported on first use, so the experiments run without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from loopbound.figures.save import save_figure
from loopbound.sweep.kinds.looped_gd_result import LoopedGDResult
from loopbound.sweep.kinds.newton_schulz import NewtonSchulzResult
from loopbound.sweep.kinds.reference import ReferenceResult
from loopbound.theory.bounds.regression import GD_LOOPS_KAPPA_MAX_STEP, GD_LOOPS_KAPPA_OPTIMAL_STEP, REFERENCE_CURVES

__all__ = [
    "plot_error_curves",
    "plot_slopes",
    "plot_loops_to_epsilon",
    "plot_reference_curves",
    "plot_newton_schulz",
    "write_figures",
]

RULE_COLOURS = {"max": "C0", "optimal": "C3"}
RULE_LABELS = {"max": "η = 1/λ_max", "optimal": "η = 2/(λ_max+λ_min)"}
CURVE_COLOURS = {"least_squares": "C2", "averaging": "C1", "one_step_gd": "C4"}
CURVE_LABELS = {
    "least_squares": "least squares 1 − k/d",
    "averaging": "averaging (d+1)/k",
    "one_step_gd": "one-step GD (d+1)/(k+d+1)",
}


LoopedGD = LoopedGDResult | Mapping[str, Any]
"""A ``looped_gd`` result, typed or as its JSON record."""


def _looped(records: Sequence[LoopedGD]) -> list[LoopedGDResult]:
    return [r if isinstance(r, LoopedGDResult) else LoopedGDResult.from_record(r) for r in records]


def _reference(record: ReferenceResult | Mapping[str, Any]) -> ReferenceResult:
    return record if isinstance(record, ReferenceResult) else ReferenceResult.from_record(record)


def _newton_schulz(record: NewtonSchulzResult | Mapping[str, Any]) -> NewtonSchulzResult:
    return record if isinstance(record, NewtonSchulzResult) else NewtonSchulzResult.from_record(record)


def _axes(ax, size=(5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_error_curves(records: Sequence[LoopedGD], *, ax=None):
    """Normalised error |ŷ_r − ŷ_LS|/(‖x_q‖‖w_LS‖) against loops for the given cells: median
    (solid) and 10–90% band over prompts, and the median bound ρ^r (dashed), one colour per rule.
    Even loops only: with η = 2/(λ_max + λ_min) the error alternates exactly between
    |c₁ + c₂|ρ^r and |c₁ − c₂|ρ^r (1 − ηλ_max = −ρ), which would draw as a thick zigzag."""
    ax = _axes(ax)
    for record in _looped(records):
        rule = record.config.rule
        colour = RULE_COLOURS.get(rule)
        loops = np.asarray(record.curve.loops)
        even = loops % 2 == 0
        loops = loops[even]
        quantiles = record.curve.error
        error = {
            name: np.asarray(values)[even]
            for name, values in (("q10", quantiles.q10), ("median", quantiles.median), ("q90", quantiles.q90))
        }
        floor = 1e-17  # zero errors (exact convergence) would vanish from log axes
        ax.fill_between(
            loops,
            np.maximum(error["q10"], floor),
            np.maximum(error["q90"], floor),
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
        ax.plot(
            loops,
            np.maximum(error["median"], floor),
            "-",
            color=colour,
            linewidth=1.2,
            label=f"{RULE_LABELS.get(rule, rule)} measured",
        )
        ax.plot(loops, np.asarray(record.curve.bound_median)[even], "--", color=colour, linewidth=1, label="bound ρ^r")
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 2)
    ax.set_xlabel("loops r")
    ax.set_ylabel("|ŷ_r − ŷ_LS| / (‖x_q‖‖w_LS‖)")
    ax.grid(True, which="major", alpha=0.3)
    return ax


def plot_slopes(records: Sequence[LoopedGD], *, ax=None):
    """Median fitted slope / log ρ per cell with its bootstrap interval, against the cell's
    median κ(H); 1 is the theorem's asymptotic value."""
    ax = _axes(ax)
    results = _looped(records)
    for rule in RULE_COLOURS:
        chosen = [r for r in results if r.config.rule == rule and r.slope.ratio is not None]
        if not chosen:
            continue
        intervals = [r.slope.ratio for r in chosen if r.slope.ratio is not None]
        x = np.array([r.kappa_H.median for r in chosen])
        mid = np.array([ratio["estimate"] for ratio in intervals])
        low = np.array([ratio["lower"] for ratio in intervals])
        high = np.array([ratio["upper"] for ratio in intervals])
        ax.errorbar(
            x,
            mid - 1,
            yerr=[mid - low, high - mid],
            fmt="o",
            color=RULE_COLOURS[rule],
            markersize=4,
            capsize=2,
            label=RULE_LABELS[rule],
        )
    ax.axhline(0.0, color="k", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-8)
    ax.set_xlabel("median κ(H) of the cell")
    ax.set_ylabel("median slope/log ρ − 1 (bootstrap interval)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_loops_to_epsilon(records: Sequence[LoopedGD], *, ax=None):
    """Per prompt: loops until the normalised error stays ≤ ε against κ(H), with the bounds
    κ·ln(1/ε) (η = 1/λ_max) and (κ/2)·ln(1/ε) (η = 2/(λ_max+λ_min)) as lines."""
    ax = _axes(ax)
    epsilon = None
    kappas: list[float] = []
    results = _looped(records)
    for rule in RULE_COLOURS:
        xs, ys = [], []
        for record in results:
            if record.config.rule != rule:
                continue
            epsilon = record.loops_to_epsilon.epsilon
            for kappa, loops in zip(record.instances.kappa_H, record.instances.loops_measured):
                if loops is not None and loops > 0:
                    xs.append(kappa)
                    ys.append(loops)
        if xs:
            ax.plot(
                xs, ys, ".", color=RULE_COLOURS[rule], markersize=3, alpha=0.6, label=f"{RULE_LABELS[rule]} measured"
            )
            kappas.extend(xs)
    if kappas and epsilon is not None:
        grid = np.geomspace(min(kappas), max(kappas), 50)
        ax.plot(
            grid,
            GD_LOOPS_KAPPA_MAX_STEP.evaluate(kappa=grid, epsilon=epsilon),
            "-",
            color=RULE_COLOURS["max"],
            linewidth=1,
            label="κ ln(1/ε)",
        )
        ax.plot(
            grid,
            GD_LOOPS_KAPPA_OPTIMAL_STEP.evaluate(kappa=grid, epsilon=epsilon),
            "-",
            color=RULE_COLOURS["optimal"],
            linewidth=1,
            label="(κ/2) ln(1/ε)",
        )
        ax.set_title(f"ε = {epsilon:g}", fontsize="small")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log range overlap
    ax.set_xlabel("κ(H)")
    ax.set_ylabel("loops to reach ε")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_reference_curves(record: ReferenceResult | Mapping[str, Any], *, ax=None):
    """error/d against k: closed forms (lines) and Monte Carlo means with their intervals."""
    ax = _axes(ax)
    result = _reference(record)
    d = result.config.d
    ks = sorted({p.k for p in result.points})
    grid = np.linspace(min(ks), max(ks), 200)
    for curve, bound in REFERENCE_CURVES.items():
        points = [p for p in result.points if p.curve == curve]
        if not points:
            continue
        colour = CURVE_COLOURS.get(curve)
        ax.plot(
            grid,
            np.asarray(bound.evaluate(n=grid, d=d), dtype=float) + 0 * grid,
            "-",
            color=colour,
            linewidth=1,
            label=CURVE_LABELS.get(curve, curve),
        )
        k = np.array([p.k for p in points])
        mean = np.array([p.mean for p in points])
        ax.errorbar(
            k,
            mean,
            yerr=[mean - np.array([p.lower for p in points]), np.array([p.upper for p in points]) - mean],
            fmt="o",
            color=colour,
            markersize=4,
            capsize=2,
        )
    ax.set_xlabel("in-context examples k")
    ax.set_ylabel("error / d")
    ax.set_ylim(-0.05, 1.5)
    ax.set_title(
        f"d = {d}, Monte Carlo (points, {result.config.level:.0%} intervals) vs closed forms", fontsize="small"
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_newton_schulz(record: NewtonSchulzResult | Mapping[str, Any], *, ax=None):
    """‖I − AX_t‖₂ (median over the batch) against loops with the bound ρ₀^{2^t}."""
    ax = _axes(ax)
    for index, row in enumerate(_newton_schulz(record).rows):
        colour = f"C{index % 10}"
        t = np.arange(len(row.residual_median))
        ax.plot(
            t,
            np.maximum(row.residual_median, 1e-17),
            "o-",
            color=colour,
            markersize=3,
            linewidth=1,
            label=f"κ={row.kappa:g}, X₀={'αI' if row.init == 'identity' else 'αAᵀ'}",
        )
        ax.plot(t, np.maximum(row.bound, 1e-17), "--", color=colour, linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylim(1e-17, 2)
    ax.set_xlabel("loops t")
    ax.set_ylabel("‖I − A X_t‖₂ (dashed: ρ₀^(2^t))")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="xx-small")
    return ax


def write_figures(
    out: str | Path,
    sweep: Sequence[LoopedGD],
    reference: ReferenceResult | Mapping[str, Any] | None = None,
    newton_schulz: NewtonSchulzResult | Mapping[str, Any] | None = None,
    *,
    stem: str = "regression",
) -> list[Path]:
    """Write ``{stem}_errors``, ``{stem}_summary`` (slopes, loops to ε, reference curves,
    Newton–Schulz) as PDF and PNG, atomically; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sweep = _looped(sweep)
    ratios = sorted({r.config.ratio for r in sweep})
    kappas = sorted({r.config.kappa for r in sweep})
    figure, axes = plt.subplots(
        len(kappas), len(ratios), figsize=(3.6 * len(ratios), 2.9 * len(kappas)), squeeze=False, sharey=True
    )
    for i, kappa in enumerate(kappas):
        for j, ratio in enumerate(ratios):
            ax = axes[i, j]
            plot_error_curves([r for r in sweep if r.config.ratio == ratio and r.config.kappa == kappa], ax=ax)
            ax.set_title(f"n/d = {ratio}, κ_Σ = {kappa:g}", fontsize="small")
            if i or j:
                ax.set_ylabel("")
    axes[0, 0].legend(fontsize="xx-small", loc="lower left")
    d = sweep[0].config.d if sweep else "?"
    figure.suptitle(
        f"Looped linear attention = GD (d = {d}): normalised error, median and 10–90% over prompts, against ρ^r"
    )
    figure.tight_layout()
    paths = [save_figure(figure, out / f"{stem}_errors.{suffix}", close=False) for suffix in ("pdf", "png")]
    plt.close(figure)
    panels = 2 + (reference is not None) + (newton_schulz is not None)
    figure, axes = plt.subplots(1, panels, figsize=(4.8 * panels, 4.0), squeeze=False)
    plot_slopes(sweep, ax=axes[0, 0])
    plot_loops_to_epsilon(sweep, ax=axes[0, 1])
    index = 2
    if reference is not None:
        plot_reference_curves(reference, ax=axes[0, index])
        index += 1
    if newton_schulz is not None:
        plot_newton_schulz(newton_schulz, ax=axes[0, index])
    figure.tight_layout()
    paths += [save_figure(figure, out / f"{stem}_summary.{suffix}", close=False) for suffix in ("pdf", "png")]
    plt.close(figure)
    return paths
