"""The ``approximation`` stage of ``loopbound run``: the universal construction's error against
loop count, held against Theorem 3.6 for the construction, at small size.

Cases: d = 1, N ∈ {1, 2}, the permutation-equivariant built-ins ``holder:alpha=0.5``,
``contextual_max`` and ``smooth``, with and without timestep scaling, p = 2. The loop budgets are
the construction's own loop counts for grids m = 2, 3, … (so each r uses its whole budget); the
unscaled variant also asks for the first grid whose bits float64 cannot hold, so the table shows
the precision wall as a refusal rather than hiding it. Each case is an ``approximation_curve``
cell of the sweep engine (:mod:`loopbound.sweep.kinds.approximation_curve`), computed in this
process (:func:`loopbound.sweep.compute`); their verify records (without timings) go to
``approximation.json``, the figure to ``approximation.pdf``/``.png``; the report lines are a
verdict table. A few seconds per case on one CPU core.

The cells compute with **one intra-op thread** (:func:`loopbound.theory.numerics.intra_op_threads`,
restored afterwards): their batches are small (≤ 8192 sequences of width ≤ 30), where torch's
multi-threaded matmuls gain little on an idle machine and lose much beside any other busy process
(docs/benchmarks.md, "Looped evaluation": 0.42× of one thread's throughput with 2 threads on a
2-core machine running one other process).

Scales (:func:`stage_settings`): ``smoke`` is one target at two or three grids per case and 256
points (seconds; no rate is fitted from so few r); ``default`` the module's ``STAGE_*`` settings
above; ``paper`` the default grids with four times the points in twice the scramblings (tighter
intervals).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.stages.report import StageContext, StageReport, VerdictRow
from loopbound.sweep import SweepConfig, compute
from loopbound.sweep.kinds.approximation import ApproximationResult, without_timings

__all__ = [
    "STAGE_TARGETS",
    "STAGE_GRIDS",
    "ApproximationSettings",
    "stage_settings",
    "approximation_sweep",
    "summary_line",
    "verdict_row",
    "approximation_stage",
    "approximation_report",
]

STAGE_TARGETS = ("holder:alpha=0.5", "contextual_max", "smooth")
STAGE_GRIDS = {  # (N, timestep) → grids m; the unscaled lists end with the first grid float64 refuses
    (1, False): (2, 3, 4, 5, 6, 7),
    (1, True): (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),  # enough r on the upper half for an interval
    (2, False): (2, 3, 4),
    (2, True): (2, 3, 4, 5, 6, 7, 8, 9, 10),
}
STAGE_SAMPLES = 2048
STAGE_SCRAMBLINGS = 8


def approximation_sweep(
    targets: tuple[str, ...],
    *,
    N: int,
    timestep: bool,
    loops: tuple[int, ...],
    seed: int,
    samples: int = STAGE_SAMPLES,
    scramblings: int = STAGE_SCRAMBLINGS,
    d: int = 1,
) -> SweepConfig:
    """The ``approximation_curve`` sweep of ``targets`` at one (d, N, variant): p = 2, on the CPU."""
    params = {"loops": loops, "timestep": timestep, "samples": samples, "scramblings": scramblings}
    return SweepConfig(
        name="approximation",
        cell="approximation_curve",
        targets=targets,
        d=(d,),
        N=(N,),
        p=(2.0,),
        seeds=(seed,),
        device="cpu",
        params=tuple(params.items()),
    )


@dataclass(frozen=True)
class ApproximationSettings:
    """The stage's size at one scale: targets, grids per (N, timestep), points and scramblings."""

    targets: tuple[str, ...]
    grids: Mapping[tuple[int, bool], tuple[int, ...]]
    samples: int
    scramblings: int


SMOKE_GRIDS = {(1, False): (2, 3, 7), (1, True): (2, 3, 4), (2, False): (2,), (2, True): (2, 3)}
"""Smoke scale: two or three grids per case (grid 7 of the unscaled N = 1 case is refused: the wall)."""


def stage_settings(scale: str) -> ApproximationSettings:
    """The settings of ``scale`` (smoke, default, paper); default and paper read the module's
    ``STAGE_*`` values when called."""
    if scale == "smoke":
        return ApproximationSettings(("contextual_max",), SMOKE_GRIDS, 256, 8)
    if scale == "paper":
        return ApproximationSettings(STAGE_TARGETS, STAGE_GRIDS, 4 * STAGE_SAMPLES, 2 * STAGE_SCRAMBLINGS)
    return ApproximationSettings(STAGE_TARGETS, STAGE_GRIDS, STAGE_SAMPLES, STAGE_SCRAMBLINGS)


def _compute_cases(
    settings: ApproximationSettings, context: StageContext
) -> dict[tuple[str, int, bool], ApproximationResult]:
    """Every (target, N, variant) case of ``settings`` as an approximation cell, in this process."""
    from loopbound.verify import load_family

    family = load_family()
    by_case: dict[tuple[str, int, bool], ApproximationResult] = {}
    for (N, timestep), grids in settings.grids.items():
        loops = tuple(family.loops_for_grid(m, 1, N, timestep=timestep) for m in grids)
        context.progress(
            f"approximation: N={N} {'timestep' if timestep else 'looped'}, {len(settings.targets)} targets, r up to {max(loops)}"
        )
        sweep = approximation_sweep(
            settings.targets,
            N=N,
            timestep=timestep,
            loops=loops,
            seed=context.seed,
            samples=settings.samples,
            scramblings=settings.scramblings,
        )
        results = compute(sweep)
        by_case.update({(spec, N, timestep): result for spec, result in zip(settings.targets, results)})
    return by_case


def approximation_stage(out: Path, seed: int) -> list[str]:
    """Verify every case at the default scale, write records and the figure under ``out``; return
    the report lines."""
    return list(approximation_report(StageContext(out=out, seed=seed)).lines)


def approximation_report(context: StageContext) -> StageReport:
    """Verify every case at the context's scale, write records and the figure under ``out``
    (created if missing, before any work); return the lines, verdict rows and figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from loopbound.figures.approximation import approximation_figure
    from loopbound.figures.save import save_figure

    out, seed = context.out, context.seed
    out.mkdir(parents=True, exist_ok=True)
    settings = stage_settings(context.scale)
    by_case = _compute_cases(settings, context)
    lines = [
        f"approximation error against loops: universal construction, d=1, p=2, {settings.scramblings} Sobol "
        f"scramblings x {settings.samples // settings.scramblings} points, 95% intervals, seed {seed}; "
        "bound: Theorem 3.6 for the construction (derived here)",
        f"  {'target':<18}{'N':>2}  {'variant':<10}{'r':>11}{'grids':>7}{'max ratio':>11}"
        f"{'fitted rate [95%]':>25}{'bound slope':>13}  verdict",
    ]
    records: list[ApproximationResult] = []
    refusals: list[str] = []
    rows: list[VerdictRow] = []
    for spec in settings.targets:
        for N, timestep in sorted({(N, timestep) for N, timestep in settings.grids}):
            result = by_case[(spec, N, timestep)]
            records.append(result)
            variant = "timestep" if timestep else "looped"
            refusals += [f"{spec} N={N} {variant}: {row.refused}" for row in result.rows if row.refused is not None]
            lines.append(summary_line(spec, N, timestep, result))
            rows.append(verdict_row(spec, N, timestep, result))
    held_everywhere = all(  # at every r measured; the refused r are listed below as not shown
        result.verdict is not None and not result.verdict.violated and not result.verdict.inconclusive
        for result in records
    )
    write_text_atomic(out / "approximation.json", json.dumps({"records": [result.to_record() for result in records]}))
    figure = approximation_figure(records)
    for suffix in ("png", "pdf"):
        save_figure(figure, out / f"approximation.{suffix}", close=False)
    plt.close(figure)
    lines += [f"  refused: {refusal}" for refusal in refusals]
    lines.append(
        f"  verdict: {'the bound holds in every case and at every r measured' if held_everywhere else 'VIOLATED or inconclusive somewhere (see above)'}"
        + ("; not shown at the refused r (listed above)" if held_everywhere and refusals else "")
    )
    lines.append(
        f"  records: {out / 'approximation.json'}   figure: {out / 'approximation.png'}, {out / 'approximation.pdf'}"
    )
    notes = (
        "Approximation rows: the L² error of the universal construction (d = 1, p = 2) at each loop budget r, "
        "a Monte Carlo interval at 95%, held against the construction's instance of Theorem 3.6; the rate is the "
        "fitted exponent of error against r with its interval, against the bound's own slope.",
    )
    return StageReport("approximation", tuple(lines), tuple(rows), (out / "approximation.png",), notes=notes)


def summary_line(spec: str, N: int, timestep: bool, result: ApproximationResult | Mapping[str, Any]) -> str:
    """One row of the verdict table from an approximation cell's result (or its verify record): r
    and grid ranges measured, the largest measured/bound, the fitted rate with its interval, the
    bound's slope, the verdict with the count of r where the bound held."""
    if not isinstance(result, ApproximationResult):
        result = ApproximationResult.from_record(without_timings(dict(result)))
    measured = result.measured
    verdict = result.verdict
    variant = "timestep" if timestep else "looped"
    if not measured or verdict is None:
        return f"  {spec:<18}{N:>2}  {variant:<10}  nothing measured"
    r_range = f"{measured[0].r}-{measured[-1].r}"
    grids = f"{measured[0].grid}-{measured[-1].grid}"
    ratio = max(row.ratio for row in measured if row.ratio is not None)
    fit = verdict.rate
    if fit["status"] != "fitted":
        rate = "not fitted (<3 r)"
    elif fit["lower"] is not None and fit["upper"] is not None:
        rate = f"{fit['exponent']:.2f} [{fit['lower']:.2f},{fit['upper']:.2f}]"
    else:
        rate = f"{fit['exponent']:.2f} (no interval, {fit['points']} r)"
    claimed = "-" if verdict.claimed_exponent is None else f"{verdict.claimed_exponent:.2f}"
    held = len(measured) - len(verdict.violated) - len(verdict.inconclusive)
    status = f"{verdict.status} ({held}/{len(measured)})"
    return f"  {spec:<18}{N:>2}  {variant:<10}{r_range:>11}{grids:>7}{ratio:>11.3f}{rate:>25}{claimed:>13}  {status}"


def _rate_text(result: ApproximationResult) -> str:
    """The fitted exponent of error against r with its interval, against the bound's own slope."""
    verdict = result.verdict
    if verdict is None:
        return ""
    fit = verdict.rate
    claimed = "" if verdict.claimed_exponent is None else f" vs bound {verdict.claimed_exponent:.2f}"
    if fit["status"] != "fitted":
        return f"not fitted ({fit['points']} r; 3 needed){claimed}"
    if fit["lower"] is None or fit["upper"] is None:
        return f"{fit['exponent']:.2f} (no interval, {fit['points']} r){claimed}"
    return f"{fit['exponent']:.2f} [{fit['lower']:.2f}, {fit['upper']:.2f}]{claimed}"


def verdict_row(spec: str, N: int, timestep: bool, result: ApproximationResult) -> VerdictRow:
    """The case as one verdict row: the measured error range and worst measured/bound, the bound,
    the verdict with the count of r where it held, and the fitted rate against the bound's slope."""
    variant = "timestep scaling" if timestep else "no timestep scaling"
    claim = f"{result.bound.name}: {spec}, d={result.d}, N={N}, {variant}"
    measured_rows = result.measured
    verdict = result.verdict
    refused = [row.r for row in result.rows if row.refused is not None]
    refused_text = f"; refused r = {', '.join(map(str, refused))}" if refused else ""
    if not measured_rows or verdict is None:
        return VerdictRow(
            "approximation", claim, "nothing measured", "-", "inconclusive", f"no r measured{refused_text}"
        )
    errors = [row.error for row in measured_rows if row.error is not None]
    ratio = max(row.ratio for row in measured_rows if row.ratio is not None)
    measured = (
        f"L² error {min(errors):.3g} to {max(errors):.3g} at r = {measured_rows[0].r}..{measured_rows[-1].r} "
        f"(max measured/bound {ratio:.3f})"
    )
    bounds = [row.bound for row in measured_rows if row.bound is not None]
    bound = f"{min(bounds):.3g} to {max(bounds):.3g}" if bounds else "-"
    held = len(measured_rows) - len(verdict.violated) - len(verdict.inconclusive)
    detail = f"held at {held}/{len(measured_rows)} r{refused_text}"
    return VerdictRow("approximation", claim, measured, bound, verdict.status, detail, _rate_text(result))
