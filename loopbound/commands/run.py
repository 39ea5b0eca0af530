"""``loopbound run``: the main job — the default suite end to end, with a report.

The stages (:data:`loopbound.stages.STAGES`) run in order and each writes its records and figures
under ``--out`` (default ``runs/``):
- moduli: ω, ω^tok, ω^cont of every built-in target, certified lower bounds against the exact
  values where known (``moduli.json``, ``moduli.png``, ``moduli.pdf``; :mod:`loopbound.stages.moduli`);
- approximation: the universal construction's error against loop count held against Theorem 3.6
  for the construction (:mod:`loopbound.stages.approximation`);
- regression: looped linear attention as gradient descent (:mod:`loopbound.stages.regression`);
- bounds: every bound checked, as a LaTeX document with provenance (``bounds.tex``,
  :mod:`loopbound.stages.bounds`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.cli_types import seed
from loopbound.stages import STAGES


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "run",
        help="the main job: the default suite end to end, with a report",
        description="Run the default suite: moduli of the built-in targets (and the later stages), "
        "printing a report and writing records and figures under --out.",
    )
    parser.add_argument("--out", default="runs", help="folder for records and figures (default runs/)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.set_defaults(handler=run)


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
