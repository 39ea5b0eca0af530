"""Sweeps: a TOML configuration expanded into cells, each computed once and stored as one record.

- :mod:`loopbound.sweep.config`: the TOML file → a validated, frozen :class:`SweepConfig`;
- :mod:`loopbound.sweep.cell`: a cell keyed by the hash of its resolved configuration, and a cell
  kind (how to compute it, its parameters and axes);
- :mod:`loopbound.sweep.kinds`: the kinds that ship with loopbound, one module each (moduli, the
  approximation error, looped GD, the reference curves, Newton–Schulz);
- :mod:`loopbound.sweep.cells`: the registry of cell kinds (:func:`register_cell_kind` for a
  user's) and a sweep expanded into cells;
- :mod:`loopbound.sweep.store`: one atomic, checksummed record per cell, strict reads, resume plans;
- :mod:`loopbound.sweep.executors`: the local process pool (default) and :func:`run_sweep`;
  :mod:`loopbound.sweep.submitit_executor`: submitit (Slurm job arrays; waited on by
  :mod:`loopbound.sweep.slurm_queue`);
- :mod:`loopbound.sweep.in_process`: :func:`compute`, cells computed in this process (stages,
  notebooks, tests), reading and writing the same store.

The command line is ``loopbound sweep CONFIG [--out DIR] [--executor local|submitit] [--resume]``
(:mod:`loopbound.commands.sweep`); docs/sweeps.md is the user's guide. In code::

    config = load_config("examples/sweeps/moduli-small.toml")
    cells = expand_cells(config)
    store = Store(Path("runs/sweeps/moduli-small")); store.prepare()
    plan = store.plan(cells, resume=True)
    summary = run_sweep(cells, store, LocalExecutor(workers=2), plan=plan,
                        manifest=store.write_manifest(config, cells))
    results = compute(config, store=store)   # in this process, the records read back
"""

from loopbound.sweep.cells import (
    SCHEMA_VERSION,
    Cell,
    CellKind,
    ModulusCellParams,
    cell_kind_names,
    check_devices_here,
    configuration_hash,
    expand_cells,
    get_cell_kind,
    load_cell_target,
    register_cell_kind,
)
from loopbound.sweep.config import ConfigError, FieldError, SweepConfig, load_config, parse_config
from loopbound.sweep.executors import (
    CellOutcome,
    CellTask,
    LocalExecutor,
    SweepSummary,
    execute_cell,
    run_sweep,
)
from loopbound.sweep.in_process import compute, compute_cells
from loopbound.sweep.store import CellRecord, CorruptRecord, Plan, Store
from loopbound.sweep.submitit_executor import SubmititExecutor

__all__ = [
    "SCHEMA_VERSION",
    "Cell",
    "CellKind",
    "ModulusCellParams",
    "cell_kind_names",
    "check_devices_here",
    "configuration_hash",
    "expand_cells",
    "get_cell_kind",
    "load_cell_target",
    "register_cell_kind",
    "ConfigError",
    "FieldError",
    "SweepConfig",
    "load_config",
    "parse_config",
    "CellOutcome",
    "CellTask",
    "LocalExecutor",
    "SubmititExecutor",
    "SweepSummary",
    "execute_cell",
    "run_sweep",
    "compute",
    "compute_cells",
    "CellRecord",
    "CorruptRecord",
    "Plan",
    "Store",
]
