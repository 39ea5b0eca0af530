"""``loopbound figures [INPUT...] [--out DIR] [--size ci|paper] [--only NAME] [--stem NAME]``:
the paper figures.

Without INPUT every paper figure is regenerated from the repository: each notebook of
``notebooks/`` (py:percent scripts, one per figure) runs as a script into ``--out`` at the chosen
size, so the command and the notebooks draw the same figures by construction.

With INPUT, figures are drawn from stored records. INPUT is a JSON file of verify records
(``loopbound verify --json > a.json``; the run stage's ``approximation.json``; a list of records) or
a sweep store folder, whose cells are drawn by kind:

- verify records and ``approximation``/``approximation_curve`` cells: the approximation figure
  (:mod:`loopbound.figures.approximation`), ``DIR/NAME.{pdf,png}`` (NAME from ``--stem``, default
  ``approximation``); records of one (target, d, N, p) share a panel, with and without timestep
  scaling;
- ``modulus`` cells: their curves, one panel per (target, d, N, p, seed)
  (:func:`loopbound.figures.modulus.moduli_figure`), ``DIR/moduli.{pdf,png}`` (``NAME_moduli`` with
  ``--stem``);
- ``looped_gd`` cells, with the store's ``reference_curves`` and ``newton_schulz`` cells where
  present: the in-context regression figures (:func:`loopbound.figures.regression.write_figures`),
  ``DIR/regression_errors`` and ``DIR/regression_summary`` (``NAME_regression_…`` with ``--stem``).

Every figure is written atomically as PDF and PNG in the project style
(:mod:`loopbound.figures.style`: Type 42 fonts, deterministic bytes). Figures are keyed by the
records' configuration, never by a path or a run id.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from loopbound.figures.approximation import approximation_figure, load_records, records_in
from loopbound.figures.save import save_pdf_png
from loopbound.theory.errors import InputError

STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "figures",
        help="regenerate the paper figures (or draw them from stored records)",
        description="Without INPUT: run every notebook of notebooks/ (one per paper figure) into --out. "
        "With INPUT (verify JSON files or sweep store folders): draw error against loops (verify records, "
        "approximation cells), the moduli (modulus cells) and the in-context regression figures "
        "(looped_gd cells, with reference_curves and newton_schulz cells). Figures are saved as PDF and PNG.",
    )
    parser.add_argument("inputs", metavar="INPUT", nargs="*", help="verify JSON file(s) or sweep store folder(s)")
    parser.add_argument("--out", default="figures", help="folder to write into (created; default figures/)")
    parser.add_argument(
        "--size", choices=("ci", "paper"), default="ci", help="notebook size (default ci: minutes in all)"
    )
    parser.add_argument("--only", default=None, metavar="NAME", help="run only this notebook (e.g. moduli)")
    parser.add_argument(
        "--stem",
        default=None,
        help="file name without suffix for INPUT figures: NAME (approximation), NAME_moduli, NAME_regression_errors "
        "and NAME_regression_summary (default: approximation, moduli, regression_errors, regression_summary)",
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


APPROXIMATION_CELLS = ("approximation", "approximation_curve")
REGRESSION_CELLS = ("looped_gd", "reference_curves", "newton_schulz")


def read_inputs(paths: list[str]) -> dict[str, list[Any]]:
    """What each INPUT holds, by figure: ``approximation`` (verify records, from JSON files and the
    stores' approximation cells), ``modulus`` ((config, result) of modulus cells) and the results of
    ``looped_gd``, ``reference_curves`` and ``newton_schulz`` cells. A folder that is not a store, a
    missing path or a file that is not JSON is an InputError naming it; so is finding nothing to draw."""
    found: dict[str, list[Any]] = {"approximation": [], "modulus": [], **{cell: [] for cell in REGRESSION_CELLS}}
    for path in map(Path, paths):
        if not path.is_dir():
            found["approximation"] += load_records([path])
            continue
        from loopbound.sweep.store import Store

        if not (path / "records").is_dir():
            raise InputError(f"{path} is not a sweep store (no records/ folder)")
        for record in Store(path).iter_records():
            cell = record.config.get("cell")
            if cell in APPROXIMATION_CELLS:
                found["approximation"] += records_in(dict(record.result), f"{path}/records/{record.hash}.json")
            elif cell == "modulus":
                found["modulus"].append((record.config, record.result))
            elif cell in REGRESSION_CELLS:
                found[cell].append(record.result)
    if not any(found.values()):
        raise InputError(
            "nothing to draw in " + ", ".join(paths) + ": no verify records, approximation, modulus or looped_gd cells"
        )
    if (found["reference_curves"] or found["newton_schulz"]) and not found["looped_gd"]:
        raise InputError(
            "the regression figures need looped_gd cells; this store has only reference or Newton–Schulz cells"
        )
    return found


def _named(stem: str | None, default: str, suffix: str) -> str:
    return default if stem is None else f"{stem}_{suffix}"


def draw_inputs(found: dict[str, list[Any]], out: Path, stem: str | None) -> list[str]:
    """Draw every figure the inputs support into ``out``; return one line per figure."""
    import matplotlib

    matplotlib.use("Agg")
    lines = []
    records = found["approximation"]
    if records:
        check_numbers(records)
        written = save_pdf_png(approximation_figure(records), out / (stem or "approximation"))
        series = {(r["target"], r["d"], r["N"], r["timestep"]) for r in records}
        lines.append(f"{len(records)} record(s), {len(series)} series: " + ", ".join(map(str, written)))
    if found["modulus"]:
        from loopbound.figures.modulus import moduli_figure

        written = save_pdf_png(moduli_figure(found["modulus"]), out / _named(stem, "moduli", "moduli"))
        lines.append(f"{len(found['modulus'])} modulus cell(s): " + ", ".join(map(str, written)))
    if found["looped_gd"]:
        from loopbound.figures.regression import write_figures

        reference = found["reference_curves"][0] if found["reference_curves"] else None
        newton_schulz = found["newton_schulz"][0] if found["newton_schulz"] else None
        written = write_figures(
            out, found["looped_gd"], reference, newton_schulz, stem=_named(stem, "regression", "regression")
        )
        lines.append(f"{len(found['looped_gd'])} looped_gd cell(s): " + ", ".join(map(str, written)))
    return lines


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    if not args.inputs:
        out.mkdir(parents=True, exist_ok=True)
        return run_notebooks(out, size=args.size, only=args.only)
    if args.stem is not None and not STEM.match(args.stem):
        raise InputError(f"--stem must be a plain file name (letters, digits, . _ -), got {args.stem!r}")
    found = read_inputs(args.inputs)
    out.mkdir(parents=True, exist_ok=True)
    for line in draw_inputs(found, out, args.stem):
        print(line)
    return 0
