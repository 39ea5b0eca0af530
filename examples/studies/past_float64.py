"""The approximation study past float64: the construction of Theorem 3.6 with and without timestep
scaling, side by side, far past the loop counts float64 can hold (``verify --arithmetic auto``).

Writes, into OUT (default ``runs/past_float64``): one verify JSON record per (target, d, N, variant),
``approximation.pdf``/``.png`` (every record, refused r marked), and ``results.md``: the table of
rates (fitted exponent with its interval beside the theorem's −1/((N+1)d+1) and the construction
bound's own slope) and the table of regimes reached (N, d, δ, loops, bits, arithmetic, seconds per
1000 points). The numbers in docs/verify.md ("Past float64") come from this script.

    python examples/studies/past_float64.py [OUT] [--quick]

``--quick`` runs a reduced set in about a minute (a smoke test of the script).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from loopbound.figures.approximation import approximation_figure
from loopbound.figures.save import save_pdf_png
from loopbound.loop_budgets import parse_loops
from loopbound.target_loading import load_target
from loopbound.theory.numerics import intra_op_threads
from loopbound.verify import load_family, verify
from loopbound.verify_result import VerifyRow

# (target, d, N, timestep, loops as LOW:HIGH:COUNT, samples)
STUDY = [
    ("smooth", 1, 1, False, "5:1100:16", 1024),
    ("smooth", 1, 1, True, "5:1100:16", 1024),
    ("smooth", 1, 2, False, "9:1500:20", 1024),
    ("smooth", 1, 2, True, "9:1500:20", 1024),
    ("smooth", 2, 1, True, "18:15000:24", 2048),
    ("smooth", 2, 2, True, "66:4200:3", 1024),
]
QUICK = [
    ("smooth", 1, 1, False, "5:130:4", 256),
    ("smooth", 1, 1, True, "5:130:4", 256),
]


def run_one(target_name: str, d: int, N: int, timestep: bool, loops_text: str, samples: int) -> dict[str, Any]:
    """One verify record (JSON), rows printed as they finish."""
    family = load_family()
    grids = {family.grid_for_loops(r, d, N, timestep=timestep) for r in parse_loops(loops_text)}
    loops = tuple(sorted(family.loops_for_grid(m, d, N, timestep=timestep) for m in grids))  # each at its own loops
    variant = "timestep" if timestep else "looped"
    began = time.perf_counter()

    def report(row: VerifyRow) -> None:
        error = "refused" if row.measurement is None else f"{row.measurement.lp.value:.4g}"
        print(f"  {target_name} d={d} N={N} {variant} r={row.r} ({row.arithmetic}): {error}", flush=True)

    result = verify(
        load_target(target_name, d=d, N=N),
        loops=loops,
        timestep=timestep,
        samples=samples,
        scramblings=8,
        sup_search=False,
        arithmetic="auto",
        row_seconds=600.0,
        on_refusal="record",
        on_row=report,
    )
    record = result.to_json()
    record["study_seconds"] = time.perf_counter() - began
    return record


def rate_line(record: dict[str, Any]) -> str:
    """A markdown row: target, d, N, variant, r range, fitted exponent [interval], theorem's, bound's."""
    d, N = record["d"], record["N"]
    verdict = record["verdict"] or {}
    rate = verdict.get("rate") or {}
    measured = [row for row in record["rows"] if row["error"] is not None]
    rs = f"{measured[0]['r']}–{measured[-1]['r']}" if measured else "–"
    if rate.get("exponent") is None:
        fitted = rate.get("status", "not fitted")
    elif rate.get("lower") is None:
        fitted = f"{rate['exponent']:.3f} (no interval)"
    else:
        fitted = f"{rate['exponent']:.3f} [{rate['lower']:.3f}, {rate['upper']:.3f}]"
    claimed = verdict.get("claimed_exponent")
    theorem = -1.0 / ((N + 1) * d + 1)
    variant = "timestep" if record["timestep"] else "looped"
    status = verdict.get("summary", "nothing measured")
    refused = record.get("refused") or []
    status += f"; refused r = {', '.join(map(str, refused))}" if refused else ""
    claimed_text = "–" if claimed is None else f"{claimed:.3f}"
    return (
        f"| {record['target']} | {d} | {N} | {variant} | {rs} | {fitted} | {theorem:.3f} | {claimed_text} | {status} |"
    )


def regime_lines(record: dict[str, Any]) -> list[str]:
    """Markdown rows: N, d, δ, loops, bits, arithmetic, seconds per 1000 points, per measured row."""
    lines = []
    for row in record["rows"]:
        if row["measurement"] is None:
            continue
        lp = row["measurement"]["lp"]
        points = lp["scramblings"] * lp["points_per_scrambling"]
        per_thousand = 1000.0 * lp["seconds"] / points
        bits = (row["guarantee"] or {}).get("precision_bits", "–")
        variant = "timestep" if record["timestep"] else "looped"
        lines.append(
            f"| {record['N']} | {record['d']} | {variant} | 1/{row['grid']} | {row['loops']} | {bits} | "
            f"{row['arithmetic']} | {per_thousand:.3g} |"
        )
    return lines


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    paths = [arg for arg in argv if not arg.startswith("--")]
    out = Path(paths[0] if paths else "runs/past_float64")
    out.mkdir(parents=True, exist_ok=True)
    records = []
    with intra_op_threads(1):
        for target_name, d, N, timestep, loops_text, samples in QUICK if quick else STUDY:
            path = out / f"{target_name}-d{d}-N{N}-{'timestep' if timestep else 'looped'}.json"
            if path.exists():  # a rerun reuses what an earlier run wrote
                record = json.loads(path.read_text())
            else:
                record = run_one(target_name, d, N, timestep, loops_text, samples)
                path.write_text(json.dumps(record))
            records.append(record)
    save_pdf_png(approximation_figure(records), out / "approximation")
    lines = [
        "| target | d | N | variant | r | fitted exponent [95%] | theorem −1/((N+1)d+1) | bound's slope | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
        *(rate_line(record) for record in records),
        "",
        "| N | d | variant | δ | loops | bits | arithmetic | s / 1000 points |",
        "|---|---|---|---|---|---|---|---|",
        *(line for record in records for line in regime_lines(record)),
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main(sys.argv[1:]))
