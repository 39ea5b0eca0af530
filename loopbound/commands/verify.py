"""``loopbound verify TARGET``: a construction's error against loop count, held against a bound.

``loopbound verify TARGET [--d D --N N] [--timestep] --loops LIST [--p P] [--bound EXPR]
[--samples S] [--seed S] [--device auto|cpu|cuda] [--json]`` (and ``--scramblings``, ``--level``,
``--construction MODULE``, ``--no-sup``, ``--plot FILE``). Prints per r the measured L^p error with
its interval, the bound, their ratio and the status; then the fitted rate against the bound's slope.
Exit status 0 when the bound holds at every r, 1 when it is violated (or not shown to hold) at some
r, named; 2 on bad input (one line). ``--json`` prints one object: :meth:`VerifyResult.to_json`.
The logic is in :mod:`loopbound.verify` (the claims in :mod:`loopbound.theory.claims`), the table in
:mod:`loopbound.verify_table`; docs/verify.md explains every number.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from loopbound.atomic import write_text_atomic
from loopbound.cli_types import exponent_p, figure_path, from_parser, latex_path, positive_int, seed, unit_level
from loopbound.construction_family import DEFAULT_CONSTRUCTION, load_family
from loopbound.size_checks import check_verify
from loopbound.target_loading import load_target
from loopbound.theory.bounds.parse import parse_bound
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.verify import parse_loops, verify
from loopbound.verify_table import format_table


def _scramblings(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2 (an interval needs two scramblings), got {text!r}")
    return value


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
        type=from_parser(parse_loops),
        required=True,
        help="loop budgets r: comma list or LOW:HIGH:COUNT (log-spaced)",
    )
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
        "--plot", type=figure_path, default=None, metavar="FILE", help="write error against r (.png/.pdf/.svg)"
    )
    parser.add_argument(
        "--latex",
        type=latex_path,
        default=None,
        metavar="FILE",
        help="write the bound and the per-r table as a LaTeX document (.tex)",
    )
    parser.set_defaults(handler=run)


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
    check_verify(  # refuse, in one line, what cannot finish here (loopbound.work_estimate)
        args.loops,
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
    )
    progress = sys.stderr.isatty() and not args.json
    with intra_op_threads(args.threads):
        result = verify(
            target,
            loops=args.loops,
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
        )
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(format_table(result))
    if args.plot is not None:
        from loopbound.figures.approximation import save_approximation_figure

        save_approximation_figure([result.to_json()], args.plot)
        if not args.json:
            print(f"figure: {args.plot}")
    if args.latex is not None:
        from loopbound.bounds_report import verify_document

        write_text_atomic(args.latex, verify_document(result))
        if not args.json:
            print(f"LaTeX: {args.latex}")
    return result.exit_status
