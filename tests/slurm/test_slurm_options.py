"""The Slurm path without a cluster (fast, in the default run): the ``[slurm]`` table's validation
and its submitit parameters, waiting on a job array through a stand-in ``squeue``, and the refusal
of CUDA cells that would get no GPU. The same paths on a real cluster: test_slurm_sweeps.py."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopbound.cli import main
from loopbound.sweep import slurm_queue
from loopbound.sweep.config import parse_config
from loopbound.sweep.slurm_queue import LEFT_QUEUE, array_states, wait_for_array
from loopbound.theory.errors import InputError

NAPS = """name = "naps"
cell = "slurm_nap"
imports = ["tests.slurm.kinds"]
device = "{device}"
{extra}
[slurm_nap]
index = [0, 1]
"""


def test_slurm_options_become_submitit_parameters() -> None:
    config = parse_config(
        NAPS.format(
            device="cpu",
            extra='[slurm]\npartition = "gpu"\naccount = "lab-1"\nqos = "normal"\ntime = "1-02:03:30"\n'
            "cpus_per_task = 4\nmem_gb = 16\ngpus_per_node = 1\narray_parallelism = 32\n"
            '[submitit]\nslurm_constraint = "a100"\n',
        )
    )
    assert config.executor_parameters == {
        "slurm_partition": "gpu",
        "slurm_account": "lab-1",
        "slurm_qos": "normal",
        "timeout_min": (24 + 2) * 60 + 3 + 1,  # 30 s round up to a minute
        "cpus_per_task": 4,
        "mem_gb": 16.0,
        "gpus_per_node": 1,
        "slurm_array_parallelism": 32,
        "slurm_constraint": "a100",
    }
    assert parse_config(NAPS.format(device="cpu", extra="[slurm]\ntime = 90\n")).executor_parameters == {
        "timeout_min": 90
    }


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ("[slurm]\nnodes = 2\n", "[slurm] nodes: unknown key (known: partition, account"),
        ('[slurm]\npartition = "a b"\n', "[slurm] partition: must be a Slurm name"),
        ("[slurm]\npartition = 3\n", "[slurm] partition: must be a Slurm name"),
        ('[slurm]\ntime = "2 hours"\n', "[slurm] time: must be minutes or D-HH:MM:SS, got '2 hours'"),
        ('[slurm]\ntime = "1:75:00"\n', "[slurm] time: must be minutes or D-HH:MM:SS"),
        ("[slurm]\ntime = 0\n", "[slurm] time: must be an integer >= 1, got 0"),
        ("[slurm]\ncpus_per_task = 0\n", "[slurm] cpus_per_task: must be an integer >= 1, got 0"),
        ("[slurm]\ncpus_per_task = 1.5\n", "[slurm] cpus_per_task: must be an integer, got 1.5"),
        ('[slurm]\nmem_gb = "4G"\n', "[slurm] mem_gb: must be a number, got '4G'"),
        ("[slurm]\nmem_gb = 0\n", "[slurm] mem_gb: must be > 0, got 0"),
        ("[slurm]\ngpus_per_node = -1\n", "[slurm] gpus_per_node: must be an integer >= 0, got -1"),
        ("[slurm]\narray_parallelism = true\n", "[slurm] array_parallelism: must be an integer, got True"),
        ('slurm = "gpu"\n', "[slurm]: must be a table of Slurm options"),
        ("[slurm]\ncpus_per_task = 2\n[submitit]\ncpus_per_task = 4\n", "[submitit] cpus_per_task: is set by [slurm]"),
    ],
)
def test_bad_slurm_options_are_one_line_errors_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, said: str
) -> None:
    config = tmp_path / "naps.toml"
    config.write_text(NAPS.format(device="cpu", extra=table), encoding="utf-8")
    status = main(["sweep", str(config), "--executor", "submitit", "--out", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and said in err, err
    assert not (tmp_path / "store").exists()  # refused before anything was written


def test_cuda_cells_on_slurm_without_gpus_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "naps.toml"
    config.write_text(NAPS.format(device="cuda", extra='[submitit]\ncluster = "slurm"\n'), encoding="utf-8")
    status = main(["sweep", str(config), "--executor", "submitit", "--out", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert "cells ask for device cuda but the Slurm jobs get no GPU: set gpus_per_node" in err
    assert not list((tmp_path / "store" / "submitit").glob("*_submitted.pkl"))  # nothing was submitted


# --------------------------------------------------------------------------- squeue
def fake_squeue(
    folder: Path, monkeypatch: pytest.MonkeyPatch, *, out: str = "", err: str = "", status: int = 0
) -> None:
    """Put a ``squeue`` on PATH that prints ``out`` and ``err`` and exits with ``status``."""
    script = folder / "squeue"
    script.write_text(f"#!/bin/sh\nprintf '%s' '{out}'\nprintf '%s' '{err}' >&2\nexit {status}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")


def test_array_states_reads_squeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_squeue(tmp_path, monkeypatch, out="7_0|COMPLETED\n7_1|RUNNING\n7_2|PENDING\n")
    assert array_states(["7"]).states == {"7_0": "COMPLETED", "7_1": "RUNNING", "7_2": "PENDING"}
    fake_squeue(tmp_path, monkeypatch, err="slurm_load_jobs error: Invalid job id specified", status=1)
    assert array_states(["7"]) == slurm_queue.QueueAnswer({})  # forgotten by the controller: ended
    fake_squeue(tmp_path, monkeypatch, err="slurm_load_jobs error: Unable to contact slurm controller", status=1)
    answer = array_states(["7"])
    assert answer.error is not None and "Unable to contact" in answer.error


@dataclass
class _Paths:
    result_pickle: Path


@dataclass
class _Job:
    job_id: str
    paths: _Paths


def test_wait_for_array_ends_on_results_states_and_tasks_that_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slurm_queue, "QUERY_SECONDS", 0.0)
    monkeypatch.setattr(slurm_queue, "RESULT_GRACE_SECONDS", 0.2)
    jobs = [_Job(f"7_{k}", _Paths(tmp_path / f"7_{k}_result.pkl")) for k in range(4)]
    jobs[0].paths.result_pickle.write_bytes(b"done")  # returned (squeue may still list it)
    fake_squeue(tmp_path, monkeypatch, out="7_0|COMPLETING\n7_1|CANCELLED\n7_2|OUT_OF_MEMORY\n")
    polls: list[int] = []
    ended = wait_for_array(jobs, poll_seconds=0.01, on_poll=lambda: polls.append(1))
    assert ended == {"7_0": "COMPLETED", "7_1": "CANCELLED", "7_2": "OUT_OF_MEMORY", "7_3": LEFT_QUEUE}
    assert len(polls) >= 2


def test_wait_for_array_waits_while_tasks_are_active(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slurm_queue, "QUERY_SECONDS", 0.0)
    job = _Job("8_0", _Paths(tmp_path / "8_0_result.pkl"))
    fake_squeue(tmp_path, monkeypatch, out="8_0|RUNNING\n")
    polls: list[int] = []

    def finish_on_the_third_poll() -> None:
        polls.append(1)
        if len(polls) == 3:
            job.paths.result_pickle.write_bytes(b"done")

    assert wait_for_array([job], poll_seconds=0.01, on_poll=finish_on_the_third_poll) == {"8_0": "COMPLETED"}
    assert len(polls) >= 3


def test_wait_for_array_gives_up_when_squeue_keeps_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slurm_queue, "QUERY_SECONDS", 0.0)
    monkeypatch.setattr(slurm_queue, "GIVE_UP_SECONDS", 0.05)
    fake_squeue(tmp_path, monkeypatch, err="Unable to contact slurm controller", status=1)
    job = _Job("9_0", _Paths(tmp_path / "9_0_result.pkl"))
    ended = wait_for_array([job], poll_seconds=0.01, on_poll=lambda: None)
    assert ended["9_0"].startswith("in an unknown state (squeue: Unable to contact slurm controller")


def test_slurm_options_validation_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"\[slurm\] gpus_per_node"):
        parse_config(NAPS.format(device="cpu", extra="[slurm]\ngpus_per_node = 1.5\n"))
