"""Cells through submitit: a Slurm job array where Slurm exists, else submitit's local processes.

:class:`SubmititExecutor` hands cells to ``submitit.AutoExecutor``; every job runs
:func:`loopbound.sweep.executors.execute_cells`, so each cell's record is written atomically by the
task that computed it, as with the local pool.

- On a Slurm cluster (``srun`` on PATH) each cell is one task of a job array. Progress is read off
  the store as records appear, and the tasks' ends from ``squeue``
  (:mod:`loopbound.sweep.slurm_queue`), never from submitit's ``sacct`` calls, which fail (with a
  warning per poll) on clusters without accounting storage. A cell that fails on a node, or whose
  task ends without its record (cancelled, killed, out of memory, out of time), is reported with
  the path of its task's Slurm log. Cells asking for CUDA need ``gpus_per_node``.
- Elsewhere submitit picks its ``local`` executor, which starts every job at once as a separate
  process (controller + task), so cells are grouped into ``workers`` jobs that each run their cells
  one after the other.

Its jobs are independent processes: they keep running if the parent is killed (on Slurm that is
the point); ``--resume`` later skips what they recorded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loopbound.sweep.executors import CellOutcome, CellTask, Tick, _failed, execute_cells
from loopbound.sweep.slurm_queue import wait_for_array
from loopbound.sweep.store import Store
from loopbound.theory.errors import InputError

DEFAULT_SUBMITIT_TIMEOUT_MIN = 24 * 60
"""submitit's local executor kills a job after ``timeout_min`` (2 minutes unless set): a day here."""


class SubmititExecutor:
    """Cells through ``submitit.AutoExecutor``: a Slurm job array where Slurm exists, else local
    processes (grouped into ``workers`` jobs). ``parameters`` go to ``update_parameters``; the
    key ``cluster`` forces submitit's choice (``slurm``, ``local`` or ``debug``)."""

    name = "submitit"

    def __init__(
        self,
        folder: Path,
        *,
        parameters: Mapping[str, Any] = {},
        workers: int | None = None,
        poll_seconds: float = 0.2,
        threads: int = 1,
    ) -> None:
        try:
            import submitit
        except ImportError:
            raise InputError("--executor submitit needs the submitit package: pip install 'loopbound[slurm]'") from None
        options = dict(parameters)
        cluster = options.pop("cluster", None)
        self.parameters: Mapping[str, Any] = options
        try:
            self._executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
            self._executor.update_parameters(**{"timeout_min": DEFAULT_SUBMITIT_TIMEOUT_MIN, **options})
        except (NameError, AssertionError, ValueError, TypeError, RuntimeError) as error:
            # submitit reports bad parameters as NameError/AssertionError/ValueError, several lines long
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise InputError(f"[submitit]: {first}") from None
        self.cluster: str = self._executor.cluster
        self.workers = workers if workers is not None else max(1, os.cpu_count() or 1)
        self.poll_seconds = poll_seconds
        self.threads_per_job = threads

    @property
    def runs_here(self) -> bool:
        """False on Slurm: cells compute on the cluster's nodes, not on this machine."""
        return self.cluster != "slurm"

    @property
    def label(self) -> str:
        """How records name the executor that wrote them: ``submitit-slurm``, ``submitit-local``."""
        return f"submitit-{self.cluster}"

    def describe(self, cells: int) -> str:
        if not cells:
            return "nothing to compute"
        if self.cluster == "slurm":
            return "submitit on Slurm, one array task per cell"
        return (
            f"submitit '{self.cluster}' executor (no Slurm here), {min(self.workers, cells)} job(s) as local processes"
        )

    def threads(self, cells: int) -> int:
        """Torch threads per job: 0 (the task's ``cpus_per_task``) on Slurm, else
        ``threads`` (default 1), as for the local pool."""
        if self.cluster == "slurm":
            return 0
        return self.threads_per_job

    def _groups(self, tasks: Sequence[CellTask]) -> list[list[CellTask]]:
        count = len(tasks) if self.cluster == "slurm" else min(self.workers, len(tasks))
        size = math.ceil(len(tasks) / count)
        return [list(tasks[k : k + size]) for k in range(0, len(tasks), size)]

    def run(self, tasks: Sequence[CellTask], tick: Tick) -> list[CellOutcome]:
        if not tasks:
            return []
        if self.cluster == "slurm":
            _check_gpus(tasks, self.parameters)
        groups = self._groups(tasks)
        refusal = io.StringIO()
        try:
            with contextlib.redirect_stderr(refusal):  # submitit echoes sbatch's refusal there
                jobs = self._executor.map_array(execute_cells, groups)
        except Exception as error:  # sbatch refused (a bad partition, account, time limit...)
            lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
            raise InputError(
                f"submitit could not submit the jobs: {lines[0] if lines else type(error).__name__}"
            ) from None
        store = Store(Path(tasks[0].store_root))
        progress = _RecordProgress(store, {task.cell.hash for task in tasks}, tick)
        states: dict[str, str] = {}
        if self.cluster == "slurm":  # squeue, not submitit's sacct (loopbound.sweep.slurm_queue)
            states = wait_for_array(jobs, poll_seconds=self.poll_seconds, on_poll=progress)
        else:
            while not all(job.done() for job in jobs):
                progress()
                time.sleep(self.poll_seconds)
            progress()
        outcomes = [
            outcome
            for job, group in zip(jobs, groups)
            for outcome in self._outcomes(job, group, store, states.get(job.job_id))
        ]
        for outcome in outcomes:
            progress.tick_once(outcome.hash)
        return outcomes

    def _outcomes(self, job: Any, group: list[CellTask], store: Store, state: str | None) -> list[CellOutcome]:
        """The outcomes of one job's cells: what it returned, else each cell's record or why not.
        On Slurm, a failure names the task's log; ``state`` is its last Slurm state."""
        log = job.paths.stderr
        if state is not None and not job.paths.result_pickle.exists():  # a Slurm task ended without its
            # result: submitit's job.result() would wait for it through sacct, forever without accounting
            why = f"Slurm task {job.job_id} ended {state} before writing this cell's record (log: {log})"
            return [_recorded_or_failed(task, store, why) for task in group]
        try:
            found: list[CellOutcome] = job.result()
        except Exception as error:  # submitit's job errors carry the remote traceback: keep its gist
            lines = str(error).strip().splitlines()
            why = f"submitit job {job.job_id} failed: {lines[-1] if lines else type(error).__name__} (logs: {log})"
            return [_recorded_or_failed(task, store, why) for task in group]
        if self.cluster != "slurm":
            return found
        return [
            dataclasses.replace(outcome, reason=f"{outcome.reason} (Slurm log: {log})")
            if outcome.status == "failed"
            else outcome
            for outcome in found
        ]


class _RecordProgress:
    """Ticks once per cell whose record appears in the store (and once per other finished cell)."""

    def __init__(self, store: Store, wanted: set[str], tick: Tick) -> None:
        self.store, self.wanted, self.tick, self.ticked = store, wanted, tick, set[str]()

    def __call__(self) -> None:
        for hash in (self.store.record_hashes() & self.wanted) - self.ticked:
            self.tick_once(hash)

    def tick_once(self, hash: str) -> None:
        if hash not in self.ticked:
            self.ticked.add(hash)
            self.tick()


def _recorded_or_failed(task: CellTask, store: Store, reason: str) -> CellOutcome:
    """A cell of a job that did not return: done if its record was written, else failed (and the
    reason written to its failure file, as a worker writes it for a cell that raised)."""
    if task.cell.hash in store.record_hashes():
        return CellOutcome(task.cell.hash, task.cell.label, "done", math.nan)
    store.write_failure(task.cell, reason, None)
    return _failed(task, reason)


def _check_gpus(tasks: Sequence[CellTask], parameters: Mapping[str, Any]) -> None:
    """Refuse CUDA cells on Slurm without ``[slurm] gpus_per_node``: their tasks would get no GPU."""
    devices = sorted({task.cell.device for task in tasks if task.cell.device.startswith("cuda")})
    gpu_keys = ("gpus_per_node", "slurm_gpus_per_node", "slurm_gpus_per_task", "slurm_gres")
    if devices and not any(parameters.get(key) for key in gpu_keys):
        raise InputError(
            f"cells ask for device {devices[0]} but the Slurm jobs get no GPU: set gpus_per_node in the sweep file's [slurm] table"
        )
