"""``loopbound run``: the main job — the default suite end to end, with a text and an HTML report.

The stages (:data:`loopbound.stages.STAGES`) run in order and each writes its records and figures
under ``--out`` (default ``runs/``):
- moduli: ω, ω^tok, ω^cont of every built-in target, certified lower bounds against the exact
  values where known (``moduli.json``, ``moduli.png``, ``moduli.pdf``; :mod:`loopbound.stages.moduli`);
- approximation: the universal construction's error against loop count held against Theorem 3.6
  for the construction (:mod:`loopbound.stages.approximation`);
- regression: looped linear attention as gradient descent (:mod:`loopbound.stages.regression`);
- bounds: every bound checked, as a LaTeX document with provenance (``bounds.tex``,
  :mod:`loopbound.stages.bounds`).

``--scale`` sizes every stage (smoke: seconds, for tests and CI; default; paper: larger, see
:data:`SCALE_HELP`), ``--stages`` picks some of them. The report goes to stdout and ``report.txt``,
the HTML page with the verdict table, the figures, the bounds and the stage timings to
``report.html`` (:mod:`loopbound.report_html`), the verdict table as JSON to ``verdicts.json``
(``rows``: one object per claim, the fields of :class:`~loopbound.stages.report.VerdictRow`, beside
the metadata block of :mod:`loopbound.metadata`, the scale, seed and stage timings); progress and
each stage's time go to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.cli_types import seed
from loopbound.stages import SCALES, STAGE_NAMES, STAGES, StageContext, StageReport
from loopbound.stages.report import stderr_progress
from loopbound.theory.errors import InputError

__all__ = ["SCALE_HELP", "parse_stages", "add_parser", "run"]

SCALE_HELP = (
    "smoke: every stage at a toy size, about 15 s of one CPU core (for tests and CI; its numbers are "
    "not evidence); default: the size the README reports, about 100 s of one CPU core; paper: 12 δ for "
    "the moduli, 4x the Monte Carlo points, the regression sweep at d = 8 with 3 κ_Σ, 64 prompts and "
    "1500 loops, reference curves at 7 k with 8000 prompts: an estimated 4-6 minutes of one CPU core "
    "(from its stages' parts timed at both scales). Wall time is longer on a machine shared with other jobs"
)
"""What each scale runs and how long it takes, as ``run --help`` says it."""


def parse_stages(text: str) -> tuple[str, ...]:
    """A comma list of stage names (:data:`loopbound.stages.STAGE_NAMES`), in the order they run;
    raises InputError (one line, exit 2) naming an unknown or repeated name, or an empty list."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in STAGE_NAMES]
    if unknown or not names or len(set(names)) != len(names):
        problem = f"unknown stage {', '.join(repr(n) for n in unknown)}" if unknown else f"bad stage list {text!r}"
        raise InputError(f"--stages: {problem}; the stages are {','.join(STAGE_NAMES)} (a comma list, each once)")
    return tuple(name for name in STAGE_NAMES if name in names)


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "run",
        help="the main job: the default suite end to end, with a text and an HTML report",
        description="Run the suite: moduli of the built-in targets, the universal construction's error "
        "against loops, in-context regression by looped linear attention, and every bound as LaTeX. Prints "
        "the report and writes records, figures, report.txt and report.html (verdict table, figures, "
        "bounds, stage timings) under --out; progress goes to stderr.",
    )
    parser.add_argument("--out", default="runs", help="folder for records, figures and reports (default runs/)")
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seed of every random choice (Monte Carlo points, prompts, matrices, modulus searches): "
        "an integer 0 <= seed < 2^63; the same seed gives the same numbers (default 0)",
    )
    parser.add_argument("--scale", choices=SCALES, default="default", help=SCALE_HELP)
    parser.add_argument(
        "--stages",
        default=",".join(STAGE_NAMES),
        help=f"comma list of the stages to run, from {','.join(STAGE_NAMES)} (default: all, in that order)",
    )
    parser.set_defaults(handler=run)


def _run_stages(names: tuple[str, ...], context: StageContext) -> tuple[list[StageReport], dict[str, float]]:
    """Run the named stages in order, with progress and timings on stderr."""
    reports: list[StageReport] = []
    timings: dict[str, float] = {}
    stages = [(name, stage) for name, stage in STAGES if name in names]
    for index, (name, stage) in enumerate(stages, start=1):
        print(f"[loopbound run] stage {index}/{len(stages)} {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        report = stage(context)
        timings[name] = time.perf_counter() - started
        print(f"[loopbound run] stage {name} done in {timings[name]:.1f} s", file=sys.stderr, flush=True)
        print("\n".join(report.lines), flush=True)
        reports.append(report)
    return reports, timings


def run(args: argparse.Namespace) -> int:
    from loopbound import __version__
    from loopbound.metadata import with_metadata
    from loopbound.report_html import render_html

    names = parse_stages(args.stages)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    context = StageContext(out=out, seed=args.seed, scale=args.scale, progress=stderr_progress)
    started = time.perf_counter()
    reports, timings = _run_stages(names, context)
    total = time.perf_counter() - started
    timing_lines = [f"stage timings: {', '.join(f'{n} {s:.1f} s' for n, s in timings.items())}; total {total:.1f} s"]
    text = [line for report in reports for line in (*report.lines, "")] + timing_lines
    write_text_atomic(out / "report.txt", "\n".join(text) + "\n")
    settings = {
        "loopbound": __version__,
        "scale": args.scale,
        "seed": str(args.seed),
        "stages": ",".join(names),
        "total time": f"{total:.1f} s",
    }
    write_text_atomic(out / "report.html", render_html(reports, timings=timings, settings=settings))
    rows = [dataclasses.asdict(row) for report in reports for row in report.rows]
    verdicts = {"scale": args.scale, "seed": args.seed, "stage_seconds": timings, "rows": rows}
    write_text_atomic(out / "verdicts.json", json.dumps(with_metadata(verdicts), indent=1, ensure_ascii=False))
    print(timing_lines[0])
    print(f"report: {out / 'report.txt'}   HTML: {out / 'report.html'}   verdicts: {out / 'verdicts.json'}")
    return 0
