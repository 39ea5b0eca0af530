"""``loopbound verify TARGET``: a construction's error against loop count, held against a bound.

``loopbound verify TARGET [--d D --N N] [--timestep] --loops LIST [--p P] [--bound EXPR]
[--samples S] [--seed S] [--device auto|cpu|cuda] [--json]`` (and ``--scramblings``, ``--level``,
``--construction MODULE``, ``--no-sup``, ``--plot FILE``). Prints per r the measured L^p error with
its interval, the bound, their ratio and the status; then the fitted rate against the bound's slope.
Exit status 0 when the bound holds at every r, 1 when it is violated (or not shown to hold) at some
r, named; 2 on bad input (one line). ``--json`` prints one object: :meth:`VerifyResult.to_json` with the
metadata block of :mod:`loopbound.metadata`; ``--csv FILE`` writes one row per r
(:func:`loopbound.csv_tables.verify_rows`).
The logic is in :mod:`loopbound.verify` (the claims in :mod:`loopbound.theory.claims`), the table in
:mod:`loopbound.verify_table`; docs/verify.md explains every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.cli_types import (
    exponent_p,
    figure_path,
    from_parser,
    latex_path,
    positive_int,
    positive_seconds,
    seed,
    unit_level,
)
from loopbound.construction_family import DEFAULT_CONSTRUCTION, load_family
from loopbound.csv_tables import add_csv_argument, verify_rows, write_csv
from loopbound.metadata import with_metadata
from loopbound.size_checks import check_verify
from loopbound.target_loading import load_target
from loopbound.theory.bounds.parse import parse_bound
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.verify import ARITHMETICS, is_loops_range, parse_loops, snap_loops, verify
from loopbound.verify_result import VerifyResult, VerifyRow
from loopbound.verify_table import format_table, progress_line


def _scramblings(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2 (an interval needs two scramblings), got {text!r}")
    return value


def _add_arithmetic_options(parser: argparse.ArgumentParser) -> None:
    """--arithmetic, --row-seconds and --quiet: how rows past float64 are evaluated, refused and reported."""
    parser.add_argument(
        "--arithmetic",
        choices=ARITHMETICS,
        default="auto",
        help="auto (default): float64 where the construction's bits fit, exact rational arithmetic beyond; "
        "float64: refuse a grid beyond it; exact: exact everywhere. Each row names the arithmetic that ran",
    )
    parser.add_argument(
        "--row-seconds",
        type=positive_seconds,
        default=900.0,
        metavar="S",
        help="refuse (as a row, the others still run) an exact-arithmetic grid estimated to take longer (default 900)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-row progress lines on stderr")


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "verify",
        help="measure a construction's error against loop count and hold it against a bound",
        description="Build the construction for each loop budget r, measure its L^p error by randomised "
        "quasi-Monte Carlo, and compare it with Theorem 3.6 for the construction (default), the reconstructed "
        "theorem at δ(r) (--bound theorem) or your bound EXPR. Exit 0: held at every r; 1: violated somewhere; "
        "2: bad input.",
    )
    parser.add_argument("target", metavar="TARGET", help="built-in[:k=v,...], file.py:function or module:function")
    parser.add_argument("--d", type=positive_int, default=1, help="token dimension (default 1)")
    parser.add_argument("--N", type=positive_int, default=2, help="sequence length (default 2)")
    parser.add_argument("--timestep", action="store_true", help="the construction with timestep scaling (Theorem 4.2)")
    parser.add_argument(
        "--loops",
        type=from_parser(_loops_text),
        required=True,
        help="loop budgets r: comma list or LOW:HIGH:COUNT (log-spaced; one budget per construction, the largest asked)",
    )
    _add_arithmetic_options(parser)
    parser.add_argument(
        "--p", type=exponent_p, default=2.0, help="output p-norm and L^p exponent, 1 <= p < inf (default 2)"
    )
    parser.add_argument(
        "--bound",
        default="construction",
        metavar="EXPR",
        help="'construction' (default), 'theorem', or an expression in r, d, N, p, delta, w, w_tok, w_cont (+ - * / ^, exp, log, sqrt, min, max, abs, floor, ceiling; parsed as mathematics, never run)",
    )
    parser.add_argument("--samples", type=positive_int, default=1 << 14, help="Sobol points in all (default 16384)")
    parser.add_argument("--scramblings", type=_scramblings, default=8, help="independent scramblings (default 8)")
    parser.add_argument(
        "--level", type=unit_level, default=0.95, help="confidence level of the intervals (default 0.95)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed, an integer in [0, 2^63) (default 0)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:K")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch intra-op threads on CPU (default 1: the construction's narrow matmuls gain little from more "
        "and lose much beside any other busy process; raise it on an idle machine: docs/benchmarks.md)",
    )
    parser.add_argument(
        "--construction",
        default=DEFAULT_CONSTRUCTION,
        metavar="MODULE",
        help=f"module or .py file with build_universal/loops_for_grid/grid_for_loops (default {DEFAULT_CONSTRUCTION})",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="run the block under torch.compile (opt-in; whether it pays depends on the machine: docs/benchmarks.md)",
    )
    parser.add_argument("--no-sup", dest="sup", action="store_false", help="skip the sup-error search")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--plot",
        type=figure_path,
        default=None,
        metavar="FILE",
        help="write error against r (.png/.pdf/.svg; a PDF and a PNG of the same name are always written too)",
    )
    parser.add_argument(
        "--latex",
        type=latex_path,
        default=None,
        metavar="FILE",
        help="write the bound and the per-r table as a LaTeX document (.tex)",
    )
    add_csv_argument(parser, "loop budget r (settings, error and interval, bound, status, constants, moduli)")
    parser.set_defaults(handler=run)


def _write_csv(args: argparse.Namespace, record: dict[str, Any]) -> None:
    """``--csv``: the record's rows (:func:`loopbound.csv_tables.verify_rows`), and the path said."""
    if args.csv is not None:
        write_csv(args.csv, verify_rows(record))
        if not args.json:
            print(f"CSV: {args.csv}")


def samples_note(samples: int, scramblings: int) -> str | None:
    """The one-line note when ``samples`` is not what the measurement uses: each scrambling takes
    ⌈samples/scramblings⌉ points rounded up to a power of two (a Sobol sequence is balanced on
    powers of two: :mod:`loopbound.theory.error_measure`); None when nothing is rounded."""
    per = 1 << (max(2, -(-samples // scramblings)) - 1).bit_length()
    if per * scramblings == samples:
        return None
    return (
        f"loopbound verify: note: --samples {samples} is rounded up to {per * scramblings} "
        f"({scramblings} scramblings of {per} points: a Sobol sequence is balanced on powers of two)\n"
    )


def _loops_text(text: str) -> str:
    parse_loops(text)  # validated here: a bad list is argparse's one-line error
    return text


def _write_outputs(args: argparse.Namespace, result: VerifyResult, loops: tuple[int, ...]) -> None:
    """The table (or JSON) on stdout, and the CSV, figure and LaTeX files asked for."""
    if args.json:
        print(json.dumps(with_metadata(result.to_json())))
    else:
        if is_loops_range(args.loops):
            shown = ", ".join(str(r) for r in loops)
            print(f"loops {args.loops.strip()}: one budget per construction, the largest asked: {shown}")
        print(format_table(result))
    _write_csv(args, result.to_json())
    if args.plot is not None:
        from loopbound.figures.approximation import approximation_figure
        from loopbound.figures.save import save_figure, save_pdf_png

        figure = approximation_figure([result.to_json()])
        written = [save_figure(figure, args.plot, close=False)]  # the file asked for, and always PDF and PNG beside it
        written += [path for path in save_pdf_png(figure, args.plot.with_suffix("")) if path not in written]
        if not args.json:
            print(f"figure: {', '.join(str(path) for path in written)}")
    if args.latex is not None:
        from loopbound.bounds_report import verify_document

        write_text_atomic(args.latex, verify_document(result))
        if not args.json:
            print(f"LaTeX: {args.latex}")


def run(args: argparse.Namespace) -> int:
    bound = args.bound.strip()
    claimed = bound if bound in ("construction", "theorem") else parse_bound(bound)
    if args.samples < 2 * args.scramblings:
        raise InputError(
            f"--samples {args.samples} is fewer than two points per scrambling ({args.scramblings} scramblings)"
        )
    device = resolve_device(args.device)
    family = load_family(args.construction)
    target = load_target(args.target, d=args.d, N=args.N)
    loops = parse_loops(args.loops)
    if is_loops_range(args.loops):
        loops = snap_loops(loops, family, d=args.d, N=args.N, timestep=args.timestep)
    check_verify(  # refuse, in one line, what cannot finish here (loopbound.work_estimate)
        loops,
        d=args.d,
        N=args.N,
        d_out=target.d_out,
        timestep=args.timestep,
        samples=args.samples,
        scramblings=args.scramblings,
        device=device.type,
        sup=args.sup,
        moduli=1 if bound == "construction" else 3,
        family=None if args.construction == DEFAULT_CONSTRUCTION else family,
        arithmetic=args.arithmetic,
    )
    print(*filter(None, [samples_note(args.samples, args.scramblings)]), file=sys.stderr, end="")  # what is run
    progress = sys.stderr.isatty() and not args.json
    started = time.perf_counter()
    done = []

    def report(row: VerifyRow) -> None:
        done.append(row)
        print(progress_line(row, len(done), len(loops), time.perf_counter() - started), file=sys.stderr, flush=True)

    with intra_op_threads(args.threads):
        result = verify(
            target,
            loops=loops,
            timestep=args.timestep,
            p=args.p,
            bound=claimed,
            samples=args.samples,
            scramblings=args.scramblings,
            level=args.level,
            seed=args.seed,
            device=device,
            family=family,
            sup_search=args.sup,
            progress=progress,
            compile=args.compile,
            on_refusal="record",  # one r beyond float64 is a refused row, not the end of the run
            arithmetic=args.arithmetic,
            row_seconds=args.row_seconds,
            on_row=None if args.quiet else report,
        )
    _write_outputs(args, result, loops)
    return result.exit_status
