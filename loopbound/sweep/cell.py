"""A sweep cell and a cell kind: one pure computation each, keyed by the hash of its configuration.

A :class:`Cell` is everything that determines a result — the cell kind and its version, the
target (canonical spec, plus the sha256 of a file target's source), d, N, p, seed, device and the
kind's parameters — and nothing that does not (names, paths of the store, executors, worker
counts). Its :attr:`Cell.hash` is the sha256 of the canonical JSON of that configuration with
:data:`SCHEMA_VERSION`; a record is stale exactly when no cell of a sweep has its hash.

A :class:`CellKind` says how to compute a cell (a module-level ``run(cell)``), the type of its
result (``result``: a frozen dataclass with ``to_record()`` / ``from_record()``,
:mod:`loopbound.sweep.result`; the store writes the record as JSON), its frozen parameter dataclass (the ``[<kind>]`` table of a sweep file) and
which parameters are axes. A kind may also compute several cells in one pass (``run_batch``, for
the cells of equal ``batch_key``): the in-process engine (:mod:`loopbound.sweep.in_process`) uses
it, and each cell's result must equal the one ``run`` gives for it alone. The registry of kinds is
:mod:`loopbound.sweep.cells`; the shipped kinds are in :mod:`loopbound.sweep.kinds`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopbound.sweep.config import COMMON_AXES, KIND_NAME_PATTERN, FieldError, as_axis, distinct
from loopbound.theory.errors import InputError

SCHEMA_VERSION = 1
"""Version of the cell configuration and record layout; it enters every hash."""

RunCell = Callable[["Cell"], Any]
"""Computes one cell: its typed result (:class:`~loopbound.sweep.result.JsonRecord`), or for a
kind without a result type its JSON values."""

RunBatch = Callable[[Sequence["Cell"]], list[Any]]
"""Computes cells of one batch key together: their results in order."""


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
            f"{key}={value}"
            for key, value in dataclasses.asdict(self.params).items()
            if isinstance(value, (str, int, float))
        )
        common = [self.target] if self.target is not None else []
        common += [
            f"{name}={value:g}" for name, value in (("d", self.d), ("N", self.N), ("p", self.p)) if value is not None
        ]
        return " ".join([self.kind, *common, f"seed={self.seed}", scalars]).strip()


# --------------------------------------------------------------------------- kinds
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
    run_batch: RunBatch | None = None
    batch_key: Callable[[Cell], Hashable] | None = None
    result: type | None = None

    def read_result(self, record: Mapping[str, Any]) -> Any:
        """A stored record as this kind's result: ``result.from_record`` (a ValueError where the
        record does not have its layout), or the JSON object itself for a kind without a result type."""
        return dict(record) if self.result is None else self.result.from_record(record)  # type: ignore[attr-defined]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not KIND_NAME_PATTERN.match(self.name):
            raise ValueError(
                f"a cell kind's name is letters, digits and '_' (it names a TOML table), got {self.name!r}"
            )
        if not dataclasses.is_dataclass(self.params) or not self.params.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise ValueError(f"cell kind {self.name!r}: params must be a frozen dataclass, got {self.params!r}")
        for role, function in (("run", self.run), ("run_batch", self.run_batch), ("batch_key", self.batch_key)):
            qualname = getattr(function, "__qualname__", "")
            if role != "run" and function is None:
                continue
            if not callable(function) or "<lambda>" in qualname or "<locals>" in qualname:
                raise ValueError(
                    f"cell kind {self.name!r}: {role} must be a module-level function (workers import it by name), got {function!r}"
                )
        if self.result is not None and not callable(getattr(self.result, "from_record", None)):
            raise ValueError(f"cell kind {self.name!r}: result must have from_record, got {self.result!r}")
        if (self.run_batch is None) != (self.batch_key is None):
            raise ValueError(f"cell kind {self.name!r}: run_batch and batch_key go together")
        names = {field.name for field in dataclasses.fields(self.params)}
        for axis in self.axes:
            if axis not in names:
                raise ValueError(f"cell kind {self.name!r}: axis {axis!r} is not a field of {self.params.__name__}")
        if not isinstance(self.version, str) or not self.version:
            raise ValueError(f"cell kind {self.name!r}: version must be a non-empty string")
        if any(axis not in COMMON_AXES for axis in self.common_axes):
            raise ValueError(
                f"cell kind {self.name!r}: common_axes must be among {', '.join(COMMON_AXES)}, got {self.common_axes!r}"
            )
        if "targets" in self.common_axes and not {"d", "N"} <= set(self.common_axes):
            raise ValueError(
                f"cell kind {self.name!r}: a kind with targets uses d and N too (a target is loaded for a shape)"
            )

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


def _target_file(spec: str) -> Path | None:
    """The source file of a ``file.py:function`` TARGET (the spelling of target_loading), else None."""
    head = spec.partition(":")[0]
    return Path(head) if head.endswith(".py") or "/" in head else None


def resolve_target(spec: str | None, d: int | None, N: int | None) -> tuple[str | None, str | None]:
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
