"""``loopbound train TARGET --model {standard,looped,timestep} --loops R [--layers L] [--d D --N N]
[--width W] [--steps S] [--seed S] [--device D] [--json]``: train one model and measure it.

TARGET is a target spec as elsewhere (``holder:alpha=0.5``, ``file.py:function``) or ``icl:linear``
for in-context linear regression (docs/training.md). The table (or with ``--json`` the object with
``task, model, loops, layers, params, steps, seed, test_error {value, lower, upper}, baselines
{constant, ...}, tokens_per_second, seconds`` and the resolved ``config``) goes to stdout; the
progress bar to stderr when it is a terminal. ``--checkpoint FILE`` saves the run every tenth of
its steps; ``--resume`` continues it (the final result is the same as an uninterrupted run's).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from loopbound.cli_types import nonnegative_int, positive_int, seed
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.training.config import MODELS, PAST_R, SIZES, config_for_size
from loopbound.training.result import TrainResult


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "train",
        help="train a standard, looped or timestep-modulated looped transformer and measure its error",
        description="Train one model on a target on the cube (MSE; error = the L^p estimate of verify, "
        "against the constant predictor) or on in-context linear regression (icl:linear; error/d at k = 2d "
        "against least squares, averaging and the looped-GD construction). See docs/training.md.",
    )
    parser.add_argument("target", metavar="TARGET", help="a target spec (holder:alpha=0.5, file.py:f) or icl:linear")
    parser.add_argument("--model", choices=MODELS, default="looped", help="model kind (default looped)")
    parser.add_argument("--loops", type=positive_int, default=4, help="loop count r (standard: its depth L = r)")
    parser.add_argument(
        "--layers", type=positive_int, default=None, help="distinct blocks (default: r for standard, 1)"
    )
    parser.add_argument("--d", type=positive_int, default=1, help="token dimension (icl: regression dimension)")
    parser.add_argument("--N", type=positive_int, default=None, help="tokens (icl: examples per prompt, default 2d+1)")
    parser.add_argument("--width", type=positive_int, default=None, help="residual width (default: the size's)")
    parser.add_argument("--steps", type=positive_int, default=None, help="optimiser steps (default: the size's)")
    parser.add_argument("--batch", type=positive_int, default=None, help="batch size (default: the size's)")
    parser.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate (default: the size's)")
    parser.add_argument("--last-loops", type=positive_int, default=None, help="T: loss over the last T loops")
    parser.add_argument("--truncate", action="store_true", help="no gradient through the first r - T loops")
    parser.add_argument("--curriculum", action="store_true", help="grow loops (and icl dimension) over training")
    parser.add_argument(
        "--past-r",
        choices=PAST_R,
        default=None,
        help="also train loops r..2r (window) or r..a random count in [r, 2r] (random); default none",
    )
    parser.add_argument("--inject", choices=("on", "off"), default=None, help="input injection (default: looped on)")
    parser.add_argument(
        "--positions", choices=("on", "off"), default=None, help="learned positions (default: on for icl:linear)"
    )
    parser.add_argument("--size", choices=tuple(SIZES), default="tiny", help="tiny (CPU, default) or gpu (untested)")
    parser.add_argument("--samples", type=positive_int, default=None, help="held-out Sobol points (cube)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed, an integer in [0, 2^63) (default 0)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:K (untested on GPU)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--checkpoint", default=None, metavar="FILE", help="checkpoint file, written every S/10 steps")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint when it exists")
    parser.add_argument("--checkpoint-every", type=nonnegative_int, default=None, help="steps between checkpoints")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from loopbound.training.loop import train

    device = resolve_device(args.device)
    config = config_for_size(
        args.size,
        target=args.target,
        model=args.model,
        loops=args.loops,
        layers=args.layers,
        d=args.d,
        N=args.N,
        width=args.width,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        last_loops=args.last_loops,
        truncate=args.truncate,
        curriculum=args.curriculum,
        past_r=args.past_r,
        inject=None if args.inject is None else args.inject == "on",
        positions=None if args.positions is None else args.positions == "on",
        eval_samples=args.samples,
        seed=args.seed,
        device=str(device),
    )
    with intra_op_threads(args.threads):
        result = train(
            config,
            device=device,
            checkpoint=args.checkpoint,
            resume=args.resume,
            checkpoint_every=args.checkpoint_every or None,
        )
    print(json.dumps(result.to_json(), indent=2) if args.json else format_result(result))
    return 0


def _interval(value: Any) -> str:
    return f"{value.value:.4g} [{value.lower:.4g}, {value.upper:.4g}]"


def format_result(result: TrainResult) -> str:
    """The human summary: the run, the error with its interval, at 2r, the baselines, throughput."""
    what = "error/d at k = 2d" if result.task == "icl" else f"L^{result.config['p']:g} error"
    lines = [
        f"{result.model} r={result.loops} layers={result.layers} width={result.width} params={result.params} "
        f"on {result.target} (d={result.d}, N={result.N}), {result.steps} steps, seed {result.seed}",
        f"  {what}: {_interval(result.test_error)}  ({result.test_error.level:.0%} interval)",
    ]
    if result.test_error_2r is not None:
        lines.append(f"  at 2r = {2 * result.loops} loops: {_interval(result.test_error_2r)}")
    for name, value in result.baselines.items():
        lines.append(f"  {name}: {_interval(value)}")
    speed = f"{result.tokens_per_second:.0f} tokens/s" if result.tokens_per_second else "n/a"
    lines.append(f"  training loss {result.train_loss:.4g}; {speed}; {result.seconds or 0:.1f} s in all")
    return "\n".join(lines)
