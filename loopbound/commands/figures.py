"""``loopbound figures [INPUT...] [--out DIR] [--size ci|paper] [--only NAME] [--stem NAME]``:
the paper figures.

Without INPUT every paper figure is regenerated from the repository: each notebook of
``notebooks/`` (py:percent scripts, one per figure) runs as a script into ``--out`` at the chosen
size, so the command and the notebooks draw the same figures by construction.

With INPUT, the approximation figure is drawn from stored records: INPUT is a JSON file of verify records (``loopbound verify --json > a.json``; the run stage's
``approximation.json``; a list of records) or a sweep store folder (its ``approximation`` cells).
Records of one (target, d, N, p) share a panel, with and without timestep scaling; the figure is
written atomically as ``DIR/NAME.pdf`` and ``DIR/NAME.png`` (default ``figures/approximation``).
Figures are keyed by the records' configuration, never by a path or a run id.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from loopbound.figures.approximation import approximation_figure, load_records
from loopbound.figures.save import save_figure
from loopbound.theory.errors import InputError

STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "figures",
        help="regenerate the paper figures (or draw one from stored verify records)",
        description="Without INPUT: run every notebook of notebooks/ (one per paper figure) into --out. "
        "With INPUT (verify JSON files or sweep store folders): draw error against loops on log-log axes, "
        "measured with its interval band and the bound dashed, with and without timestep scaling. "
        "Figures are saved as PDF and PNG.",
    )
    parser.add_argument("inputs", metavar="INPUT", nargs="*", help="verify JSON file(s) or sweep store folder(s)")
    parser.add_argument("--out", default="figures", help="folder to write into (created; default figures/)")
    parser.add_argument(
        "--size", choices=("ci", "paper"), default="ci", help="notebook size (default ci: minutes in all)"
    )
    parser.add_argument("--only", default=None, metavar="NAME", help="run only this notebook (e.g. moduli)")
    parser.add_argument(
        "--stem", default="approximation", help="file name without suffix for INPUT figures (default approximation)"
    )
    parser.set_defaults(handler=run)


ROW_NUMBERS = ("error", "lower", "upper", "bound")
"""The numbers of a record's row that the figure draws (each a real number or null)."""


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_numbers(records: list[dict[str, Any]]) -> None:
    """Refuse (one line) a record whose numbers the figure reads are not numbers: d, N integers
    ≥ 1, p real, each row's r an integer ≥ 1 and its error, interval and bound real or null."""
    for record in records:
        name = f"record of {record.get('target')!r}"
        for key in ("d", "N"):
            if not _is_real(record[key]) or record[key] != int(record[key]) or record[key] < 1:
                raise InputError(f"{name}: {key} must be an integer >= 1, got {record[key]!r}")
        if not _is_real(record["p"]):
            raise InputError(f"{name}: p must be a number, got {record['p']!r}")
        rows = record["rows"]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise InputError(f"{name}: rows must be a list of objects")
        for row in rows:
            r = row.get("r")
            if not _is_real(r) or not float(r).is_integer() or r < 1:
                raise InputError(f"{name}: a row has r = {r!r}, not an integer >= 1")
            for key in ROW_NUMBERS:
                if row.get(key) is not None and not _is_real(row[key]):
                    raise InputError(f"{name}: the row at r = {r} has {key} = {row[key]!r}, not a number")


def notebooks_folder() -> Path:
    """The repository's notebooks/ beside the installed packages (editable installs and checkouts)."""
    folder = Path(__file__).resolve().parents[2] / "notebooks"
    if not folder.is_dir():
        raise InputError(f"no notebooks/ folder at {folder}: run loopbound figures from a checkout of the repository")
    return folder


def run_notebooks(out: Path, *, size: str, only: str | None) -> int:
    """Run each notebook as a script into ``out``; report each figure, and any failure in one line."""
    import os
    import subprocess
    import sys

    notebooks = sorted(notebooks_folder().glob("*.py"))
    if only is not None:
        notebooks = [path for path in notebooks if path.stem == only]
        if not notebooks:
            names = ", ".join(path.stem for path in sorted(notebooks_folder().glob("*.py")))
            raise InputError(f"no notebook named {only!r}; there are: {names}")
    env = {**os.environ, "LOOPBOUND_NOTEBOOK_SIZE": size, "MPLBACKEND": "Agg"}
    failures = 0
    for notebook in notebooks:
        print(f"[figures] {notebook.stem} ...", file=sys.stderr, flush=True)
        completed = subprocess.run(
            [sys.executable, str(notebook), str(out)],
            capture_output=True,
            text=True,
            env=env,
            cwd=notebook.parent.parent,
        )
        if completed.returncode != 0:
            failures += 1
            last = (completed.stderr.strip().splitlines() or ["(no message)"])[-1]
            print(f"  {notebook.stem}: failed: {last}", flush=True)
        else:
            made = sorted(path.name for path in out.glob(f"{notebook.stem}*") if path.suffix in (".pdf", ".png"))
            print(f"  {notebook.stem}: {', '.join(made) or 'no figure written'}", flush=True)
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    if not args.inputs:
        out.mkdir(parents=True, exist_ok=True)
        return run_notebooks(out, size=args.size, only=args.only)
    if not STEM.match(args.stem):
        raise InputError(f"--stem must be a plain file name (letters, digits, . _ -), got {args.stem!r}")
    records = load_records(args.inputs)
    check_numbers(records)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = approximation_figure(records)
    written = [save_figure(figure, out / f"{args.stem}.{suffix}", close=False) for suffix in ("pdf", "png")]
    plt.close(figure)
    series = {(r["target"], r["d"], r["N"], r["timestep"]) for r in records}
    print(f"{len(records)} record(s), {len(series)} series: " + ", ".join(str(path) for path in written))
    return 0
