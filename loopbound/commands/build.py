"""``loopbound build TARGET --delta δ [--timestep] [--json]``: the universal construction's loops,
widths, parameter count and needed precision, against the theorem's sizes.

The construction is built as an exact spec (:func:`loopbound.constructions.universal.universal_spec`), so a
variant that float64 cannot hold is still described; the report says which dtype can evaluate it.
The precision of the other variant is printed beside it: the gap is what timestep scaling buys.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from fractions import Fraction
from typing import Any

import torch

from loopbound.cli_types import positive_int
from loopbound.constructions.quantization import DEFAULT_SHARPNESS
from loopbound.constructions.sizes import theory_sizes
from loopbound.constructions.universal import UniversalGuarantee, universal_spec
from loopbound.metadata import json_number, with_metadata
from loopbound.size_checks import check_build
from loopbound.target_loading import load_target
from loopbound.theory.deltas import grid_steps
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import intra_op_threads, significand_bits


def grid_delta(text: str) -> Fraction:
    """δ as ``0.125`` or ``1/8``: it must be 1/m for an integer m ≥ 2."""
    try:
        return Fraction(1, grid_steps(text))
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("delta ")) from None


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "build",
        help="the universal construction's loops, widths, parameters and precision",
        description="Build the looped universal approximator of TARGET at grid size delta = 1/m and report "
        "its loops, widths, parameter count and needed precision, beside the theorem's sizes.",
    )
    parser.add_argument("target", metavar="TARGET", help="built-in[:k=v,...], file.py:function or module:function")
    parser.add_argument("--delta", type=grid_delta, required=True, help="grid size 1/m (e.g. 0.25 or 1/4)")
    parser.add_argument("--timestep", action="store_true", help="with timestep scaling (Theorem 4.2)")
    parser.add_argument("--d", type=positive_int, default=1, help="token dimension (default 1)")
    parser.add_argument("--N", type=positive_int, default=2, help="sequence length (default 2)")
    parser.add_argument(
        "--sharpness", type=positive_int, default=DEFAULT_SHARPNESS, help="ReLU step sharpness M (default 2^30)"
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch intra-op threads on CPU (default 1, which suits a machine shared with other work)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(handler=run)


def describe(guarantee: UniversalGuarantee, other_bits: int) -> dict[str, Any]:
    """The guarantee as JSON values (numbers as numbers: δ = 1/m as its float, beside ``grid_size``
    m), which dtypes can evaluate it, the other variant's bits and the theorem's sizes."""
    record = {name: json_number(value) for name, value in asdict(guarantee).items()}
    record["failure_measure"] = guarantee.failure_measure
    record["evaluates_in"] = [
        name
        for name, dtype in (("float32", torch.float32), ("float64", torch.float64))
        if significand_bits(dtype) >= guarantee.precision_bits
    ] or ["exact rational arithmetic only"]
    record["precision_bits_other_variant"] = other_bits
    theory = theory_sizes(guarantee.grid_size, guarantee.d, guarantee.N)
    record["theory"] = {
        "embedding_width": theory.embedding_width,
        "ff_width": theory.ff_width,
        "heads": theory.heads,
        "head_size": theory.head_size,
        "loops": theory.loops,
    }
    return record


def run(args: argparse.Namespace) -> int:
    target = load_target(args.target, d=args.d, N=args.N)
    check_build(args.delta.denominator, d=args.d, N=args.N, d_out=target.d_out)  # refuse what cannot finish here
    with intra_op_threads(args.threads):
        guarantee = universal_spec(target, args.delta, timestep=args.timestep, sharpness=args.sharpness).guarantee
        other = universal_spec(target, args.delta, timestep=not args.timestep, sharpness=args.sharpness).guarantee
    record = {"target": args.target, **describe(guarantee, other.precision_bits)}
    if args.json:
        print(json.dumps(with_metadata(record)))
        return 0
    g, theory = guarantee, record["theory"]
    variant = "with timestep scaling" if g.timestep else "without timestep scaling"
    errors = ", ".join(f"{e:.4g}" for e in g.value_error_bound)
    lines = [
        f"universal approximator of {args.target} (d={g.d}, N={g.N}, d_out={g.d_out}), delta = {g.delta}, {variant}",
        f"  loops              {g.loops:>10}   = {g.quantisation_loops} quantisation + {g.contextual_loops} contextual + {g.value_loops} value   (theory: {theory['loops']})",
        f"  embedding width    {g.embedding_width:>10}   (theory 17d+9 = {theory['embedding_width']})",
        f"  feed-forward width {g.ff_width:>10}   (theory 49d+25 = {theory['ff_width']})",
        f"  attention          {g.heads:>10} head(s) of size {g.head_size}   (theory: {theory['heads']} of size {theory['head_size']})",
        f"  parameters         {g.parameter_count:>10}   (the same block in every loop)",
        f"  precision          {g.precision_bits:>10} bits   -> evaluates in {', '.join(record['evaluates_in'])}",
        f"                     {other.precision_bits:>10} bits {'without' if g.timestep else 'with'} timestep scaling",
        f"  value error bound  {errors:>10}   per output coordinate (Lemma 4.1; 0 with timestep scaling), label rounding {g.label_rounding:.1e}",
        f"  failure set        {g.failure_measure:>10.3g}   (bands {g.band_measure:.2g} + collisions {g.collision_measure:.3g}); output there within {g.output_bound:.4g}",
        f"  target equivariance: {g.equivariance}",
    ]
    print("\n".join(lines))
    return 0
