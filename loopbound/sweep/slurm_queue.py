"""Waiting for the tasks of a Slurm job array, with ``squeue`` (no job accounting needed).

submitit learns the states of jobs from ``sacct``. A cluster without accounting storage
(``AccountingStorageType=accounting_storage/none``: small clusters, and the one of
``make test-slurm``) answers every ``sacct`` call with an error, which submitit logs as a warning
on each poll; and a task that ended without writing its result file (cancelled, killed, out of
memory, past its time limit) then never looks finished, so waiting for it never returns.

loopbound therefore waits on its own: a task has ended when its result file exists, or when
``squeue --states=all`` (answered by the controller from memory, with or without accounting) lists
it in a state outside :data:`ACTIVE_STATES`, or no longer lists it (Slurm forgets a job
``MinJobAge`` after it ended, and a pending array task that is cancelled at once). submitit's
``sacct`` is never called, so it logs nothing. The jobs are submitit's ``Job`` objects: their
``job_id`` (``"<array>_<task>"``) and ``paths.result_pickle`` are all that is used here.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "STOPPED",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESV_DEL_HOLD",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
    }
)
"""squeue's states (``%T``) of a task that has not ended yet."""

LEFT_QUEUE = "(no longer listed by squeue)"
"""The state given to a task that squeue does not list any more."""

QUERY_SECONDS = 2.0
"""At most one squeue call per this many seconds (the store is read more often)."""

RESULT_GRACE_SECONDS = 5.0
"""How long to wait for the result file of a task that ended without error (a shared file
system may show it late)."""

GIVE_UP_SECONDS = 600.0
"""squeue failing for this long (the controller unreachable) ends the wait; the tasks not yet
ended are reported with squeue's error, and their cells are computed by ``--resume``."""


@dataclass(frozen=True)
class QueueAnswer:
    """squeue's answer: each listed task's state (``"12_3" -> "RUNNING"``), or why it failed."""

    states: Mapping[str, str]
    error: str | None = None


def array_states(array_ids: Iterable[str], *, timeout: float = 60.0) -> QueueAnswer:
    """The states of every task of the job arrays ``array_ids`` that the controller still knows."""
    ids = sorted(set(array_ids))
    command = ["squeue", "--noheader", "--array", "--states=all", f"--jobs={','.join(ids)}", "--format=%i|%T"]
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return QueueAnswer({}, f"{type(error).__name__}: {' '.join(str(error).split())}")
    if answer.returncode != 0:
        message = " ".join(answer.stderr.split())
        if "Invalid job id" in message:  # every one of them has left the controller's memory
            return QueueAnswer({})
        return QueueAnswer({}, message or f"squeue exited with status {answer.returncode}")
    states: dict[str, str] = {}
    for line in answer.stdout.splitlines():
        task, _, state = line.strip().partition("|")
        if task:
            states[task] = state.strip().upper()
    return QueueAnswer(states)


def _has_result(job: Any) -> bool:
    return bool(job.paths.result_pickle.exists())


def wait_for_array(jobs: Sequence[Any], *, poll_seconds: float, on_poll: Callable[[], None]) -> dict[str, str]:
    """Wait until every task in ``jobs`` has ended, calling ``on_poll`` every ``poll_seconds``;
    returns each task's last state (``COMPLETED`` for one that wrote its result file)."""
    ended: dict[str, str] = {}
    last_query, failing_since = -math.inf, None
    while True:
        on_poll()
        for job in jobs:
            if job.job_id not in ended and _has_result(job):
                ended[job.job_id] = "COMPLETED"
        waiting = [job for job in jobs if job.job_id not in ended]
        if not waiting:
            break
        now = time.monotonic()
        if now - last_query >= QUERY_SECONDS:
            last_query = now
            answer = array_states(str(job.job_id).split("_")[0] for job in waiting)
            if answer.error is None:
                failing_since = None
                for job in waiting:
                    state = answer.states.get(job.job_id)
                    if state not in ACTIVE_STATES:
                        ended[job.job_id] = state or LEFT_QUEUE
            else:
                failing_since = now if failing_since is None else failing_since
                if now - failing_since >= GIVE_UP_SECONDS:
                    for job in waiting:
                        ended[job.job_id] = f"in an unknown state (squeue: {answer.error})"
                    break
        time.sleep(poll_seconds)
    _wait_for_late_results(jobs, ended)
    on_poll()
    return ended


def _wait_for_late_results(jobs: Sequence[Any], ended: dict[str, str]) -> None:
    """Give a task that ended well (or left the queue) a moment for its result file to appear."""
    deadline = time.monotonic() + RESULT_GRACE_SECONDS
    late = [job for job in jobs if ended[job.job_id] in ("COMPLETED", LEFT_QUEUE) and not _has_result(job)]
    while late and time.monotonic() < deadline:
        time.sleep(0.5)
        late = [job for job in late if not _has_result(job)]
    for job in jobs:
        if _has_result(job):
            ended[job.job_id] = "COMPLETED"
