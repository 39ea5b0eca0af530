"""A cell kind for the Slurm tests: ``slurm_nap`` sleeps, then returns seeded random numbers.

Listed in a sweep file's ``imports`` as ``tests.slurm.kinds``; the array tasks import it by name
from the repository root (their working folder). ``fail`` makes a cell fail on the node: ``raise``
raises in the cell (caught and recorded as its failure), ``crash`` kills the task's process (no
record, no failure file, no result: only Slurm knows that it ended).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from loopbound.sweep import Cell, register_cell_kind
from loopbound.sweep.config import require_float, require_int, require_str

FAILURES = ("none", "raise", "crash")


@dataclass(frozen=True)
class NapParams:
    """``index`` (an axis) tells cells apart; ``seconds`` is the nap; ``fail`` one of :data:`FAILURES`."""

    index: int
    seconds: float = 0.0
    fail: str = "none"

    def __post_init__(self) -> None:
        require_int("index", self.index, minimum=0)
        require_float("seconds", self.seconds)
        require_str("fail", self.fail, choices=FAILURES)


def run_nap_cell(cell: Cell) -> dict[str, Any]:
    """Nap, then three numbers from torch's and numpy's seeded generators (seeded by the worker)."""
    import numpy as np
    import torch

    params: NapParams = cell.params
    time.sleep(params.seconds)
    if params.fail == "raise":
        raise RuntimeError(f"nap cell {params.index} fails on purpose")
    if params.fail == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    return {
        "index": params.index,
        "torch": torch.rand(2, dtype=torch.float64).tolist(),
        "numpy": float(np.random.rand()),
    }


register_cell_kind("slurm_nap", run_nap_cell, params=NapParams, axes=("index", "fail"), common_axes=())
