"""Every paper figure regenerates from the repository: each notebook (a py:percent script) runs at
CI size, exits 0 and writes its figure as PDF and PNG into the folder it is given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_at_ci_size_and_writes_its_figure(notebook: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LOOPBOUND_NOTEBOOK_SIZE": "ci", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, str(notebook), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=notebook.parent.parent,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert list(tmp_path.glob("*.png")) and list(tmp_path.glob("*.pdf")), sorted(p.name for p in tmp_path.iterdir())
