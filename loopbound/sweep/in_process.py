"""Sweep cells computed in this process: how stages, notebooks and tests call the sweep engine.

:func:`compute` expands a :class:`~loopbound.sweep.config.SweepConfig` built in code (or read from
a file) into its cells and returns their results in cell order, typed: each the kind's result
dataclass (:attr:`~loopbound.sweep.cell.CellKind.result`; a dict for a kind without one). The
cells' hashes are :func:`~loopbound.sweep.cells.expand_cells`' ``cell.hash``. With a
:class:`~loopbound.sweep.store.Store`, a cell whose record is there is read (strictly: a corrupt
record is an InputError naming it) and converted by the kind's ``from_record``, and every other one
is computed and its record (``to_record()``, JSON) written atomically, in the format of
``loopbound sweep`` (so either resumes the other). Cells of a kind
with ``run_batch`` are computed together per batch key, each record's wall time being its share
of the batch; a kind's ``run_batch`` gives each cell the result its ``run`` gives alone, so the
records do not depend on the grouping. A failing cell raises (nothing is caught here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from loopbound.sweep.cell import Cell
from loopbound.sweep.cells import expand_cells, get_cell_kind
from loopbound.sweep.config import SweepConfig
from loopbound.sweep.store import CorruptRecord, Store, computed_record, now_utc

__all__ = ["compute", "compute_cells", "EXECUTOR"]

EXECUTOR = "in-process"
"""How records written here name their executor."""


def _batches(cells: Sequence[Cell]) -> list[list[Cell]]:
    """The cells grouped for computing: by batch key for kinds with ``run_batch``, else one each
    (in the order of the first cell of each group)."""
    groups: dict[Any, list[Cell]] = {}
    for index, cell in enumerate(cells):
        kind = get_cell_kind(cell.kind)
        key = (cell.kind, kind.batch_key(cell)) if kind.batch_key is not None else ("single", index)
        groups.setdefault(key, []).append(cell)
    return list(groups.values())


def _run(group: list[Cell]) -> list[Any]:
    kind = get_cell_kind(group[0].kind)
    if kind.run_batch is not None:
        return list(kind.run_batch(group))
    return [kind.run(cell) for cell in group]


def _read(store: Store, cell: Cell) -> Any:
    """The stored result of ``cell`` as its kind's result; a layout the kind cannot read is corrupt."""
    record = store.read(cell.hash)  # a CorruptRecord where damaged
    try:
        return get_cell_kind(cell.kind).read_result(record.result)
    except ValueError as error:
        raise CorruptRecord(store.record_path(cell.hash), " ".join(str(error).split())) from None


def compute_cells(cells: Sequence[Cell], *, store: Store | None = None) -> list[Any]:
    """The typed results of ``cells`` in order (module docstring)."""
    results: dict[str, Any] = {}
    pending: list[Cell] = []
    for cell in cells:
        if store is not None and store.record_path(cell.hash).exists():
            results[cell.hash] = _read(store, cell)
        elif cell.hash not in {p.hash for p in pending}:
            pending.append(cell)
    for group in _batches(pending):
        started_at, started = now_utc(), time.perf_counter()
        computed = _run(group)
        share = (time.perf_counter() - started) / len(group)
        for cell, result in zip(group, computed):
            if store is not None:
                store.write(computed_record(cell, result, started_at=started_at, wall_seconds=share, executor=EXECUTOR))
            results[cell.hash] = result
    return [results[cell.hash] for cell in cells]


def compute(config: SweepConfig, *, store: Store | None = None) -> list[Any]:
    """Every cell of ``config`` (:func:`~loopbound.sweep.cells.expand_cells`) by :func:`compute_cells`."""
    return compute_cells(expand_cells(config), store=store)
