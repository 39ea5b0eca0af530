"""Run the ``loopbound`` command line in-process and capture what a user would see."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

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
