"""``loopbound modulus TARGET``: certified lower bounds on the moduli of continuity, with witnesses.

Contract (docs/architecture.md): ``--kind {sequence,token,contextual,all} --deltas LIST [--d D --N N] [--p P]
[--seed S] [--json] [--plot FILE]``. ``--json`` prints one object on stdout,
``{"target", "d", "N", "p", "results": [{"kind", "delta", "lower", "upper", "witness": {"X", "Y"}}]}``
(plus ``exact``, ``position`` and ``distance`` per result, the ``seed``, and the metadata block of
:mod:`loopbound.metadata`), where ``lower`` is attained by the witness pair re-checked in float64
and ``upper`` is null where unknown. ``--csv FILE`` writes the results as one row per (kind, δ)
(:func:`loopbound.csv_tables.modulus_rows`). A ``.npz`` TARGET holding samples ``X``, ``Y`` gets
the all-pairs estimate of the sequence modulus (its default ``--kind``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from loopbound.cli_types import delta_list, exponent_p, figure_path, nonnegative_int, positive_int, seed
from loopbound.csv_tables import add_csv_argument, modulus_rows, write_csv
from loopbound.figures.modulus import plot_modulus
from loopbound.figures.save import save_figure
from loopbound.metadata import with_metadata
from loopbound.size_checks import check_modulus, check_pairs
from loopbound.target_loading import load_samples, load_target
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind, parse_kinds
from loopbound.theory.modulus import ModulusEstimate, SearchBudget, Witness, all_pairs_modulus, estimate_moduli
from loopbound.theory.numerics import intra_op_threads

DEFAULT_DELTAS = "0.01,0.03,0.1,0.3"


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "modulus",
        help="certified lower bounds on ω, ω^tok, ω^cont with witness pairs",
        description="Estimate the moduli of continuity of a sequence-to-sequence target: certified "
        "lower bounds (each attained by a witness pair), with exact values or upper bounds where known.",
    )
    parser.add_argument(
        "target", metavar="TARGET", help="built-in[:k=v,...], file.py:function, module:function, or samples.npz"
    )
    parser.add_argument(
        "--kind",
        default=None,
        help="sequence, token, contextual or all (default: all; sequence for a .npz of samples, the one kind it supports)",
    )
    parser.add_argument(
        "--deltas",
        type=delta_list,
        default=delta_list(DEFAULT_DELTAS),
        help=f"comma list or LOW:HIGH:COUNT (default {DEFAULT_DELTAS})",
    )
    parser.add_argument("--d", type=positive_int, default=None, help="token dimension (default 1)")
    parser.add_argument("--N", type=positive_int, default=None, help="sequence length (default 2)")
    parser.add_argument("--p", type=exponent_p, default=2.0, help="output p-norm, 1 <= p < inf (default 2)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed, an integer in [0, 2^63) (default 0)")
    parser.add_argument("--restarts", type=positive_int, default=SearchBudget().restarts, help="ascent restarts per δ")
    parser.add_argument("--steps", type=nonnegative_int, default=SearchBudget().steps, help="ascent steps per restart")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch intra-op threads on CPU (default 1, which suits a machine shared with other work; "
        "raise it on an idle machine: docs/benchmarks.md)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_csv_argument(
        parser, "(kind, delta): target, d, N, p, seed, kind, delta, lower, upper, exact, position, distance"
    )
    parser.add_argument(
        "--plot", type=figure_path, default=None, metavar="FILE", help="write log-log curves (.png/.pdf/.svg)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    samples = args.target.endswith(".npz")
    kinds = parse_kinds(args.kind if args.kind is not None else "sequence" if samples else "all")
    if samples:
        with intra_op_threads(args.threads):
            estimates, d, N = _from_samples(args, kinds)
    else:
        d = 1 if args.d is None else args.d
        N = 2 if args.N is None else args.N
        budget = SearchBudget(restarts=args.restarts, steps=args.steps)
        check_modulus(
            len(args.deltas),
            d=d,
            N=N,
            kinds=len(kinds),
            screen=budget.screen,  # refuse what cannot finish
            restarts=budget.restarts,
            steps=budget.steps,
        )
        target = load_target(args.target, d=d, N=N)
        progress = sys.stderr.isatty() and not args.json
        with intra_op_threads(args.threads):
            estimates = estimate_moduli(
                target, args.deltas, kinds, p=args.p, budget=budget, seed=args.seed, progress=progress
            )
    record = _as_json(args.target, d, N, args.p, estimates, seed=args.seed)
    if args.json:
        print(json.dumps(with_metadata(record)))
    else:
        print(format_table(args.target, d, N, args.p, args.seed, estimates))
    if args.csv is not None:
        write_csv(args.csv, modulus_rows(record))
        if not args.json:
            print(f"CSV: {args.csv}")
    if args.plot is not None:
        _plot(args.target, estimates, args.plot)
        if not args.json:
            print(f"figure: {args.plot}")
    return 0


def _from_samples(args: argparse.Namespace, kinds: Sequence[ModulusKind]):
    if set(kinds) != {ModulusKind.SEQUENCE}:
        raise InputError(
            "a .npz sample target supports --kind sequence only (the token and contextual constraints need a callable target)"
        )
    samples = load_samples(args.target)
    check_pairs(len(samples.X))
    for flag, value, actual in (("--d", args.d, samples.d), ("--N", args.N, samples.N)):
        if value is not None and value != actual:
            raise InputError(f"{flag} {value} does not match the samples in {args.target} ({flag[2:]} = {actual})")
    result = all_pairs_modulus(
        samples.X, samples.Y, args.deltas, p=args.p, progress=sys.stderr.isatty() and not args.json
    )
    estimates = []
    for point in result.points:
        i, j = point.pair if point.pair is not None else (0, 0)
        witness = Witness(X=samples.X[i], Y=samples.X[j], position=None)
        estimates.append(
            ModulusEstimate(
                kind=ModulusKind.SEQUENCE,
                delta=point.delta,
                p=args.p,
                lower=point.value,
                upper=None,
                exact=None,
                witness=witness,
                method=f"all pairs of {result.n} samples",
                seed=args.seed,
                seconds=result.seconds,
            )
        )
    return {ModulusKind.SEQUENCE: tuple(estimates)}, samples.d, samples.N


def _as_json(target: str, d: int, N: int, p: float, estimates: dict, *, seed: int) -> dict[str, Any]:
    return {
        "target": target,
        "d": d,
        "N": N,
        "p": p,
        "seed": seed,
        "results": [e.to_json() for kind_estimates in estimates.values() for e in kind_estimates],
    }


def format_table(
    target: str, d: int, N: int, p: float, seed: int, estimates: dict[ModulusKind, Sequence[ModulusEstimate]]
) -> str:
    """A human-readable table: per kind and δ, the certified lower bound, the exact value or upper
    bound where known with the ratio, and the witness distance."""
    lines = [f"moduli of {target}  (d={d}, N={N}, p={p:g}, seed {seed})"]
    # every column starts with a space of its own: values never run together, whatever their width
    lines.append(f"  {'kind':<10} {'delta':>10} {'lower':>11} {'reference':>19} {'ratio':>8} {'|X-Y|':>10}")
    for kind, rows in estimates.items():
        for e in rows:
            reference, ratio = "-", "-"
            if e.upper is not None:
                reference = f"{e.upper:.5g} {'exact' if e.exact is not None else 'upper'}"
                if e.upper > 0:
                    ratio = f"{e.lower / e.upper:.4f}"
                elif e.lower == 0:
                    ratio = "0 = 0"
            lines.append(
                f"  {kind.value:<10} {e.delta:>10.4g} {e.lower:>11.5g} {reference:>19} {ratio:>8} {e.witness.distance:>10.4g}"
            )
        if rows:
            methods = "; ".join(dict.fromkeys(e.method for e in rows))
            lines.append(f"  {'':<11}witnesses from: {methods} ({rows[0].seconds:.2f} s)")
    lines.append("  lower: certified (attained by the witness pair, re-checked in float64); ratio = lower/reference")
    return "\n".join(lines)


def _plot(target: str, estimates: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4.5))
    for rows in estimates.values():
        plot_modulus(rows, ax=ax)
    ax.set_title(f"moduli of {target}")
    save_figure(figure, path)
