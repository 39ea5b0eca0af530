"""The ``modulus`` sweep cell kind: one certified modulus curve of a target.

One cell is one (target, d, N, p, seed, modulus kind): :func:`loopbound.theory.modulus.estimate_modulus`
over the whole δ grid, recording lower/upper/exact and the witness per δ
(``examples/sweeps/moduli-small.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopbound.sweep.cell import Cell, CellKind, load_cell_target
from loopbound.sweep.config import require_float_tuple, require_int, require_str
from loopbound.sweep.result import JsonRecord

__all__ = ["MODULUS_KINDS", "ModulusCellParams", "ModulusPoint", "ModulusResult", "run_modulus_cell", "KIND"]

MODULUS_KINDS = ("sequence", "token", "contextual")


@dataclass(frozen=True)
class ModulusCellParams:
    """Parameters of a ``"modulus"`` cell: which modulus, the δ grid, and the search budget.

    ``kind`` is an axis (one cell per modulus kind); ``deltas`` is the whole curve of one cell
    (sorted, without repeats, as the estimator uses it). ``screen``, ``restarts`` and ``steps``
    are :class:`loopbound.theory.modulus.SearchBudget`'s fields, with its defaults.
    """

    kind: str
    deltas: tuple[float, ...]
    screen: int = 4096
    restarts: int = 96
    steps: int = 160

    def __post_init__(self) -> None:
        require_str("kind", self.kind, choices=MODULUS_KINDS)
        deltas = require_float_tuple("deltas", self.deltas, positive=True)
        object.__setattr__(self, "deltas", tuple(sorted(set(deltas))))
        require_int("screen", self.screen, minimum=1)
        require_int("restarts", self.restarts, minimum=1)
        require_int("steps", self.steps, minimum=0)


@dataclass(frozen=True)
class ModulusPoint(JsonRecord):
    """One δ of a certified modulus curve: ``lower`` ≤ ω(δ) (attained by ``witness``, the pair
    {"X", "Y"} at squared distance ``distance`` ≤ δ², differing at ``position``), the analytic
    ``upper`` bound and ``exact`` value where known (else None), and the search ``method``."""

    kind: str
    delta: float
    lower: float
    upper: float | None
    exact: float | None
    position: int | None
    distance: float
    witness: Mapping[str, Any]
    method: str


@dataclass(frozen=True)
class ModulusResult(JsonRecord):
    """A ``modulus`` cell's result: the modulus ``kind`` and its ``curve``, one point per δ."""

    kind: str
    curve: tuple[ModulusPoint, ...]


def run_modulus_cell(cell: Cell) -> ModulusResult:
    """One certified modulus curve: per δ the lower bound (attained by the witness, re-checked in
    float64), the analytic upper bound and exact value where known (else null), and the witness."""
    from loopbound.theory.modulus import SearchBudget, estimate_modulus

    params: ModulusCellParams = cell.params
    estimates = estimate_modulus(
        load_cell_target(cell),
        params.kind,
        params.deltas,
        p=cell.p,
        budget=SearchBudget(screen=params.screen, restarts=params.restarts, steps=params.steps),
        seed=cell.seed,
    )
    return (
        ModulusResult.from_record(  # no timings: a result is a pure function of the cell (the record has the wall time)
            {
                "kind": params.kind,
                "curve": [{**estimate.to_json(), "method": estimate.method} for estimate in estimates],
            }
        )
    )


KIND = CellKind(
    "modulus", run_modulus_cell, params=ModulusCellParams, axes=("kind",), cpu_only=True, result=ModulusResult
)
