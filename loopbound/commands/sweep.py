"""``loopbound sweep CONFIG``: expand a TOML sweep into cells and compute the missing ones.

Contract (docs/sweeps.md): ``loopbound sweep CONFIG [--out DIR] [--executor local|submitit] [--resume]``
(plus ``--workers N``). Each cell's record is written atomically by the worker that computed it,
under ``DIR/records/<hash>.json`` (:mod:`loopbound.sweep.store`); ``--resume`` skips cells whose
record exists and is valid and moves corrupt ones aside (reported on stderr) to recompute them.
Without ``--resume``, a store that already holds records of this sweep is refused.

A progress bar (stderr, when it is a terminal) counts finished cells; the summary on stdout lists
cells done, skipped and failed with reasons. Exit status: 0 when every cell has a record, 1 when a
cell failed, 2 on bad input (a missing or malformed sweep file, an unknown cell kind, bad values).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from loopbound.cli_types import positive_int
from loopbound.sweep import (
    LocalExecutor,
    Store,
    SubmititExecutor,
    SweepSummary,
    check_devices_here,
    expand_cells,
    load_config,
    run_sweep,
)
from loopbound.sweep.config import SweepConfig
from loopbound.sweep.executors import Executor

EXECUTORS = ("local", "submitit")


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "sweep",
        help="run a TOML sweep: one atomic record per cell, resumable",
        description="Expand a TOML sweep file into cells (the cartesian product of its targets, shapes, "
        "p, seeds and the cell kind's axes) and compute each missing cell, writing one record per cell "
        "keyed by the hash of its configuration. See docs/sweeps.md.",
    )
    parser.add_argument("config", metavar="CONFIG", help="sweep file (TOML), e.g. examples/sweeps/moduli-small.toml")
    parser.add_argument("--out", default=None, metavar="DIR", help="results store (default runs/sweeps/<name>)")
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local process pool (default) or submitit (Slurm; local processes where no cluster exists)",
    )
    parser.add_argument("--resume", action="store_true", help="skip cells whose record exists and is valid")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local worker processes, or local submitit jobs (default: CPU count)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch intra-op threads per worker (default 1: the workers share the machine, and the "
        "cells' narrow matmuls lose much with more threads beside other busy processes)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    cells = expand_cells(config)
    store = Store(Path(args.out) if args.out is not None else Path("runs") / "sweeps" / config.name)
    executor = _executor(args, config, store)
    if executor.runs_here:
        check_devices_here(cells)
    store.prepare()
    plan = store.plan(cells, resume=args.resume)
    for problem in plan.quarantined:
        print(
            f"loopbound sweep: corrupt record {problem.hash}: {problem.reason}; moved to {problem.moved_to}, "
            "computing the cell again",
            file=sys.stderr,
        )
    manifest = store.write_manifest(config, cells)

    from tqdm import tqdm

    with tqdm(total=len(plan.pending), desc=f"sweep {config.name}", unit="cell", disable=None, file=sys.stderr) as bar:
        summary = run_sweep(cells, store, executor, plan=plan, manifest=manifest, tick=bar.update)
    print(format_summary(config, store, summary))
    return 1 if summary.failed else 0


def _executor(args: argparse.Namespace, config: SweepConfig, store: Store) -> Executor:
    if args.executor == "submitit":
        return SubmititExecutor(
            store.root / "submitit", parameters=config.executor_parameters, workers=args.workers, threads=args.threads
        )
    if args.workers is None:
        return LocalExecutor(threads_per_worker=args.threads)
    return LocalExecutor(workers=args.workers, threads_per_worker=args.threads)


def format_summary(config: SweepConfig, store: Store, summary: SweepSummary) -> str:
    """Cells done, skipped and failed (with reasons), corrupt records moved aside, and notes."""
    lines = [
        f"sweep {config.name}: {summary.total} {config.cell} cells: {len(summary.done)} done, "
        f"{summary.skipped} skipped (already recorded), {len(summary.failed)} failed "
        f"[{summary.seconds:.1f} s; {summary.executor}]",
        f"  records: {store.records}   manifest: {summary.manifest}",
    ]
    for problem in summary.plan.quarantined:
        lines.append(f"  corrupt record {problem.hash[:12]} moved to {problem.moved_to} ({problem.reason}); recomputed")
    for outcome in summary.failed:
        lines.append(f"  failed {outcome.hash[:12]} {outcome.label}: {outcome.reason}")
    if summary.failed:
        lines.append(f"  details: {store.failures}/<hash>.json; run again with --resume to retry the failed cells")
    if summary.plan.temporaries:
        lines.append(
            f"  note: {summary.plan.temporaries} temporary file(s) in {store.records} from interrupted "
            "writes; they are not records and can be deleted"
        )
    if summary.plan.other_records:
        lines.append(
            f"  note: {summary.plan.other_records} other record(s) in this store belong to other configurations"
        )
    return "\n".join(lines)
