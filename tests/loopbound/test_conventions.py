"""The ecosystem's conventions: ``python -m loopbound``, ``--debug`` showing a user's traceback,
``make figures`` doing what it says, and the Makefile choosing torch's build by the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopbound import __version__
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

REPOSITORY = Path(__file__).resolve().parents[2]
STAMP = ".venv/.installed-stamp"
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

USER_TARGET = """\
def boom(X):
    return helper(X)


def helper(X):
    raise ZeroDivisionError("inside the user's code")
"""


def test_python_dash_m_prints_the_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "loopbound", "--version"], capture_output=True, text=True, timeout=120, cwd=REPOSITORY
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"loopbound {__version__}"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_inside_the_users_target(tmp_path: Path, where: str) -> None:
    target = tmp_path / "mine.py"
    target.write_text(USER_TARGET)
    args = ["build", f"{target}:boom", "--delta", "1/2"]
    plain = run_cli(*args)
    assert_one_line_error(plain, "ZeroDivisionError", "--debug")
    debug = run_cli("--debug", *args) if where == "before" else run_cli(*args, "--debug")
    assert debug.code == 2
    assert "Traceback" in debug.stderr and "in helper" in debug.stderr and str(target) in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("loopbound build: error: ")


def test_debug_adds_nothing_to_an_error_of_the_users_arguments() -> None:
    result = run_cli("--debug", "build", "nosuch", "--delta", "1/4")
    assert result.code == 2 and "unknown target" in result.stderr


def _make(*args: str, path: str | None = None) -> str:
    env = dict(os.environ, PATH=path or os.environ["PATH"])
    completed = subprocess.run(
        ["make", "--no-print-directory", *args], capture_output=True, text=True, timeout=300, cwd=REPOSITORY, env=env
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@needs_make
def test_make_figures_runs_loopbound_figures() -> None:
    assert "loopbound figures --out figures --size ci" in _make("-n", "-o", STAMP, "figures")


@needs_make
def test_make_installs_the_cpu_build_without_a_gpu_and_pypis_with_one(tmp_path: Path) -> None:
    no_gpu = tmp_path / "no-gpu"
    gpu = tmp_path / "gpu"
    for folder, listing in ((no_gpu, ""), (gpu, "GPU 0: NVIDIA H100 (UUID: GPU-0)")):
        folder.mkdir()
        fake = folder / "nvidia-smi"
        fake.write_text(f"#!/bin/sh\necho '{listing}'\n" if listing else "#!/bin/sh\nexit 9\n")
        fake.chmod(0o755)
    cpu_plan = _make("-n", "-B", STAMP, path=f"{no_gpu}:{os.environ['PATH']}")
    gpu_plan = _make("-n", "-B", STAMP, path=f"{gpu}:{os.environ['PATH']}")
    torch_cpu = next(line for line in cpu_plan.splitlines() if '"torch' in line)
    torch_gpu = next(line for line in gpu_plan.splitlines() if '"torch' in line)
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_cpu and "--no-deps" in torch_cpu
    assert "download.pytorch.org" not in torch_gpu and "--no-deps" in torch_gpu
    assert cpu_plan.index('"torch') < cpu_plan.index('-e ".[dev]"')  # torch first, then loopbound's own


@needs_make
@pytest.mark.slow
def test_make_figures_writes_and_names_the_figures(tmp_path: Path) -> None:
    out = _make(
        "-o",
        STAMP,
        "figures",
        f"BIN={Path(sys.executable).parent}",
        f"FIGURES_OUT={tmp_path}",
        "FIGURES_ARGS=--only precision_wall",
    )
    written = sorted(path.name for path in tmp_path.iterdir())
    assert "precision_wall.pdf" in written and "precision_wall.png" in written
    assert "precision_wall.pdf" in out
