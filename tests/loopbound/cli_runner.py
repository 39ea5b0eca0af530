"""Run the ``loopbound`` command line in-process and capture what a user would see."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from loopbound.cli import main


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Completed:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse exits for usage errors and --help
            code = int(stop.code or 0)
    return Completed(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: Completed, *fragments: str) -> None:
    """Exit status 2, one line on stderr containing ``fragments``, no traceback, nothing on stdout."""
    assert result.code == 2, f"exit status {result.code}, stderr: {result.stderr!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def held_in_a_bound_sweep(tmp_path: Path, *, name: str, bound: str, loops: int = 11) -> bool | None:
    """Run a one-cell ``approximation`` sweep of holder (N = 1) with the claimed ``bound`` at r = ``loops``
    and return its recorded ``verdict.held``; None when the sweep refuses the bound (exit 2, acceptable
    for a bound that cannot be certified)."""
    config = tmp_path / "sweep.toml"
    config.write_text(
        f"""name = "{name}"
cell = "approximation"
targets = ["holder:alpha=0.5"]
d = 1
N = [1]
p = 2
seeds = [0]
device = "cpu"

[approximation]
timestep = [false]
loops = [{loops}]
samples = 256
scramblings = 8
bound = "{bound}"
"""
    )
    out = tmp_path / "store"
    result = run_cli("sweep", str(config), "--out", str(out), "--workers", "1")
    if result.code == 2:
        return None
    records = list((out / "records").glob("*.json"))
    assert records, result.stdout + result.stderr
    return bool(json.loads(records[0].read_text())["result"]["verdict"]["held"])
