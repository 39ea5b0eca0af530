"""Running a sweep's cells: in worker processes that write their own records.

:func:`execute_cell` is the unit of work. It runs in a worker, computes one cell (seeded with the
cell's seed), and writes the record atomically itself — or, if the cell raises, a failure file with
the reason — so a crash of the parent process loses nothing that a worker finished.

Two executors run it (the second in :mod:`loopbound.sweep.submitit_executor`):

- :class:`LocalExecutor` (the default): a ``concurrent.futures.ProcessPoolExecutor`` started
  with ``forkserver`` where the platform has it (else ``spawn``): workers never fork a process
  that holds torch threads, and tasks are pickled by reference, so cell kinds must be module-level
  functions. The fork server imports torch and this package once (:data:`FORKSERVER_PRELOAD`), so
  a worker starts in milliseconds instead of importing torch again. Each worker watches its
  parent: if the parent dies (SIGKILL included), the worker finishes the cell it is computing,
  writes its record, and exits without taking another.
- ``SubmititExecutor``: ``submitit.AutoExecutor``, a Slurm job array where Slurm exists, else
  submitit's local processes; its jobs call :func:`execute_cells`.

:func:`run_sweep` ties a store's plan to an executor and returns a :class:`SweepSummary`.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from loopbound.sweep.cells import Cell, RunCell, get_cell_kind
from loopbound.sweep.store import Plan, Store, computed_record, now_utc
from loopbound.theory.errors import InputError

Tick = Callable[[], None]
"""Called once per cell that finishes (done or failed): drives the progress bar."""

FORKSERVER_PRELOAD = ("torch", "numpy", "loopbound.sweep")
"""Imported once by the fork server; every local worker is forked from it with these loaded."""

DEFAULT_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


# --------------------------------------------------------------------------- the unit of work
@dataclass(frozen=True)
class CellTask:
    """What a worker needs: the cell, its kind's function, the store, and the torch threads to use."""

    cell: Cell
    run: RunCell
    store_root: str
    threads: int
    executor: str


@dataclass(frozen=True)
class CellOutcome:
    """How a cell ended: ``done`` (its record is written) or ``failed`` (with a one-line reason)."""

    hash: str
    label: str
    status: Literal["done", "failed"]
    seconds: float
    reason: str | None = None


_PARENT_GONE = threading.Event()
_CELL_RUNNING = threading.Lock()


def execute_cell(task: CellTask) -> CellOutcome:
    """Compute one cell and write its record (or its failure) atomically; runs in a worker."""
    if _PARENT_GONE.is_set():
        os._exit(0)
    with _CELL_RUNNING:
        return _compute_and_store(task)


def execute_cells(tasks: Sequence[CellTask]) -> list[CellOutcome]:
    """The body of one submitit job: its cells one after the other. A failure is also printed on
    stderr, so that the job's log (on Slurm, the task's log) says which cell failed and why."""
    if tasks:
        _limit_threads(tasks[0].threads)
    outcomes = []
    for task in tasks:
        outcome = execute_cell(task)
        if outcome.status == "failed":
            print(f"loopbound: cell {outcome.hash[:12]} ({outcome.label}) failed: {outcome.reason}", file=sys.stderr)
        outcomes.append(outcome)
    return outcomes


def _compute_and_store(task: CellTask) -> CellOutcome:
    cell, store = task.cell, Store(Path(task.store_root))
    started_at, started = now_utc(), time.perf_counter()
    details = None
    try:
        _seed_everything(cell.seed)
        result = task.run(cell)  # typed or JSON values: computed_record stores its record
        seconds = time.perf_counter() - started
        store.write(computed_record(cell, result, started_at=started_at, wall_seconds=seconds, executor=task.executor))
    except InputError as error:  # the user's to fix (a target returning NaN, a missing device)
        reason = " ".join(str(error).split())
    except Exception as error:  # a bug in a cell kind: reported with its traceback, never dropped
        reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
        details = traceback.format_exc()
    else:
        store.clear_failure(cell.hash)
        return CellOutcome(cell.hash, cell.label, "done", seconds)
    store.write_failure(cell, reason, details)
    return CellOutcome(cell.hash, cell.label, "failed", time.perf_counter() - started, reason)


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _limit_threads(threads: int) -> None:
    """Set torch's intra-op threads; 0 means the Slurm task's CPUs (``SLURM_CPUS_PER_TASK``: without
    CPU binding torch would take every core of the node), else torch's default."""
    if threads == 0:
        threads = int(os.environ.get("SLURM_CPUS_PER_TASK", "0") or 0)
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _failed(task: CellTask, reason: str) -> CellOutcome:
    return CellOutcome(task.cell.hash, task.cell.label, "failed", 0.0, reason)


# --------------------------------------------------------------------------- local process pool
def _start_worker(threads: int) -> None:
    """Pool initializer: set torch's threads and watch the parent process."""
    _limit_threads(threads)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_parent_dies, args=(parent,), daemon=True).start()


def _exit_when_parent_dies(parent: Any) -> None:
    parent.join()  # returns when the parent's sentinel closes: it exited or was killed
    _PARENT_GONE.set()
    with _CELL_RUNNING:  # let the cell being computed write its record first
        os._exit(0)


@dataclass(frozen=True)
class LocalExecutor:
    """A process pool on this machine (the default): ``workers`` processes, started by
    ``forkserver`` (preloaded with torch) where available, else ``spawn``, each computing with
    ``threads_per_worker`` torch intra-op threads (default 1: the cells' narrow matmuls lose much
    with more threads beside other busy processes, loopbound.theory.numerics)."""

    workers: int = max(1, os.cpu_count() or 1)
    start_method: str = DEFAULT_START_METHOD
    name: str = "local"
    threads_per_worker: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be spawn or forkserver, got {self.start_method!r}")
        if (
            isinstance(self.threads_per_worker, bool)
            or not isinstance(self.threads_per_worker, int)
            or self.threads_per_worker < 1
        ):
            raise ValueError(f"threads_per_worker must be an integer >= 1, got {self.threads_per_worker!r}")

    @property
    def runs_here(self) -> bool:
        """True: cells compute on this machine (so its devices are the ones to check)."""
        return True

    @property
    def label(self) -> str:
        """How records name the executor that wrote them."""
        return self.name

    def threads(self, cells: int) -> int:
        """Torch threads per worker: ``threads_per_worker`` (default 1)."""
        return self.threads_per_worker

    def describe(self, cells: int) -> str:
        return f"local process pool, {min(self.workers, cells)} worker(s)" if cells else "nothing to compute"

    def run(self, tasks: Sequence[CellTask], tick: Tick) -> list[CellOutcome]:
        if not tasks:
            return []
        outcomes: list[CellOutcome] = []
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload(list(FORKSERVER_PRELOAD))  # no effect once the server runs
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)),
            mp_context=context,
            initializer=_start_worker,
            initargs=(tasks[0].threads,),
        )
        futures: dict[Any, CellTask] = {}
        interrupted = True
        try:
            futures = {pool.submit(execute_cell, task): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    outcomes.append(future.result())
                except BrokenProcessPool:
                    outcomes.append(
                        _failed(
                            task, "a worker process died abruptly (killed, or out of memory); run again with --resume"
                        )
                    )
                except Exception as error:  # e.g. a task that cannot be pickled: every cell says why
                    outcomes.append(_failed(task, f"{type(error).__name__}: {' '.join(str(error).split())}"))
                tick()
            interrupted = False
        finally:
            if interrupted:  # Ctrl-C: cancel here, before the pool can be collected (its own
                for future in futures:  # cancel_futures is lost if it is), then leave at once
                    future.cancel()
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        return outcomes


class Executor(Protocol):
    """What :func:`run_sweep` needs of an executor."""

    @property
    def name(self) -> str: ...

    @property
    def workers(self) -> int: ...

    @property
    def runs_here(self) -> bool: ...

    @property
    def label(self) -> str: ...

    def threads(self, cells: int) -> int: ...

    def describe(self, cells: int) -> str: ...

    def run(self, tasks: Sequence[CellTask], tick: Tick) -> list[CellOutcome]: ...


# --------------------------------------------------------------------------- a whole sweep
@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: cells done now, skipped (valid records already there), failed (with
    reasons), corrupt records moved aside, and the store's other contents."""

    total: int
    done: tuple[CellOutcome, ...]
    failed: tuple[CellOutcome, ...]
    skipped: int
    plan: Plan
    executor: str
    seconds: float
    manifest: Path


def run_sweep(
    cells: Sequence[Cell],
    store: Store,
    executor: Executor,
    *,
    plan: Plan,
    manifest: Path,
    tick: Tick = lambda: None,
) -> SweepSummary:
    """Run a plan's pending cells on ``executor``; each worker writes its own record."""
    started = time.perf_counter()
    threads = executor.threads(len(plan.pending))
    tasks = [
        CellTask(
            cell=cell,
            run=get_cell_kind(cell.kind).run,
            store_root=str(store.root),
            threads=threads,
            executor=executor.label,
        )
        for cell in plan.pending
    ]
    outcomes = executor.run(tasks, tick)
    return SweepSummary(
        total=len(cells),
        done=tuple(o for o in outcomes if o.status == "done"),
        failed=tuple(o for o in outcomes if o.status == "failed"),
        skipped=len(plan.finished),
        plan=plan,
        executor=executor.describe(len(plan.pending)),
        seconds=time.perf_counter() - started,
        manifest=manifest,
    )
