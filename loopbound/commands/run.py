"""``loopbound run``: the main job — the default suite end to end, with a report.

Stages run in order and each writes its records and figures under ``--out`` (default ``runs/``):
- moduli: ω, ω^tok, ω^cont of every built-in target, certified lower bounds against the exact
  values where known (``moduli.json``, ``moduli.png``, ``moduli.pdf``).
Later stages (verdicts of the approximation theorems) add themselves to :data:`STAGES`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from loopbound.atomic import write_text_atomic
from loopbound.cli_types import nonnegative_int
from loopbound.plots import plot_modulus, save_figure
from theory.kinds import ModulusKind
from theory.modulus import estimate_moduli
from theory.targets import BUILTIN_TARGETS, builtin_target

MODULI_DELTAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
MODULI_SHAPE = {"d": 2, "N": 3}


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

    names = sorted(BUILTIN_TARGETS)
    columns = 3
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    records: list[dict[str, Any]] = []
    lines = [
        f"moduli of the built-in targets (d={MODULI_SHAPE['d']}, N={MODULI_SHAPE['N']}, p=2, "
        f"δ from {MODULI_DELTAS[0]} to {MODULI_DELTAS[-1]}, seed {seed})",
        f"  {'target':<34}{'kind':<12}{'lower at δ=0.1':>16}{'exact/upper':>14}{'min lower/exact':>17}",
    ]
    for ax, name in zip(axes.flat, names):
        target = builtin_target(name, **MODULI_SHAPE)
        for kind, estimates in estimate_moduli(target, MODULI_DELTAS, seed=seed).items():
            plot_modulus(estimates, ax=ax)
            records.extend({"target": target.spec, **MODULI_SHAPE, "p": 2.0, **e.to_json()} for e in estimates)
            at = next(e for e in estimates if e.delta == 0.1)
            ratios = [e.lower / e.exact for e in estimates if e.exact]
            worst = f"{min(ratios):.4f}" if ratios else ("exact 0" if all(e.exact == 0 for e in estimates) else "-")
            reference = "-" if at.upper is None else f"{at.upper:.4g}"
            lines.append(f"  {target.spec:<34}{kind.value:<12}{at.lower:>16.4g}{reference:>14}{worst:>17}")
        ax.set_title(target.spec)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    figure.suptitle("Moduli of the built-ins: certified lower bounds (markers), exact values (bands), analytic upper bounds (dotted)")
    figure.tight_layout()
    write_text_atomic(out / "moduli.json", json.dumps(records))
    for suffix in ("png", "pdf"):
        save_figure(figure, out / f"moduli.{suffix}", close=False)
    plt.close(figure)
    lines.append(f"  records: {out / 'moduli.json'}   figure: {out / 'moduli.png'}, {out / 'moduli.pdf'}")
    return lines


STAGES: list[tuple[str, Callable[[Path, int], list[str]]]] = [("moduli", moduli_stage)]


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
