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

from loopbound.figures.save import save_pdf_png
from loopbound.figures.style import CYCLE, PALETTE, TWO_COLUMN, style
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

RULE_COLOURS = {"max": PALETTE["blue"], "optimal": PALETTE["vermillion"]}
RULE_MARKERS: dict[str, dict[str, Any]] = {
    "max": {"marker": "o", "markersize": 7, "markerfacecolor": "none"},
    "optimal": {"marker": "o", "markersize": 3.5},
}
"""Both rules see the same prompts (the same κ(H)): a large hollow and a small filled marker."""
RULE_LABELS = {"max": "η = 1/λ_max", "optimal": "η = 2/(λ_max+λ_min)"}
CURVE_COLOURS = {"least_squares": PALETTE["green"], "averaging": PALETTE["orange"], "one_step_gd": PALETTE["purple"]}
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


def _axes(ax, size=(3.25, 2.4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _bound_quantiles(record: LoopedGDResult, loops: np.ndarray) -> dict[str, np.ndarray]:
    """The per-prompt bound ρ_b^r (normalised: |ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖) across the cell's
    prompts b: its 10%, 50% and 90% quantiles at each r, the same quantiles the error is drawn with."""
    rho = np.asarray(record.instances.rho, dtype=float)
    q10, q50, q90 = np.quantile(rho[None, :] ** loops[:, None], [0.1, 0.5, 0.9], axis=1)
    return {"q10": q10, "median": q50, "q90": q90}


def plot_error_curves(records: Sequence[LoopedGD], *, ax=None):
    """Normalised error |ŷ_r − ŷ_LS|/(‖x_q‖‖w_LS‖) against loops for the given cells, one colour
    per rule: its median (solid) and 10–90% band over prompts, and the per-prompt bound ρ^r over
    the same prompts: median (dashed) and 10% / 90% quantiles (dotted). A quantile of the error is
    compared with the same quantile of the bound; the record's own check (every prompt's error
    against its own bound) is in its ``bound_check``. Even loops only: with η = 2/(λ_max + λ_min)
    the error alternates exactly between |c₁ + c₂|ρ^r and |c₁ − c₂|ρ^r (1 − ηλ_max = −ρ), which
    would draw as a thick zigzag."""
    ax = _axes(ax)
    floor = 1e-17  # zero errors (exact convergence) would vanish from log axes
    for record in _looped(records):
        rule = record.config.rule
        colour = RULE_COLOURS.get(rule)
        loops = np.asarray(record.curve.loops)
        even = loops % 2 == 0
        loops = loops[even]
        quantiles = record.curve.error
        error = {
            name: np.maximum(np.asarray(values)[even], floor)
            for name, values in (("q10", quantiles.q10), ("median", quantiles.median), ("q90", quantiles.q90))
        }
        bound = _bound_quantiles(record, loops)
        ax.fill_between(loops, error["q10"], error["q90"], color=colour, alpha=0.2, linewidth=0)
        ax.plot(loops, error["median"], "-", color=colour, label=f"{RULE_LABELS.get(rule, rule)}: error, median")
        ax.plot(loops, bound["median"], "--", color=colour, linewidth=0.9, label="bound ρ$^r$, median over prompts")
        for name in ("q10", "q90"):
            ax.plot(loops, bound[name], ":", color=colour, linewidth=0.9, label="bound ρ$^r$, 10% and 90% over prompts")
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 2)
    ax.set_xlabel("loops r")
    ax.set_ylabel("|ŷ_r − ŷ_LS| / (‖x_q‖‖w_LS‖)")
    ax.grid(True, which="major")
    return ax


NOISE = 1e-4
"""|slope/log ρ − 1| below this is agreement to the accuracy of the fit (float64 errors near 1e-16
fitted over a few decades), drawn as agreement rather than magnified."""


def _log_x_ticks(ax: Any) -> None:
    """A log x-axis labelled 1, 2, 5 × powers of ten in plain numbers (a short range stays legible)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_slopes(records: Sequence[LoopedGD], *, ax=None):
    """Median fitted slope / log ρ per cell with its bootstrap interval, against the cell's median
    κ(H), on a linear axis around 1 (the theorem's asymptotic value). Deviations below
    :data:`NOISE` are floating-point noise: the panel says how large the largest one is instead of
    magnifying it on a symlog axis."""
    ax = _axes(ax)
    results = _looped(records)
    deviations: list[float] = []
    for rule in RULE_COLOURS:
        chosen = [r for r in results if r.config.rule == rule and r.slope.ratio is not None]
        if not chosen:
            continue
        intervals = [r.slope.ratio for r in chosen if r.slope.ratio is not None]
        x = np.array([r.kappa_H.median for r in chosen])
        mid = np.array([ratio["estimate"] for ratio in intervals])
        low = np.array([ratio["lower"] for ratio in intervals])
        high = np.array([ratio["upper"] for ratio in intervals])
        deviations += list(np.abs(np.concatenate([low, high]) - 1))
        ax.errorbar(
            x,
            mid,
            yerr=[mid - low, high - mid],
            color=RULE_COLOURS[rule],
            label=RULE_LABELS[rule],
            linestyle="none",
            **RULE_MARKERS.get(rule, {"marker": "o"}),
        )
    ax.axhline(1.0, color="k", linewidth=0.6)
    _log_x_ticks(ax)
    worst = max(deviations, default=0.0)
    span = max(0.1, 1.2 * worst)
    ax.set_ylim(1 - span, 1 + span)
    if deviations:
        note = f"every interval within {worst:.1e} of 1" + (" (floating-point noise)" if worst < NOISE else "")
        ax.text(0.03, 0.05, note, transform=ax.transAxes, fontsize="small")
    ax.set_xlabel("median κ(H) of the cell")
    ax.set_ylabel("slope / log ρ (bootstrap interval)")
    ax.grid(True)
    ax.legend(loc="upper right")
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
            ax.plot(xs, ys, ".", color=RULE_COLOURS[rule], markersize=3, alpha=0.6, label=RULE_LABELS[rule])
            kappas.extend(xs)
    if kappas and epsilon is not None:
        grid = np.geomspace(min(kappas), max(kappas), 50)
        ax.plot(
            grid,
            GD_LOOPS_KAPPA_MAX_STEP.evaluate(kappa=grid, epsilon=epsilon),
            "-",
            color=RULE_COLOURS["max"],
            linewidth=1,
            label="bound κ ln(1/ε)",
        )
        ax.plot(
            grid,
            GD_LOOPS_KAPPA_OPTIMAL_STEP.evaluate(kappa=grid, epsilon=epsilon),
            "-",
            color=RULE_COLOURS["optimal"],
            linewidth=1,
            label="bound (κ/2) ln(1/ε)",
        )
        ax.set_title(f"ε = {epsilon:g}")
    ax.set_yscale("log")
    _log_x_ticks(ax)
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 6)  # room for the legend above the points
    ax.set_xlabel("κ(H)")
    ax.set_ylabel("loops to reach ε")
    ax.grid(True, which="major")
    ax.legend(loc="upper left")
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
    ax.errorbar(
        [], [], yerr=[], fmt="o", color="grey", markersize=4, label=f"Monte Carlo, {result.config.level:.0%} interval"
    )
    ax.set_xlabel("in-context examples k")
    ax.set_ylabel("error / d")
    top = ax.get_ylim()[1]  # every curve whole (the averaging error (d+1)/k is largest at the smallest k),
    ax.set_ylim(-0.03 * top, 1.6 * top)  # with room for the legend above it
    ax.set_title(f"d = {d}: Monte Carlo (points, {result.config.level:.0%} intervals) and closed forms")
    ax.grid(True)
    ax.legend(loc="upper right")
    return ax


def plot_newton_schulz(record: NewtonSchulzResult | Mapping[str, Any], *, ax=None):
    """‖I − AX_t‖₂ (median over the batch) against loops with the bound ρ₀^{2^t}."""
    ax = _axes(ax)
    for index, row in enumerate(_newton_schulz(record).rows):
        colour = CYCLE[index % len(CYCLE)]
        t = np.arange(len(row.residual_median))
        ax.plot(
            t,
            np.maximum(row.residual_median, 1e-17),
            "o-",
            color=colour,
            markersize=2.5,
            linewidth=1,
            label=f"κ={row.kappa:g}, X₀={'αI' if row.init == 'identity' else 'αAᵀ'}",
        )
        ax.plot(t, np.maximum(row.bound, 1e-17), "--", color=colour, linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylim(1e-17, 2)
    ax.set_xlabel("loops t")
    ax.set_ylabel("‖I − A X_t‖₂  (dashed: ρ$_0^{2^t}$)")
    ax.grid(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax


def _errors_legend(figure: Any, rules: Sequence[str]) -> None:
    """One legend below the panels: a colour per rule, a line style per quantity."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=RULE_COLOURS.get(rule), label=RULE_LABELS.get(rule, rule)) for rule in rules]
    handles += [
        Line2D([], [], color="grey", label="error, median over prompts"),
        Patch(color="grey", alpha=0.3, linewidth=0, label="error, 10–90% over prompts"),
        Line2D([], [], color="grey", linestyle="--", linewidth=0.9, label="bound ρ$^r$, median over prompts"),
        Line2D([], [], color="grey", linestyle=":", linewidth=0.9, label="bound ρ$^r$, 10% and 90% over prompts"),
    ]
    figure.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)


def _errors_figure(sweep: list[LoopedGDResult]):
    """Error against loops, one panel per (κ_Σ, n/d), one legend below, a title."""
    import matplotlib.pyplot as plt

    ratios = sorted({r.config.ratio for r in sweep})
    kappas = sorted({r.config.kappa for r in sweep})
    columns = max(1, len(ratios))
    figure, axes = plt.subplots(
        len(kappas),
        columns,
        figsize=(TWO_COLUMN, 1.55 * len(kappas) + 1.0),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    for i, kappa in enumerate(kappas):
        for j, ratio in enumerate(ratios):
            ax = axes[i, j]
            plot_error_curves([r for r in sweep if r.config.ratio == ratio and r.config.kappa == kappa], ax=ax)
            ax.set_title(f"n/d = {ratio}, κ_Σ = {kappa:g}")
            ax.label_outer()
    for ax in axes.flat:
        ax.set_ylabel("")
    figure.supylabel("|ŷ_r − ŷ_LS| / (‖x_q‖ ‖w_LS‖)", fontsize="medium")
    _errors_legend(figure, sorted({r.config.rule for r in sweep}))
    d = sweep[0].config.d if sweep else "?"
    checked = sum(r.bound_check.points for r in sweep)
    violations = sum(r.bound_check.violations for r in sweep)
    figure.suptitle(
        f"Looped linear attention = gradient descent (d = {d}): normalised error against the bound ρ$^r$\n"
        f"error and bound: median and 10–90% over prompts; each prompt against its own bound: "
        f"{violations} violation(s) in {checked} points"
    )
    return figure


def _summary_figure(sweep, reference, newton_schulz):
    """Slopes, loops to ε, and (if given) the reference curves and Newton–Schulz, two per row."""
    import matplotlib.pyplot as plt

    panels = 2 + (reference is not None) + (newton_schulz is not None)
    rows = -(-panels // 2)
    figure, axes = plt.subplots(rows, 2, figsize=(TWO_COLUMN, 2.6 * rows + 0.3), squeeze=False, layout="constrained")
    flat = list(axes.flat)
    plot_slopes(sweep, ax=flat[0])
    flat[0].set_title("(a) fitted slope / log ρ against κ(H)")
    plot_loops_to_epsilon(sweep, ax=flat[1])
    flat[1].set_title(f"(b) loops to reach ε against κ(H), {flat[1].get_title()}")
    index = 2
    if reference is not None:
        plot_reference_curves(reference, ax=flat[index])
        flat[index].set_title(f"(c) reference curves, d = {_reference(reference).config.d}")
        index += 1
    if newton_schulz is not None:
        plot_newton_schulz(newton_schulz, ax=flat[index])
        flat[index].set_title(f"({'abcd'[index]}) Newton–Schulz, median over the batch")
        index += 1
    for ax in flat[index:]:
        ax.set_visible(False)
    figure.suptitle("In-context regression by looped transformers: rates, loop counts and reference curves")
    return figure


def write_figures(
    out: str | Path,
    sweep: Sequence[LoopedGD],
    reference: ReferenceResult | Mapping[str, Any] | None = None,
    newton_schulz: NewtonSchulzResult | Mapping[str, Any] | None = None,
    *,
    stem: str = "regression",
) -> list[Path]:
    """Write ``{stem}_errors`` (error against loops per cell) and ``{stem}_summary`` (slopes,
    loops to ε, reference curves, Newton–Schulz) as PDF and PNG, two columns of a paper wide,
    atomically; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sweep = _looped(sweep)
    with style():
        paths = save_pdf_png(_errors_figure(sweep), out / f"{stem}_errors")
        paths += save_pdf_png(_summary_figure(sweep, reference, newton_schulz), out / f"{stem}_summary")
    return paths
