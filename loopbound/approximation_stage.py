"""The ``approximation`` stage of ``loopbound run``: the universal construction's error against
loop count, held against Theorem 3.6 for the construction, at small size.

Cases: d = 1, N ∈ {1, 2}, the permutation-equivariant built-ins ``holder:alpha=0.5``,
``contextual_max`` and ``smooth``, with and without timestep scaling, p = 2. The loop budgets are
the construction's own loop counts for grids m = 2, 3, … (so each r uses its whole budget); the
unscaled variant also asks for the first grid whose bits float64 cannot hold, so the table shows
the precision wall as a refusal rather than hiding it. Records (:meth:`VerifyResult.to_json`) go to
``approximation.json``, the figure to ``approximation.pdf``/``.png``; the report lines are a
verdict table. A few seconds per case on one CPU core.

The stage computes with **one intra-op thread** (:func:`loopbound.theory.numerics.intra_op_threads`,
restored afterwards): its batches are small (≤ 8192 sequences of width ≤ 30), where torch's
multi-threaded matmuls gain little on an idle machine and lose much beside any other busy process
(docs/benchmarks.md, "Looped evaluation": 0.42× of one thread's throughput with 2 threads on a
2-core machine running one other process).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.verify import load_family, verify
from loopbound.theory.numerics import intra_op_threads
from loopbound.theory.targets import builtin_target

STAGE_TARGETS = ("holder:alpha=0.5", "contextual_max", "smooth")
STAGE_GRIDS = {  # (N, timestep) → grids m; the unscaled lists end with the first grid float64 refuses
    (1, False): (2, 3, 4, 5, 6, 7),
    (1, True): (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),  # enough r on the upper half for an interval
    (2, False): (2, 3, 4),
    (2, True): (2, 3, 4, 5, 6, 7, 8, 9, 10),
}
STAGE_SAMPLES = 2048
STAGE_SCRAMBLINGS = 8


def _target(spec: str, N: int):
    name, _, params = spec.partition(":")
    values = dict(item.split("=") for item in params.split(",") if item)
    return builtin_target(name, d=1, N=N, **values)


def approximation_stage(out: Path, seed: int) -> list[str]:
    """Verify every case, write records and the figure under ``out`` (created if missing, before
    any work); return the report lines."""
    Path(out).mkdir(parents=True, exist_ok=True)
    with intra_op_threads(1):
        return _approximation_stage(out, seed)


def _approximation_stage(out: Path, seed: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from loopbound.approximation_plots import approximation_figure
    from loopbound.plots import save_figure

    family = load_family()
    records: list[dict[str, Any]] = []
    lines = [
        f"approximation error against loops: universal construction, d=1, p=2, {STAGE_SCRAMBLINGS} Sobol "
        f"scramblings x {STAGE_SAMPLES // STAGE_SCRAMBLINGS} points, 95% intervals, seed {seed}; "
        "bound: Theorem 3.6 for the construction (derived here)",
        f"  {'target':<18}{'N':>2}  {'variant':<10}{'r':>11}{'grids':>7}{'max ratio':>11}"
        f"{'fitted rate [95%]':>25}{'bound slope':>13}  verdict",
    ]
    refusals: list[str] = []
    held_everywhere = True
    for spec in STAGE_TARGETS:
        for N in (1, 2):
            target = _target(spec, N)
            for timestep in (False, True):
                grids = STAGE_GRIDS[(N, timestep)]
                loops = [family.loops_for_grid(m, 1, N, timestep=timestep) for m in grids]
                result = verify(
                    target, loops=loops, timestep=timestep, samples=STAGE_SAMPLES, scramblings=STAGE_SCRAMBLINGS,
                    seed=seed, device="cpu", family=family, on_refusal="record", progress=False,
                )
                records.append(result.to_json())
                refusals += [f"{spec} N={N} {'timestep' if timestep else 'looped'}: {row.refused}" for row in result.refused]
                lines.append(_summary_line(spec, N, timestep, result))
                held_everywhere &= result.verdict is not None and result.verdict.held
    write_text_atomic(out / "approximation.json", json.dumps({"records": records}))
    figure = approximation_figure(records)
    for suffix in ("png", "pdf"):
        save_figure(figure, out / f"approximation.{suffix}", close=False)
    plt.close(figure)
    for refusal in refusals:
        lines.append(f"  refused: {refusal}")
    lines.append(f"  verdict: {'the bound holds in every case and at every r measured' if held_everywhere else 'VIOLATED or inconclusive somewhere (see above)'}")
    lines.append(f"  records: {out / 'approximation.json'}   figure: {out / 'approximation.png'}, {out / 'approximation.pdf'}")
    return lines


def _summary_line(spec: str, N: int, timestep: bool, result) -> str:
    measured = result.measured
    variant = "timestep" if timestep else "looped"
    if not measured or result.verdict is None:
        return f"  {spec:<18}{N:>2}  {variant:<10}  nothing measured"
    verdict = result.verdict
    r_range = f"{measured[0].r}-{measured[-1].r}"
    grids = f"{measured[0].grid}-{measured[-1].grid}"
    ratio = max(point.ratio for point in verdict.points)
    fit = verdict.rate
    if not fit.fitted:
        rate = "not fitted (<3 r)"
    elif fit.has_interval:
        rate = f"{fit.exponent:.2f} [{fit.lower:.2f},{fit.upper:.2f}]"
    else:
        rate = f"{fit.exponent:.2f} (no interval, {fit.points} r)"
    claimed = "-" if verdict.claimed_exponent is None else f"{verdict.claimed_exponent:.2f}"
    status = f"{verdict.status.value} ({sum(p.status.value == 'held' for p in verdict.points)}/{len(verdict.points)})"
    return f"  {spec:<18}{N:>2}  {variant:<10}{r_range:>11}{grids:>7}{ratio:>11.3f}{rate:>25}{claimed:>13}  {status}"
