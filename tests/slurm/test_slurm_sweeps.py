"""Sweeps on a real Slurm cluster (``make test-slurm`` starts one on this machine; marker ``slurm``).

Each test runs ``loopbound sweep … --executor submitit`` as a user would, with stderr on a
pseudo-terminal (so the progress bar draws as it does for a user), and checks the store: every cell
recorded by an array task (``"executor": "submitit-slurm"``), records equal to a local run's,
``scancel`` mid-sweep then ``--resume`` leaving every cell recorded once, failures on a node
reported with the task's Slurm log, and the ``[slurm]`` options reaching ``sbatch``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopbound.sweep import Store, expand_cells, load_config

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[2]
RUN_FIELDS = {"executor", "wall_seconds", "started_at", "finished_at", "host", "pid", "run_id", "checksum"}
"""Fields of a record that say how and when it was computed, not what: they differ between runs."""

NOISE = re.compile(r"sacct|bypassing|warning|traceback", re.IGNORECASE)
"""What a user must not see on stderr during a healthy Slurm sweep (submitit's sacct polling)."""

MODULI = """
name = "moduli-slurm"
cell = "modulus"
targets = ["holder:alpha=0.5", "contextual_max"]
d = 1
N = [1, 2]
p = 2
seeds = [0]
device = "cpu"

[modulus]
kind = "sequence"
deltas = [0.1, 0.3]
restarts = 4
steps = 20
"""


def nap_sweep(path: Path, *, cells: int, seconds: float, fail: str | list[str] = "none", extra: str = "") -> Path:
    """A ``slurm_nap`` sweep file (tests/slurm/kinds.py) of ``cells`` cells, ``fail`` an axis."""
    path.write_text(
        f'name = "{path.stem}"\ncell = "slurm_nap"\nimports = ["tests.slurm.kinds"]\ndevice = "cpu"\n{extra}\n'
        f"[slurm_nap]\nindex = {list(range(cells))}\nseconds = {seconds}\nfail = {json.dumps(fail)}\n",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class Ran:
    """A finished ``loopbound sweep``: exit status, stdout, and stderr as the terminal showed it."""

    status: int
    stdout: str
    stderr: str


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "COLUMNS": "100"}


def start_sweep(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m loopbound.cli sweep ARGS`` from the repository root, stderr on a pseudo-terminal
    (the progress bar draws only on a terminal)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide
    process = subprocess.Popen(
        [sys.executable, "-m", "loopbound.cli", "sweep", *args],
        cwd=ROOT,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    return process, leader


def finish_sweep(process: subprocess.Popen[bytes], leader: int, *, timeout: float = 300) -> Ran:
    """Wait for a sweep started by :func:`start_sweep`, reading its terminal as it writes."""
    shown = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                chunk = b""
            if not chunk and process.poll() is not None:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    else:
        process.kill()
        process.wait()
        os.close(leader)
        pytest.fail(f"the sweep did not finish within {timeout} s; its terminal showed:\n{shown.decode()}")
    stdout = process.stdout.read().decode() if process.stdout is not None else ""
    status = process.wait()
    os.close(leader)
    return Ran(status, stdout, shown.decode(errors="replace"))


def sweep(*args: str, timeout: float = 300) -> Ran:
    process, leader = start_sweep(*args)
    return finish_sweep(process, leader, timeout=timeout)


def records(store: Path) -> dict[str, dict]:
    """Every record of a store by hash, read strictly (a corrupt one fails the test)."""
    return {h: Store(store).read(h).to_json() for h in Store(store).record_hashes()}


def without_run_fields(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in RUN_FIELDS}


def test_a_sweep_on_slurm_writes_the_records_a_local_run_writes(tmp_path: Path, slurm_cluster: str) -> None:
    config = tmp_path / "moduli-slurm.toml"
    config.write_text(MODULI, encoding="utf-8")
    hashes = {cell.hash for cell in expand_cells(load_config(config))}
    assert len(hashes) == 4

    on_slurm = sweep(str(config), "--executor", "submitit", "--out", str(tmp_path / "slurm"))
    assert on_slurm.status == 0, on_slurm
    assert "4 done, 0 skipped (already recorded), 0 failed" in on_slurm.stdout
    assert "submitit on Slurm, one array task per cell" in on_slurm.stdout
    assert "4/4" in on_slurm.stderr, on_slurm.stderr  # the progress bar reached the end
    assert not NOISE.search(on_slurm.stderr), on_slurm.stderr
    logs = sorted((tmp_path / "slurm" / "submitit").glob("*_log.out"))
    assert len(logs) == 4, logs  # one array task per cell

    here = sweep(str(config), "--executor", "local", "--workers", "2", "--out", str(tmp_path / "local"))
    assert here.status == 0, here
    slurm_records, local_records = records(tmp_path / "slurm"), records(tmp_path / "local")
    assert slurm_records.keys() == local_records.keys() == hashes
    for h in hashes:
        assert slurm_records[h]["executor"] == "submitit-slurm"
        assert local_records[h]["executor"] == "local"
        assert without_run_fields(slurm_records[h]) == without_run_fields(local_records[h]), h


def _array_id(folder: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        submitted = sorted(folder.glob("*_submitted.pkl"))
        if submitted:
            return submitted[0].name.split("_")[0]
        time.sleep(0.2)
    pytest.fail(f"no job was submitted within {timeout} s (nothing in {folder})")


def _wait_for_records(store: Path, count: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Store(store).record_hashes()) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"fewer than {count} record(s) in {store} after {timeout} s")


def test_scancel_mid_sweep_then_resume_records_every_cell_once(tmp_path: Path, slurm_cluster: str) -> None:
    config = nap_sweep(tmp_path / "naps.toml", cells=6, seconds=4.0)
    store = tmp_path / "store"
    process, leader = start_sweep(str(config), "--executor", "submitit", "--out", str(store))
    array = _array_id(store / "submitit")
    _wait_for_records(store, 1)
    subprocess.run(["scancel", array], check=True, timeout=60)
    cancelled = finish_sweep(process, leader)

    before = {path.name: path.read_bytes() for path in (store / "records").glob("*.json")}
    assert cancelled.status == 1, cancelled
    assert 1 <= len(before) < 6, sorted(before)
    failed = [line for line in cancelled.stdout.splitlines() if line.startswith("  failed ")]
    assert len(failed) == 6 - len(before), cancelled.stdout  # every cell is recorded or said failed
    for line in failed:
        assert f"Slurm task {array}_" in line and "(log: " in line, line
    assert not NOISE.search(cancelled.stderr), cancelled.stderr

    resumed = sweep(str(config), "--executor", "submitit", "--out", str(store), "--resume")
    assert resumed.status == 0, resumed
    assert f"{6 - len(before)} done, {len(before)} skipped" in resumed.stdout, resumed.stdout
    after = {path.name: path.read_bytes() for path in (store / "records").glob("*.json")}
    hashes = {cell.hash for cell in expand_cells(load_config(config))}
    assert {name.removesuffix(".json") for name in after} == hashes  # every cell, nothing else
    assert all(after[name] == content for name, content in before.items())  # not computed again
    assert not list((store / "records").glob(".tmp-*")), "temporary files left in the store"
    stored = records(store)
    assert {r["executor"] for r in stored.values()} == {"submitit-slurm"}
    assert len({r["run_id"] for r in stored.values()}) == 6
    assert sorted(r["result"]["index"] for r in stored.values()) == list(range(6))


def test_a_cell_failing_on_a_node_is_reported_with_its_slurm_log(tmp_path: Path, slurm_cluster: str) -> None:
    config = nap_sweep(tmp_path / "failing.toml", cells=1, seconds=0.0, fail=["none", "raise", "crash"])
    store = tmp_path / "store"
    ran = sweep(str(config), "--executor", "submitit", "--out", str(store))
    assert ran.status == 1, ran
    assert "1 done, 0 skipped (already recorded), 2 failed" in ran.stdout, ran.stdout
    failing = re.compile(r"^  failed .* fail=(\w+): ")
    failed = {m[1]: line for line in ran.stdout.splitlines() if (m := failing.match(line))}
    assert failed.keys() == {"raise", "crash"}, ran.stdout
    raised, crashed = failed["raise"], failed["crash"]
    assert "RuntimeError: nap cell 0 fails on purpose (Slurm log: " in raised
    assert re.search(r"Slurm task \d+_\d+ ended (FAILED|\(no longer listed by squeue\)) before writing", crashed)
    for line, said in ((raised, "RuntimeError: nap cell 0 fails on purpose"), (crashed, "")):
        log = Path(re.findall(r"log: (\S+?)\)", line)[-1])
        assert log.is_file() and log.parent == store / "submitit", line
        assert said in log.read_text(encoding="utf-8")
    for cell in expand_cells(load_config(config)):  # each failed cell's reason is in its failure file
        if cell.params.fail != "none":
            reason = json.loads((store / "failures" / f"{cell.hash}.json").read_text(encoding="utf-8"))["reason"]
            assert reason in failed[cell.params.fail], (reason, failed)
    assert not NOISE.search(ran.stderr), ran.stderr
    resumed = sweep(str(config), "--executor", "submitit", "--out", str(store), "--resume")
    assert resumed.status == 1 and "0 done, 1 skipped (already recorded), 2 failed" in resumed.stdout, resumed


def test_slurm_options_reach_sbatch(tmp_path: Path, slurm_cluster: str) -> None:
    options = '[slurm]\npartition = "{}"\ntime = "0:05:00"\ncpus_per_task = 1\nmem_gb = 0.25\narray_parallelism = 1\n'
    partition = subprocess.run(
        ["sinfo", "--noheader", "--format=%R"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()[0]
    config = nap_sweep(tmp_path / "options.toml", cells=2, seconds=1.0, extra=options.format(partition))
    store = tmp_path / "store"
    ran = sweep(str(config), "--executor", "submitit", "--out", str(store))
    assert ran.status == 0, ran
    script = next((store / "submitit").glob("*_submission.sh")).read_text(encoding="utf-8")
    for line in (f"--partition={partition}", "--time=5", "--cpus-per-task=1", "--mem=256MB", "--array=0-1%1"):
        assert f"#SBATCH {line}\n" in script, (line, script)
    first, second = sorted(records(store).values(), key=lambda r: r["started_at"])
    assert second["started_at"] > first["finished_at"]  # array_parallelism = 1: one task at a time

    wrong = nap_sweep(tmp_path / "wrong.toml", cells=1, seconds=0.0, extra=options.format("no-such-partition"))
    refused = subprocess.run(
        [sys.executable, "-m", "loopbound.cli", "sweep", str(wrong), "--executor", "submitit", "--out", str(tmp_path)],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2, refused
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "submitit could not submit the jobs" in lines[0], refused.stderr
    assert "partition" in lines[0].lower(), lines
