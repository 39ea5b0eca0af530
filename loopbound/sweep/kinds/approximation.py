"""The ``approximation`` sweep cell kind: the universal construction's error at one loop budget r.

One cell is one (target, d, N, p, seed, variant, r): :func:`loopbound.verify.verify` at the single
loop budget ``loops`` = r, with or without timestep scaling (``timestep``), against ``bound``
(``construction``, ``theorem`` or a sympy expression, as ``loopbound verify --bound``). Its result
is that :meth:`~loopbound.verify.VerifyResult.to_json` record without its timings (``seconds``,
overall and per measurement): a cell's result is a pure function of the cell, and the record
carries the wall time. A construction that float64 cannot hold at r is a result too (a refused
row, as in the run stage), not a failure; an r too small for the construction is an input error.

``loopbound figures STORE`` draws a store's ``approximation`` records: the records of one series
(target, d, N, p, variant, bound) are merged by r into one curve
(:func:`loopbound.figures.approximation.load_records`). ``examples/sweeps/approximation-small.toml``::

    cell = "approximation"
    targets = ["holder:alpha=0.5", "contextual_max"]
    d = 1
    N = [1, 2]
    [approximation]
    timestep = [false, true]      # axis
    loops = [9, 19, 29, 67]       # axis: r
    samples = 2048
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopbound.sweep.cell import Cell, CellKind, load_cell_target
from loopbound.sweep.config import FieldError, require_float, require_int, require_str
from loopbound.sweep.result import JsonRecord
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.theory.verdict_level import LEVEL_REQUIREMENT, valid_verdict_level

__all__ = [
    "ApproximationParams",
    "ApproximationResult",
    "ApproximationRow",
    "BoundSummary",
    "MeasurementSettings",
    "SupTarget",
    "VerdictSummary",
    "run_approximation_cell",
    "verify_record",
    "without_timings",
    "KIND",
]


@dataclass(frozen=True)
class ApproximationParams:
    """Parameters of an ``approximation`` cell: the variant and loop budget (axes) and the
    measurement, with :func:`loopbound.verify.verify`'s defaults."""

    loops: int
    timestep: bool = False
    samples: int = 1 << 14
    scramblings: int = 8
    level: float = 0.95
    bound: str = "construction"
    sup: bool = True

    def __post_init__(self) -> None:
        for name in ("timestep", "sup"):
            if not isinstance(getattr(self, name), bool):
                raise FieldError(name, f"must be true or false, got {getattr(self, name)!r}")
        require_int("loops", self.loops, minimum=1)
        require_int("scramblings", self.scramblings, minimum=2)
        require_int("samples", self.samples, minimum=2 * self.scramblings)
        level = require_float("level", self.level)
        if not valid_verdict_level(level):  # the rule of --level too: a verdict below 50% states nothing
            raise FieldError("level", f"must satisfy {LEVEL_REQUIREMENT}, got {self.level!r}")
        object.__setattr__(self, "level", level)
        require_str("bound", self.bound)
        object.__setattr__(self, "bound", self.bound.strip())
        if self.bound not in ("construction", "theorem"):
            from loopbound.theory.bounds.parse import parse_bound  # ast whitelist: validating a config runs no code

            try:
                parse_bound(self.bound, what="bound")
            except InputError as error:
                raise FieldError("bound", " ".join(str(error).split())) from None


@dataclass(frozen=True)
class ApproximationRow(JsonRecord):
    """One loop budget r of a verify record (:meth:`loopbound.verify_result.VerifyRow.to_json`):
    the grid m (δ = 1/m) and loops, the measured L^p ``error`` with its interval [``lower``,
    ``upper``] and sup lower bound, the bound's range [``bound``, ``bound_upper``], measured/bound
    ``ratio``, the values and moduli it was evaluated with, the ``arithmetic`` it ran in, and the
    ``status`` — or why the construction was ``refused`` (then the measured fields are None)."""

    r: int
    grid: int | None
    delta: float | None
    loops: int | None
    error: float | None
    lower: float | None
    upper: float | None
    sup_error_lower_bound: float | None
    bound: float | None
    bound_upper: float | None
    bound_method: str | None
    bound_reason: str | None
    ratio: float | None
    values: Mapping[str, Any]
    moduli: tuple[Mapping[str, Any], ...]
    measurement: Mapping[str, Any] | None
    guarantee: Mapping[str, Any] | None
    refused: str | None
    warnings: tuple[str, ...]
    other_reading: Mapping[str, Any] | None
    reading_note: str | None
    status: str
    arithmetic: str | None = None
    """float64 or exact (None in records written before verify named it)."""


@dataclass(frozen=True)
class BoundSummary(JsonRecord):
    """The bound checked: its kind (construction, theorem, user), name, expression (text and
    LaTeX), provenance and status."""

    kind: str
    name: str
    expression: str
    latex: str
    provenance: str
    status: str


@dataclass(frozen=True)
class SupTarget(JsonRecord):
    """sup|f| as the bound used it, and where it came from."""

    value: float
    source: str


@dataclass(frozen=True)
class MeasurementSettings(JsonRecord):
    """The measurement: Sobol points, scramblings, confidence level, seed, device."""

    samples: int
    scramblings: int
    level: float
    seed: int
    device: str


@dataclass(frozen=True)
class VerdictSummary(JsonRecord):
    """The verdict over the measured r (:meth:`loopbound.theory.verdict.Verdict.to_json`):
    held/violated/inconclusive with the r of each, the fitted ``rate`` (its JSON) and the
    bound's claimed exponent."""

    status: str
    held: bool
    violated: tuple[int, ...]
    inconclusive: tuple[int, ...]
    summary: str
    level: float
    statistical: bool
    warnings: tuple[str, ...]
    reading_dependent: tuple[Mapping[str, Any], ...]
    context: Any
    rate: Mapping[str, Any]
    claimed_exponent: float | None
    rate_comparison: Any


@dataclass(frozen=True)
class ApproximationResult(JsonRecord):
    """An ``approximation`` or ``approximation_curve`` cell's result: the verify record of the
    cell's target at its loop budgets without timings (:func:`without_timings`) — the settings,
    the bound, the ``rows`` per r, the ``verdict`` (None when every r was refused) and the refused r."""

    target: str
    d: int
    N: int
    p: float
    timestep: bool
    construction: str
    bound: BoundSummary
    moduli_sources: Mapping[str, str]
    sup_target: SupTarget
    settings: MeasurementSettings
    rows: tuple[ApproximationRow, ...]
    hypotheses: Mapping[str, Any] | None
    verdict: VerdictSummary | None
    refused: tuple[int, ...]

    @property
    def measured(self) -> tuple[ApproximationRow, ...]:
        """The rows that were measured (not refused)."""
        return tuple(row for row in self.rows if row.measurement is not None)


def without_timings(record: dict[str, Any]) -> dict[str, Any]:
    """A verify record without its wall times (``seconds``, and each measurement's ``lp.seconds``)."""
    rows = []
    for row in record["rows"]:
        measurement = row.get("measurement")
        if measurement is not None:
            lp = {key: value for key, value in measurement["lp"].items() if key != "seconds"}
            row = {**row, "measurement": {**measurement, "lp": lp}}
        rows.append(row)
    return {**{key: value for key, value in record.items() if key != "seconds"}, "rows": rows}


def verify_record(cell: Cell, loops: list[int]) -> dict[str, Any]:
    """:func:`loopbound.verify.verify` of the cell's target at the loop budgets ``loops`` with the
    cell's measurement settings; its record without timings. One intra-op thread, as the run stage
    (the construction's GEMMs are narrow: loopbound.theory.numerics)."""
    from loopbound.theory.bounds.parse import parse_bound
    from loopbound.verify import load_family, verify

    params = cell.params
    bound = params.bound if params.bound in ("construction", "theorem") else parse_bound(params.bound, what="bound")
    with intra_op_threads(1):
        result = verify(
            load_cell_target(cell),
            loops=loops,
            timestep=params.timestep,
            p=cell.p,
            bound=bound,
            samples=params.samples,
            scramblings=params.scramblings,
            level=params.level,
            seed=cell.seed,
            device=resolve_device(cell.device),
            family=load_family(),
            on_refusal="record",
            sup_search=params.sup,
            progress=False,
        )
    return without_timings(result.to_json())


def run_approximation_cell(cell: Cell) -> ApproximationResult:
    """:func:`verify_record` at the cell's single loop budget."""
    return ApproximationResult.from_record(verify_record(cell, [cell.params.loops]))


KIND = CellKind(
    "approximation",
    run_approximation_cell,
    params=ApproximationParams,
    axes=("timestep", "loops"),
    version="1",
    result=ApproximationResult,
)
