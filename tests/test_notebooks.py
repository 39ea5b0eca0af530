"""Every notebook runs as a notebook and as a script, and writes its figure.

As a notebook: jupytext reads the py:percent file and nbclient executes it on an IPython kernel
(what Jupyter does), at the smoke size, with its output folder from ``LOOPBOUND_NOTEBOOK_OUT`` —
the kernel's own command line (``-f kernel.json``) must not be taken for it — and the figure is
shown inline. As a script (what ``loopbound figures`` does): at the CI size, into the folder given
as its first argument. Notebooks named in ``SLOW`` and the script runs are slow (``make test-slow``); the others execute
as notebooks in the default run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPOSITORY / "notebooks").glob("*.py"))
SLOW: dict[str, str] = {}
"""Notebooks too slow at the smoke size for the default run (name → why); they run with
``make test-slow``. Today none is: the six take about 43 s of CPU in all at the smoke size, kernels
included (about 7 s each; two cores with ``-n 2``: well under a minute)."""


def _marked(notebooks: list[Path]) -> list:
    return [pytest.param(path, id=path.stem, marks=pytest.mark.slow if path.stem in SLOW else ()) for path in notebooks]


def test_there_are_notebooks_and_one_runs_by_default() -> None:
    assert NOTEBOOKS
    assert {path.stem for path in NOTEBOOKS} - set(SLOW), "no notebook executes in the default test run"


def execute_as_notebook(path: Path, *, out: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch):
    """``path`` executed on an IPython kernel started in ``cwd`` (the kernel inherits the environment)."""
    jupytext = pytest.importorskip("jupytext", reason="the notebooks extra (jupytext) is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the notebooks extra (nbclient) is not installed")
    pytest.importorskip("ipykernel", reason="the notebooks extra (ipykernel) is not installed")
    monkeypatch.setenv("LOOPBOUND_NOTEBOOK_OUT", str(out))
    monkeypatch.setenv("LOOPBOUND_NOTEBOOK_SIZE", "smoke")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as in Jupyter
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return notebook


@pytest.mark.parametrize("notebook", _marked(NOTEBOOKS))
def test_notebook_executes_as_a_notebook(notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    cwd.mkdir()
    executed = execute_as_notebook(notebook, out=out, cwd=cwd, monkeypatch=monkeypatch)
    written = sorted(path.name for path in out.rglob("*") if path.is_file())
    assert any(name.endswith(".png") for name in written) and any(name.endswith(".pdf") for name in written), written
    assert sorted(cwd.iterdir()) == [], "the notebook wrote outside LOOPBOUND_NOTEBOOK_OUT (a folder named -f?)"
    for record in out.glob("*.json"):  # its records carry the metadata block (loopbound.metadata)
        assert {"schema_version", "loopbound_version", "git_commit", "timestamp"} <= json.loads(
            record.read_text()
        ).keys()
    shown = [
        output
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert shown, "no figure shown inline"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_as_a_script_at_ci_size_and_writes_its_figure(notebook: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LOOPBOUND_NOTEBOOK_SIZE": "ci", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    env.pop("LOOPBOUND_NOTEBOOK_OUT", None)
    completed = subprocess.run(
        [sys.executable, str(notebook), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=REPOSITORY,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert list(tmp_path.glob("*.png")) and list(tmp_path.glob("*.pdf")), sorted(p.name for p in tmp_path.iterdir())
