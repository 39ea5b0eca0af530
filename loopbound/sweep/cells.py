"""Sweep cells: one pure computation each, keyed by the hash of its resolved configuration.

A :class:`Cell` is everything that determines a result — the cell kind and its version, the
target (canonical spec, plus the sha256 of a file target's source), d, N, p, seed, device and the
kind's parameters — and nothing that does not (names, paths of the store, executors, worker
counts). Its :attr:`Cell.hash` is the sha256 of the canonical JSON of that configuration with
:data:`SCHEMA_VERSION`; a record is stale exactly when no cell of a sweep has its hash.

Cell kinds come from a registry. A kind is a module-level function ``run(cell) -> dict`` (the
result, JSON-able, written by the store) with a frozen parameter dataclass whose fields are the
``[<kind>]`` table of a sweep file, validated on construction::

    register_cell_kind("mine", run_mine, params=MineParams, axes=("variant", "loops"))

``axes`` names the parameters that a list in the sweep file expands into several cells; any other
parameter takes its value whole (a δ grid, a sample count). Kinds that live in modules the sweep
should not import eagerly are listed in :data:`LAZY_CELL_KINDS` (name → module that registers
them when imported), so ``import loopbound.sweep`` never imports an unfinished module; a sweep file
may also list modules to import in ``imports``. docs/sweeps.md explains both.

The ``"modulus"`` kind ships here: one certified modulus curve (:func:`loopbound.theory.modulus.estimate_modulus`)
per target, modulus kind, p and seed, recording lower/upper/exact and the witness per δ.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from loopbound.sweep.config import (
    COMMON_AXES,
    COMMON_AXIS_DEFAULTS,
    KIND_NAME_PATTERN,
    ConfigError,
    FieldError,
    SweepConfig,
    as_axis,
    distinct,
    require_float_tuple,
    require_int,
    require_str,
)
from loopbound.user_code import import_module
from loopbound.theory.errors import InputError

SCHEMA_VERSION = 1
"""Version of the cell configuration and record layout; it enters every hash."""

LAZY_CELL_KINDS: dict[str, str] = {
    "approximation": "loopbound.sweep.approximation",
    "looped_gd": "loopbound.sweep.looped_gd",
}
"""Cell kinds registered by importing a module, imported only when a sweep asks for the kind:
``approximation`` (the universal construction's error at one loop budget r, measured by
:func:`loopbound.verify.verify`) and ``looped_gd`` (one cell of the in-context regression sweep)."""

RunCell = Callable[["Cell"], Mapping[str, Any]]


# --------------------------------------------------------------------------- canonical hashing
def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, ASCII only and no NaN/inf: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def configuration_hash(config: Mapping[str, Any], schema: int = SCHEMA_VERSION) -> str:
    """sha256 (hex) of the canonical JSON of a cell's resolved configuration and the schema."""
    return hashlib.sha256(canonical_json({"schema": schema, "config": config}).encode("ascii")).hexdigest()


# --------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class Cell:
    """The resolved configuration of one computation; ``params`` is the kind's parameter dataclass.

    ``target``, ``d``, ``N`` and ``p`` are None for a kind that does not use them
    (:attr:`CellKind.common_axes`); they stay in the configuration as nulls."""

    kind: str
    kind_version: str
    target: str | None
    target_sha256: str | None
    d: int | None
    N: int | None
    p: float | None
    seed: int
    device: str
    params: Any

    def to_json(self) -> dict[str, Any]:
        """The configuration as plain JSON values (what is hashed and saved with the record)."""
        return {
            "cell": self.kind,
            "cell_version": self.kind_version,
            "target": self.target,
            "target_sha256": self.target_sha256,
            "d": self.d,
            "N": self.N,
            "p": self.p,
            "seed": self.seed,
            "device": self.device,
            "params": dataclasses.asdict(self.params),
        }

    @property
    def hash(self) -> str:
        """sha256 of this configuration (:func:`configuration_hash`)."""
        return configuration_hash(self.to_json())

    @property
    def label(self) -> str:
        """A short human description: kind, target, shape, p, seed and the scalar parameters."""
        scalars = " ".join(
            f"{key}={value}" for key, value in dataclasses.asdict(self.params).items() if isinstance(value, (str, int, float))
        )
        common = [self.target] if self.target is not None else []
        common += [f"{name}={value:g}" for name, value in (("d", self.d), ("N", self.N), ("p", self.p)) if value is not None]
        return " ".join([self.kind, *common, f"seed={self.seed}", scalars]).strip()


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class CellKind:
    """A registered cell kind: how to run a cell, its parameters, and which of them are axes.

    ``version`` enters every cell's hash: bump it when the computation changes, so old records
    become stale instead of being mixed with new ones. ``cpu_only`` kinds resolve
    ``device = "auto"`` to the CPU and refuse an explicit CUDA device. ``common_axes`` are the
    top-level axes of a sweep file (of ``targets``, ``d``, ``N``, ``p``) that the kind's cells
    carry; a sweep file for the kind that sets another is refused (a kind of in-context regression,
    say, has a dimension d but no sequence-to-sequence target, N or p).
    """

    name: str
    run: RunCell
    params: type
    axes: tuple[str, ...] = ()
    version: str = "1"
    cpu_only: bool = False
    common_axes: tuple[str, ...] = COMMON_AXES

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not KIND_NAME_PATTERN.match(self.name):
            raise ValueError(f"a cell kind's name is letters, digits and '_' (it names a TOML table), got {self.name!r}")
        if not dataclasses.is_dataclass(self.params) or not self.params.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise ValueError(f"cell kind {self.name!r}: params must be a frozen dataclass, got {self.params!r}")
        qualname = getattr(self.run, "__qualname__", "")
        if not callable(self.run) or "<lambda>" in qualname or "<locals>" in qualname:
            raise ValueError(
                f"cell kind {self.name!r}: run must be a module-level function (workers import it by name), got {self.run!r}"
            )
        names = {field.name for field in dataclasses.fields(self.params)}
        for axis in self.axes:
            if axis not in names:
                raise ValueError(f"cell kind {self.name!r}: axis {axis!r} is not a field of {self.params.__name__}")
        if not isinstance(self.version, str) or not self.version:
            raise ValueError(f"cell kind {self.name!r}: version must be a non-empty string")
        if any(axis not in COMMON_AXES for axis in self.common_axes):
            raise ValueError(f"cell kind {self.name!r}: common_axes must be among {', '.join(COMMON_AXES)}, got {self.common_axes!r}")
        if "targets" in self.common_axes and not {"d", "N"} <= set(self.common_axes):
            raise ValueError(f"cell kind {self.name!r}: a kind with targets uses d and N too (a target is loaded for a shape)")

    def parameter_sets(self, section: Mapping[str, Any]) -> tuple[Any, ...]:
        """The kind's parameter dataclasses for a ``[<kind>]`` table: the product of its axes."""
        where = f"[{self.name}]"
        fields = {field.name: field for field in dataclasses.fields(self.params)}
        for key in section:
            if key not in fields:
                raise FieldError(f"{where} {key}", f"unknown key (known: {', '.join(fields)})")
        for name, field in fields.items():
            required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            if required and name not in section:
                raise FieldError(f"{where} {name}", "missing (required)")
        axis_values = [distinct(f"{where} {a}", as_axis(f"{where} {a}", section[a])) for a in self.axes if a in section]
        axis_names = [a for a in self.axes if a in section]
        fixed = {key: value for key, value in section.items() if key not in axis_names}
        sets = []
        for combination in itertools.product(*axis_values):
            try:
                sets.append(self.params(**fixed, **dict(zip(axis_names, combination))))
            except FieldError as error:
                raise FieldError(f"{where} {error.field}", error.problem) from None
            except (ValueError, TypeError) as error:
                raise FieldError(where, " ".join(str(error).split())) from None
        return tuple(sets)


_REGISTRY: dict[str, CellKind] = {}


def register_cell_kind(
    name: str,
    run: RunCell,
    *,
    params: type,
    axes: tuple[str, ...] = (),
    version: str = "1",
    cpu_only: bool = False,
    common_axes: tuple[str, ...] = COMMON_AXES,
) -> CellKind:
    """Register a cell kind under ``name`` (see :class:`CellKind`); returns it.

    Registering the same function and parameters again (a module imported twice) is a no-op;
    registering another function under a taken name is a ValueError.
    """
    kind = CellKind(name=name, run=run, params=params, axes=tuple(axes), version=version, cpu_only=cpu_only,
                    common_axes=tuple(common_axes))
    existing = _REGISTRY.get(name)
    if existing is not None:
        if _reference(existing.run) == _reference(run) and _reference(existing.params) == _reference(params):
            return existing
        raise ValueError(f"cell kind {name!r} is already registered by {_reference(existing.run)}")
    _REGISTRY[name] = kind
    return kind


def get_cell_kind(name: str) -> CellKind:
    """The registered kind ``name``, importing its module first if it is a lazy kind."""
    if name not in _REGISTRY and name in LAZY_CELL_KINDS:
        module = LAZY_CELL_KINDS[name]
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):
                raise
            raise InputError(f"cell kind {name!r} is not available yet: its module {module} does not exist") from None
        if name not in _REGISTRY:
            raise RuntimeError(f"importing {module} did not register the cell kind {name!r}")
    if name not in _REGISTRY:
        known = ", ".join(sorted({*_REGISTRY, *LAZY_CELL_KINDS}))
        raise InputError(f"unknown cell kind {name!r} (known: {known}; modules listed in `imports` may register more)")
    return _REGISTRY[name]


def cell_kind_names() -> tuple[str, ...]:
    """Names of the kinds registered so far and of the lazy ones."""
    return tuple(sorted({*_REGISTRY, *LAZY_CELL_KINDS}))


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
            (spec, d, N): _resolve_target(spec, d, N) for spec in common["targets"] for d in common["d"] for N in common["N"]
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
                raise ConfigError(f"{config.source}: {axis}: cell kind {kind.name!r} does not use it (it uses {uses}); remove it")
            values[axis] = (None,)
        elif given:
            values[axis] = given
        elif axis == "targets":
            raise ConfigError(f'{config.source}: targets: missing: list TARGET specs, e.g. targets = ["holder:alpha=0.5"]')
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
            raise FieldError("device", f"cell kind {kind.name!r} computes on the CPU only; use \"cpu\" or \"auto\", got {device!r}")
        return "cpu"
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _target_file(spec: str) -> Path | None:
    """The source file of a ``file.py:function`` TARGET (the spelling of target_loading), else None."""
    head = spec.partition(":")[0]
    return Path(head) if head.endswith(".py") or "/" in head else None


def _resolve_target(spec: str | None, d: int | None, N: int | None) -> tuple[str | None, str | None]:
    """(canonical spec, sha256 of a file target's source or None), after loading the target once;
    (None, None) for a kind without targets."""
    from loopbound.target_loading import load_target
    from loopbound.theory.targets import BUILTIN_TARGETS

    if spec is None or d is None or N is None:  # CellKind: a kind with targets has d and N
        return None, None

    target = load_target(spec, d=d, N=N)
    if spec.partition(":")[0] in BUILTIN_TARGETS:
        return target.spec, None
    file = _target_file(spec)
    return spec, (hashlib.sha256(file.read_bytes()).hexdigest() if file is not None else None)


def load_cell_target(cell: Cell) -> Any:
    """The cell's target, refusing a file target whose source changed since the sweep was expanded."""
    from loopbound.target_loading import load_target

    if cell.target is None or cell.d is None or cell.N is None:
        raise ValueError(f"cell kind {cell.kind!r} has no target (its cells do not use targets, d and N)")
    file = _target_file(cell.target)
    if cell.target_sha256 is not None and file is not None and file.is_file():
        if hashlib.sha256(file.read_bytes()).hexdigest() != cell.target_sha256:
            raise InputError(f"target file {file} changed since the sweep was configured; run the sweep again")
    return load_target(cell.target, d=cell.d, N=cell.N)


# --------------------------------------------------------------------------- the "modulus" kind
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


def run_modulus_cell(cell: Cell) -> dict[str, Any]:
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
    return {  # no timings here: a result is a pure function of the cell (the record carries wall time)
        "kind": params.kind,
        "curve": [{**estimate.to_json(), "method": estimate.method} for estimate in estimates],
    }


register_cell_kind("modulus", run_modulus_cell, params=ModulusCellParams, axes=("kind",), cpu_only=True)
