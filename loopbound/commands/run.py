"""``loopbound run``: the main job — the default suite end to end, with a report.

Stages run in order and each writes its records and figures under ``--out`` (default ``runs/``):
- moduli: ω, ω^tok, ω^cont of every built-in target, certified lower bounds against the exact
  values where known (``moduli.json``, ``moduli.png``, ``moduli.pdf``);
- approximation: the universal construction's error against loop count held against Theorem 3.6
  for the construction (:mod:`loopbound.approximation_stage`);
- regression: looped linear attention as gradient descent (:mod:`loopbound.regression_stage`);
- bounds: every bound checked, as a LaTeX document with provenance (``bounds.tex``,
  :mod:`loopbound.bounds_report`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from loopbound.approximation_stage import approximation_stage
from loopbound.atomic import write_text_atomic
from loopbound.cli_types import nonnegative_int
from loopbound.moduli_report import DELTAS, SHAPE, builtin_moduli, plot_builtin_moduli, records, report_lines
from loopbound.plots import save_figure
from loopbound.regression_stage import regression_stage


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "run",
        help="the main job: the default suite end to end, with a report",
        description="Run the default suite: moduli of the built-in targets (and the later stages), "
        "printing a report and writing records and figures under --out.",
    )
    parser.add_argument("--out", default="runs", help="folder for records and figures (default runs/)")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.set_defaults(handler=run)


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


def bounds_stage(out: Path, seed: int) -> list[str]:
    """Every bound loopbound checks, written as ``bounds.tex``; returns report lines."""
    from loopbound.bounds_report import all_bounds, bounds_document

    bounds = all_bounds()
    write_text_atomic(out / "bounds.tex", bounds_document(bounds))
    statuses = sorted({b.provenance.status for b in bounds})
    counts = ", ".join(f"{sum(b.provenance.status == s for b in bounds)} {s}" for s in statuses)
    return [f"bounds: {len(bounds)} as LaTeX with provenance ({counts}): {out / 'bounds.tex'}"]


STAGES: list[tuple[str, Callable[[Path, int], list[str]]]] = [
    ("moduli", moduli_stage), ("approximation", approximation_stage), ("regression", regression_stage), ("bounds", bounds_stage),
]


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: list[str] = []
    for name, stage in STAGES:
        print(f"[loopbound run] stage {name} ...", file=sys.stderr, flush=True)
        lines = stage(out, args.seed)
        print("\n".join(lines), flush=True)
        report.extend(lines + [""])
    write_text_atomic(out / "report.txt", "\n".join(report))
    print(f"report: {out / 'report.txt'}")
    return 0
