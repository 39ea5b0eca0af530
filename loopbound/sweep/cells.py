"""The registry of cell kinds, and a sweep expanded into its cells.

The kinds that ship with loopbound (:mod:`loopbound.sweep.kinds`) are registered when this module
is imported; a user's kind is registered by a module that a sweep file lists in ``imports``::

    register_cell_kind("mine", run_mine, params=MineParams, axes=("variant", "loops"))

``axes`` names the parameters that a list in the sweep file expands into several cells; any other
parameter takes its value whole (a δ grid, a sample count). docs/sweeps.md explains both. A cell
and a kind themselves are defined in :mod:`loopbound.sweep.cell` (re-exported here).
"""

from __future__ import annotations

import itertools
from typing import Any

from loopbound.sweep.cell import (
    SCHEMA_VERSION,
    Cell,
    CellKind,
    RunCell,
    canonical_json,
    configuration_hash,
    load_cell_target,
    resolve_target,
)
from loopbound.sweep.config import COMMON_AXES, COMMON_AXIS_DEFAULTS, ConfigError, FieldError, SweepConfig
from loopbound.sweep.kinds import SHIPPED_KINDS
from loopbound.sweep.kinds.modulus import ModulusCellParams
from loopbound.theory.errors import InputError
from loopbound.user_code import import_module

__all__ = [
    "SCHEMA_VERSION",
    "Cell",
    "CellKind",
    "RunCell",
    "ModulusCellParams",
    "canonical_json",
    "configuration_hash",
    "load_cell_target",
    "register_cell_kind",
    "get_cell_kind",
    "cell_kind_names",
    "expand_cells",
    "check_devices_here",
]

_REGISTRY: dict[str, CellKind] = {kind.name: kind for kind in SHIPPED_KINDS}


def register_cell_kind(
    name: str,
    run: RunCell,
    *,
    params: type,
    axes: tuple[str, ...] = (),
    version: str = "1",
    cpu_only: bool = False,
    common_axes: tuple[str, ...] = COMMON_AXES,
    result: type | None = None,
) -> CellKind:
    """Register a cell kind under ``name`` (see :class:`CellKind`); returns it. Without a
    ``result`` type, ``run`` returns JSON values and :func:`loopbound.sweep.compute` gives them back
    as dicts.

    Registering the same function and parameters again (a module imported twice) is a no-op;
    registering another function under a taken name is a ValueError.
    """
    kind = CellKind(
        name=name,
        run=run,
        params=params,
        axes=tuple(axes),
        version=version,
        cpu_only=cpu_only,
        common_axes=tuple(common_axes),
        result=result,
    )
    existing = _REGISTRY.get(name)
    if existing is not None:
        if _reference(existing.run) == _reference(run) and _reference(existing.params) == _reference(params):
            return existing
        raise ValueError(f"cell kind {name!r} is already registered by {_reference(existing.run)}")
    _REGISTRY[name] = kind
    return kind


def get_cell_kind(name: str) -> CellKind:
    """The registered kind ``name``; an unknown name is an InputError listing the known ones."""
    if name not in _REGISTRY:
        raise InputError(
            f"unknown cell kind {name!r} (known: {', '.join(cell_kind_names())}; modules listed in `imports` may register more)"
        )
    return _REGISTRY[name]


def cell_kind_names() -> tuple[str, ...]:
    """Names of the registered kinds."""
    return tuple(sorted(_REGISTRY))


def _reference(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


# --------------------------------------------------------------------------- expansion
def expand_cells(config: SweepConfig) -> tuple[Cell, ...]:
    """All cells of a sweep, in a fixed order: targets × d × N × p × seeds × the kind's axes.

    Imports ``config.imports``, resolves the kind, validates its parameters, loads every target
    once (a bad TARGET fails here, before any work) and canonicalises the specs of built-ins.
    Errors are :class:`ConfigError` lines naming the file and the field.
    """
    for module in config.imports:
        try:
            import_module(module, context="a module listed in imports")
        except InputError as error:
            raise ConfigError(f"{config.source}: imports: cannot import {module!r}: {error}") from None
    source = config.source
    try:
        kind = get_cell_kind(config.cell)
    except InputError as error:
        raise ConfigError(f"{source}: cell: {' '.join(str(error).split())}") from None
    try:
        parameter_sets = kind.parameter_sets(dict(config.params))
        device = _resolve_device(config.device, kind)
    except FieldError as error:
        raise ConfigError(f"{source}: {error}") from None
    common = _common_axes(config, kind)
    try:
        targets = {
            (spec, d, N): resolve_target(spec, d, N)
            for spec in common["targets"]
            for d in common["d"]
            for N in common["N"]
        }
    except InputError as error:
        raise ConfigError(f"{source}: targets: {' '.join(str(error).split())}") from None
    cells: list[Cell] = []
    axes = (common["targets"], common["d"], common["N"], common["p"], config.seeds, parameter_sets)
    for spec, d, N, p, seed, params in itertools.product(*axes):
        canonical, digest = targets[(spec, d, N)]
        cells.append(Cell(kind.name, kind.version, canonical, digest, d, N, p, seed, device, params))
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.hash in seen:
            raise ConfigError(
                f"{source}: targets: two entries name the same target ({seen[cell.hash].target}); list it once"
            )
        seen[cell.hash] = cell
    return tuple(cells)


def _common_axes(config: SweepConfig, kind: CellKind) -> dict[str, tuple[Any, ...]]:
    """The values of ``targets``, ``d``, ``N`` and ``p`` for ``kind``'s cells: as given, else the
    default; ``(None,)`` for an axis the kind does not use (giving one is a ConfigError)."""
    values: dict[str, tuple[Any, ...]] = {}
    for axis in COMMON_AXES:
        given = getattr(config, axis)
        if axis not in kind.common_axes:
            if given:
                uses = ", ".join(kind.common_axes) or "none of targets, d, N, p"
                raise ConfigError(
                    f"{config.source}: {axis}: cell kind {kind.name!r} does not use it (it uses {uses}); remove it"
                )
            values[axis] = (None,)
        elif given:
            values[axis] = given
        elif axis == "targets":
            raise ConfigError(
                f'{config.source}: targets: missing: list TARGET specs, e.g. targets = ["holder:alpha=0.5"]'
            )
        else:
            values[axis] = COMMON_AXIS_DEFAULTS[axis]
    return values


def check_devices_here(cells: tuple[Cell, ...]) -> None:
    """Raise an InputError if a cell asks for a device this machine lacks (local executors)."""
    from loopbound.theory.numerics import resolve_device

    for device in sorted({cell.device for cell in cells}):
        resolve_device(device)


def _resolve_device(device: str, kind: CellKind) -> str:
    """``auto`` → ``cuda`` when present and the kind can use it, else ``cpu``; others as given."""
    if kind.cpu_only:
        if device not in ("auto", "cpu"):
            raise FieldError(
                "device", f'cell kind {kind.name!r} computes on the CPU only; use "cpu" or "auto", got {device!r}'
            )
        return "cpu"
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device
