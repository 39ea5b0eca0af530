"""Sweeps: a TOML configuration expanded into cells, each computed once and stored as one record.

- :mod:`loopbound.sweep.config`: the TOML file → a validated, frozen :class:`SweepConfig`;
- :mod:`loopbound.sweep.cells`: cells keyed by the hash of their resolved configuration, and the
  registry of cell kinds (:func:`register_cell_kind`; the ``"modulus"`` kind ships with it, the
  ``"approximation"`` and ``"looped_gd"`` kinds in :mod:`loopbound.sweep.approximation` and
  :mod:`loopbound.sweep.looped_gd`, imported when a sweep asks for them);
- :mod:`loopbound.sweep.store`: one atomic, checksummed record per cell, strict reads, resume plans;
- :mod:`loopbound.sweep.executors`: the local process pool (default) and submitit, and
  :func:`run_sweep`.

The command line is ``loopbound sweep CONFIG [--out DIR] [--executor local|submitit] [--resume]``
(:mod:`loopbound.commands.sweep`); docs/sweeps.md is the user's guide. In code::

    config = load_config("examples/sweeps/moduli-small.toml")
    cells = expand_cells(config)
    store = Store(Path("runs/sweeps/moduli-small")); store.prepare()
    plan = store.plan(cells, resume=True)
    summary = run_sweep(cells, store, LocalExecutor(workers=2), plan=plan,
                        manifest=store.write_manifest(config, cells))
"""
from loopbound.sweep.cells import (
    LAZY_CELL_KINDS,
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
    SubmititExecutor,
    SweepSummary,
    execute_cell,
    run_sweep,
)
from loopbound.sweep.store import CellRecord, CorruptRecord, Plan, Store

__all__ = [
    "LAZY_CELL_KINDS", "SCHEMA_VERSION", "Cell", "CellKind", "ModulusCellParams", "cell_kind_names",
    "check_devices_here", "configuration_hash", "expand_cells", "get_cell_kind", "load_cell_target",
    "register_cell_kind", "ConfigError", "FieldError", "SweepConfig", "load_config", "parse_config",
    "CellOutcome", "CellTask", "LocalExecutor", "SubmititExecutor", "SweepSummary", "execute_cell",
    "run_sweep", "CellRecord", "CorruptRecord", "Plan", "Store",
]
