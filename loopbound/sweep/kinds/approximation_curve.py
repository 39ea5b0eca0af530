"""The ``approximation_curve`` sweep cell kind: the universal construction's error at a list of
loop budgets, with the verdict over them (the ``approximation`` stage of ``loopbound run`` and
``notebooks/approximation_rate.py``).

One cell is one (target, d, N, p, seed, variant) with the whole list ``loops`` of budgets r:
:func:`loopbound.verify.verify` at those r, so its result (the verify record without timings, as
the ``approximation`` kind's) carries the rate fit and the verdict over the curve. Parameters as
:class:`~loopbound.sweep.kinds.approximation.ApproximationParams`, with ``loops`` a list::

    cell = "approximation_curve"
    targets = ["holder:alpha=0.5"]
    d = 1
    N = [1, 2]
    [approximation_curve]
    timestep = [false, true]      # axis
    loops = [9, 19, 29, 67]       # the curve of one cell
    samples = 2048
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from loopbound.sweep.cell import Cell, CellKind
from loopbound.sweep.config import FieldError, require_int
from loopbound.sweep.kinds.approximation import ApproximationParams, ApproximationResult, verify_record

__all__ = ["ApproximationCurveParams", "run_approximation_curve_cell", "KIND"]


@dataclass(frozen=True)
class ApproximationCurveParams:
    """The loop budgets ``loops`` (increasing, without repeats) and the settings of
    :class:`~loopbound.sweep.kinds.approximation.ApproximationParams`, with its defaults."""

    loops: tuple[int, ...]
    timestep: bool = False
    samples: int = 1 << 14
    scramblings: int = 8
    level: float = 0.95
    bound: str = "construction"
    sup: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.loops, (list, tuple)) or not self.loops:
            raise FieldError("loops", f"must be a non-empty list of integers >= 1, got {self.loops!r}")
        loops = tuple(require_int("loops", r, minimum=1) for r in self.loops)
        if any(b <= a for a, b in zip(loops, loops[1:])):
            raise FieldError("loops", f"must be strictly increasing, got {list(self.loops)!r}")
        object.__setattr__(self, "loops", loops)
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "loops"}
        checked = ApproximationParams(loops=loops[0], **settings)  # the shared settings' checks
        object.__setattr__(self, "level", checked.level)
        object.__setattr__(self, "bound", checked.bound)


def run_approximation_curve_cell(cell: Cell) -> ApproximationResult:
    """:func:`~loopbound.sweep.kinds.approximation.verify_record` at the cell's loop budgets."""
    return ApproximationResult.from_record(verify_record(cell, list(cell.params.loops)))


KIND = CellKind(
    "approximation_curve",
    run_approximation_curve_cell,
    params=ApproximationCurveParams,
    axes=("timestep",),
    result=ApproximationResult,
)
