"""Sweep configuration: a TOML file becomes one validated, frozen :class:`SweepConfig`.

The file names a cell kind and the axes of a cartesian product (docs/sweeps.md has the full
schema and examples)::

    cell = "modulus"                       # a registered cell kind (loopbound.sweep.cells)
    targets = ["holder:alpha=0.5", "contextual_max"]   # TARGET specs, as on the command line
    d = [1]                                # token dimension(s)
    N = [1, 2]                             # sequence length(s)
    p = 2                                  # output p-norm(s), 1 <= p < inf
    seeds = [0, 1]
    device = "auto"                        # auto | cpu | cuda | cuda:K

    [modulus]                              # the cell kind's own parameters
    kind = ["sequence", "token"]           # an axis of this kind: one cell per value
    deltas = [0.01, 0.03, 0.1, 0.3]        # not an axis: the whole grid goes to every cell

Every top-level axis (``targets``, ``d``, ``N``, ``p``, ``seeds``) takes one value or a non-empty
list without repeats; ``targets`` is required by the kinds that measure a target, and a kind without
one (``looped_gd``) refuses ``targets``, ``N`` and ``p`` (checked in :mod:`loopbound.sweep.cells`).
Optional keys: ``name`` (a label, default the file's stem), ``imports`` (modules imported first,
which may register more cell kinds), a ``[slurm]`` table (the job options of ``--executor
submitit`` on a Slurm cluster, validated here: :data:`SLURM_OPTIONS`) and a ``[submitit]`` table
(any other executor parameters, passed to ``submitit.AutoExecutor.update_parameters`` as they
are). Unknown keys are errors.

This module knows nothing about particular cell kinds: the ``[<cell>]`` table is kept raw (TOML
lists frozen into tuples) and checked against the kind's parameter dataclass when the sweep is
expanded into cells (:func:`loopbound.sweep.cells.expand_cells`). It also holds the small field
validators that configuration dataclasses (here and in cell kinds) use, each raising
:class:`FieldError` naming the field. Nothing here affects a cell's hash except through the values
it validates: ``name``, ``imports``, ``[slurm]`` and ``[submitit]`` say how to run, not what to compute.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopbound.cli_types import SEED_LIMIT
from loopbound.theory.errors import InputError

COMMON_AXES = ("targets", "d", "N", "p")
"""Top-level axes a cell kind may use or not (:attr:`loopbound.sweep.cells.CellKind.common_axes`);
``seeds`` and ``device`` belong to every cell."""

COMMON_AXIS_DEFAULTS: dict[str, tuple[Any, ...]] = {"d": (1,), "N": (2,), "p": (2.0,)}
"""Values of the axes a kind uses when the sweep file does not give them (``targets`` is required)."""

TOP_LEVEL_KEYS = ("name", "cell", "targets", "d", "N", "p", "seeds", "device", "imports", "slurm", "submitit")
"""Keys a sweep file may hold at top level, besides the table named after its cell kind."""

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:[0-9]+)?)$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
KIND_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""A cell kind's name: what ``cell = "…"`` says and the name of the kind's table."""

SLURM_OPTIONS = {
    "partition": "slurm_partition",
    "account": "slurm_account",
    "qos": "slurm_qos",
    "time": "timeout_min",
    "cpus_per_task": "cpus_per_task",
    "mem_gb": "mem_gb",
    "gpus_per_node": "gpus_per_node",
    "array_parallelism": "slurm_array_parallelism",
}
"""The ``[slurm]`` table's keys and the ``submitit`` parameter each one sets (docs/sweeps.md)."""

SLURM_TIME_PATTERN = re.compile(
    r"^(?:(?:(?P<days>[0-9]+)-)?(?P<hours>[0-9]+):)?(?P<minutes>[0-9]+):(?P<seconds>[0-9]{2})$"
)
"""A Slurm time limit as text: ``MM:SS``, ``HH:MM:SS`` or ``D-HH:MM:SS`` (a bare number is minutes)."""


class FieldError(InputError):
    """A configuration field has a bad value; the message reads ``field: problem``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ConfigError(InputError):
    """A sweep file cannot be used; the message reads ``FILE: field: problem`` (one line)."""


# --------------------------------------------------------------------------- field validators
def require_int(field: str, value: Any, *, minimum: int | None = None, below: int | None = None) -> int:
    """An integer (not a bool), at least ``minimum`` and less than ``below`` when given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise FieldError(field, f"must be an integer >= {minimum}, got {value!r}")
    if below is not None and value >= below:
        raise FieldError(field, f"must be an integer < {below}, got {value!r}")
    return value


def require_float(field: str, value: Any, *, positive: bool = False) -> float:
    """A finite number (TOML integers are accepted and become floats), > 0 when ``positive``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(field, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise FieldError(field, f"must be finite, got {value!r}")
    if positive and number <= 0:
        raise FieldError(field, f"must be > 0, got {value!r}")
    return number


def require_exponent(field: str, value: Any) -> float:
    """An output norm's exponent: 1 <= p < inf."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1.0 <= float(value) < math.inf:
        raise FieldError(field, f"must be a number with 1 <= p < inf, got {value!r}")
    return float(value)


def require_str(field: str, value: Any, *, choices: Iterable[str] | None = None) -> str:
    """A non-empty string, one of ``choices`` when given."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, f"must be a non-empty string, got {value!r}")
    if choices is not None:
        allowed = tuple(choices)
        if value not in allowed:
            raise FieldError(field, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def require_float_tuple(
    field: str, value: Any, *, positive: bool = False, increasing: bool = False
) -> tuple[float, ...]:
    """A non-empty list of finite numbers (> 0 when ``positive``; strictly increasing when asked)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise FieldError(field, f"must be a non-empty list of numbers, got {value!r}")
    numbers = tuple(require_float(field, item, positive=positive) for item in value)
    if increasing and any(b <= a for a, b in zip(numbers, numbers[1:])):
        raise FieldError(field, f"must be strictly increasing, got {list(value)!r}")
    return numbers


def as_axis(field: str, value: Any) -> tuple[Any, ...]:
    """One value or a non-empty list → the tuple of an axis's values (check them, then :func:`distinct`)."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not values:
        raise FieldError(field, "must not be an empty list")
    return values


def distinct(field: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Refuse an axis that lists a value twice (it would make two cells with one configuration)."""
    for k, value in enumerate(values):
        if value in values[:k]:
            raise FieldError(field, f"lists {value!r} twice")
    return values


def freeze(value: Any, field: str) -> Any:
    """TOML values made immutable: lists become tuples; nested tables are refused."""
    if isinstance(value, dict):
        raise FieldError(field, "nested tables are not supported here")
    if isinstance(value, list):
        return tuple(freeze(item, field) for item in value)
    return value


# --------------------------------------------------------------------------- the configuration
@dataclass(frozen=True)
class SweepConfig:
    """A sweep file, validated: what to compute (cell kind, axes, kind parameters) and how to run.

    ``targets``, ``d``, ``N`` and ``p`` are ``()`` where the file does not give them:
    :func:`loopbound.sweep.cells.expand_cells` then takes :data:`COMMON_AXIS_DEFAULTS` for a kind
    that uses the axis (``targets`` has none: it is required), and nothing for one that does not.
    ``params`` is the ``[<cell>]`` table as ``(key, value)`` pairs (TOML lists as tuples), checked
    against the kind's parameter dataclass by :func:`loopbound.sweep.cells.expand_cells`;
    ``slurm`` holds the ``[slurm]`` table's options (validated: :func:`slurm_parameters`) and
    ``submitit`` any other executor parameters; :attr:`executor_parameters` merges them. ``source`` is the file as named (for messages) and
    ``text`` its content (saved in the store's manifest).
    """

    name: str
    cell: str
    targets: tuple[str, ...] = ()
    d: tuple[int, ...] = ()
    N: tuple[int, ...] = ()
    p: tuple[float, ...] = ()
    seeds: tuple[int, ...] = (0,)
    device: str = "auto"
    imports: tuple[str, ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    submitit: tuple[tuple[str, Any], ...] = ()
    slurm: tuple[tuple[str, Any], ...] = ()
    source: str = "<config>"
    text: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise FieldError("name", f"must be letters, digits, '.', '_' or '-' (a folder name), got {self.name!r}")
        if not isinstance(self.cell, str) or not KIND_NAME_PATTERN.match(self.cell):
            raise FieldError("cell", f'must name a cell kind, such as "modulus", got {self.cell!r}')
        axes = {
            "targets": lambda v: require_str("targets", v),
            "d": lambda v: require_int("d", v, minimum=1),
            "N": lambda v: require_int("N", v, minimum=1),
            "p": lambda v: require_exponent("p", v),
            "seeds": lambda v: require_int("seeds", v, minimum=0, below=SEED_LIMIT),
        }
        for field, check in axes.items():
            if field in COMMON_AXES and getattr(self, field) == ():
                continue  # not given: the cell kind's default, or not used by the kind (expand_cells)
            values = tuple(check(value) for value in as_axis(field, getattr(self, field)))
            object.__setattr__(self, field, distinct(field, values))
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device):
            raise FieldError("device", f"must be auto, cpu, cuda or cuda:K, got {self.device!r}")
        if not isinstance(self.imports, tuple) or not all(
            isinstance(m, str) and IDENTIFIER_PATTERN.match(m) for m in self.imports
        ):
            raise FieldError("imports", f"must be a list of module names, got {self.imports!r}")
        for label, pairs in ((f"[{self.cell}]", self.params), ("[submitit]", self.submitit)):
            keys = [key for key, _ in pairs]
            if len(set(keys)) != len(keys) or not all(isinstance(key, str) for key in keys):
                raise FieldError(label, f"keys must be distinct strings, got {keys!r}")
        slurm = slurm_parameters(self.slurm)
        for key, _ in self.submitit:
            if key in slurm:
                option = next(name for name, parameter in SLURM_OPTIONS.items() if parameter == key)
                raise FieldError(f"[submitit] {key}", f"is set by [slurm] {option} too; set it once")

    @property
    def executor_parameters(self) -> dict[str, Any]:
        """What ``--executor submitit`` passes to ``update_parameters``: the ``[slurm]`` options as
        submitit's names, and the ``[submitit]`` table."""
        return {**slurm_parameters(self.slurm), **dict(self.submitit)}

    @property
    def digest(self) -> str:
        """sha256 of the file's text (empty text for a configuration built in code)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def parse_config(text: str, *, source: str = "<config>", default_name: str = "sweep") -> SweepConfig:
    """Parse and validate a sweep file's text; errors are :class:`ConfigError` naming the field."""
    toml = _toml_reader()
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {' '.join(str(error).split())}") from None
    try:
        return _from_mapping(data, source=source, text=text, default_name=default_name)
    except FieldError as error:
        raise ConfigError(f"{source}: {error}") from None


def _toml_reader() -> Any:
    """``tomllib`` (Python >= 3.11), or ``tomli`` where installed on 3.10; imported on first use so
    that a Python without either still runs every other command."""
    try:
        import tomllib

        return tomllib
    except ModuleNotFoundError:
        try:
            import tomli

            return tomli
        except ModuleNotFoundError:
            raise InputError("reading sweep files needs Python >= 3.11 (tomllib) or the tomli package") from None


def load_config(path: str | Path) -> SweepConfig:
    """Read a sweep file (UTF-8 TOML); a missing file or a folder is an :class:`InputError`."""
    file = Path(path)
    if file.is_dir():
        raise InputError(f"{path} is a folder, not a sweep file")
    if not file.is_file():
        raise InputError(f"no such file: {path}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_config(
        text, source=str(path), default_name=re.sub(r"[^A-Za-z0-9._-]", "-", file.stem).lstrip("._-") or "sweep"
    )


def _from_mapping(data: Mapping[str, Any], *, source: str, text: str, default_name: str) -> SweepConfig:
    if "cell" not in data:
        raise FieldError("cell", 'missing: name the cell kind, e.g. cell = "modulus"')
    cell = data["cell"]
    if not isinstance(cell, str):
        raise FieldError("cell", f"must be a string naming a cell kind, got {cell!r}")
    for key in data:
        if key not in TOP_LEVEL_KEYS and key != cell and isinstance(data[key], dict):
            raise FieldError(f"[{key}]", f"a parameter table for cell kind {key!r}, but cell = {cell!r}")
        if key not in TOP_LEVEL_KEYS and key != cell:
            known = ", ".join((*TOP_LEVEL_KEYS, f"[{cell}]"))
            raise FieldError(key, f"unknown key (known: {known})")
    section = data.get(cell, {})
    if not isinstance(section, dict):
        raise FieldError(f"[{cell}]", f"must be a table of the cell kind's parameters, got {section!r}")
    submitit = data.get("submitit", {})
    if not isinstance(submitit, dict):
        raise FieldError("[submitit]", f"must be a table of executor parameters, got {submitit!r}")
    slurm = data.get("slurm", {})
    if not isinstance(slurm, dict):
        raise FieldError("[slurm]", f"must be a table of Slurm options ({', '.join(SLURM_OPTIONS)}), got {slurm!r}")
    imports = data.get("imports", [])
    if not isinstance(imports, list):
        raise FieldError("imports", f"must be a list of module names, got {imports!r}")
    fields = {key: data[key] for key in ("targets", "d", "N", "p", "seeds", "device") if key in data}
    for key, value in fields.items():
        if isinstance(value, dict):
            raise FieldError(key, "must be a value or a list, not a table")
        if key != "device":
            as_axis(key, value)  # an empty list is an error, not "not given"
    return SweepConfig(
        name=data.get("name", default_name),
        cell=cell,
        imports=tuple(imports),
        params=tuple((key, freeze(value, f"[{cell}] {key}")) for key, value in section.items()),
        submitit=tuple((key, freeze(value, f"[submitit] {key}")) for key, value in submitit.items()),
        slurm=tuple((key, freeze(value, f"[slurm] {key}")) for key, value in slurm.items()),
        source=source,
        text=text,
        **{key: freeze(value, key) for key, value in fields.items()},
    )


# --------------------------------------------------------------------------- [slurm]
def slurm_parameters(options: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The ``[slurm]`` table's options, validated, as ``submitit`` parameters (:data:`SLURM_OPTIONS`).

    ``partition``, ``account`` and ``qos`` are names; ``time`` is whole minutes (>= 1) or Slurm's
    ``[D-][HH:]MM:SS``, rounded up to minutes; ``cpus_per_task`` and ``array_parallelism`` are
    integers >= 1, ``gpus_per_node`` an integer >= 0 and ``mem_gb`` a number > 0 (GB per job).
    """
    parameters: dict[str, Any] = {}
    for key, value in options:
        field = f"[slurm] {key}"
        if key not in SLURM_OPTIONS:
            raise FieldError(field, f"unknown key (known: {', '.join(SLURM_OPTIONS)}; others go to [submitit])")
        if key in ("partition", "account", "qos"):
            if not isinstance(value, str) or not NAME_PATTERN.match(value):
                raise FieldError(field, f"must be a Slurm name (letters, digits, '.', '_', '-'), got {value!r}")
        elif key == "time":
            value = slurm_minutes(field, value)
        elif key == "mem_gb":
            value = require_float(field, value, positive=True)
        else:
            value = require_int(field, value, minimum=0 if key == "gpus_per_node" else 1)
        parameters[SLURM_OPTIONS[key]] = value
    return parameters


def slurm_minutes(field: str, value: Any) -> int:
    """A time limit in whole minutes: an integer >= 1, or text ``[D-][HH:]MM:SS`` (rounded up)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        value = int(value)
    if isinstance(value, str):
        match = SLURM_TIME_PATTERN.match(value.strip())
        if match is None:
            raise FieldError(field, f"must be minutes or D-HH:MM:SS, got {value!r}")
        days, hours, minutes, seconds = (int(match[name] or 0) for name in ("days", "hours", "minutes", "seconds"))
        if seconds >= 60 or (match["hours"] is not None and minutes >= 60) or (match["days"] and hours >= 24):
            raise FieldError(field, f"must be minutes or D-HH:MM:SS, got {value!r}")
        value = max(1, ((days * 24 + hours) * 60 + minutes) + math.ceil(seconds / 60))
    return require_int(field, value, minimum=1)
