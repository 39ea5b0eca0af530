"""The result of a ``looped_gd`` cell (:mod:`loopbound.sweep.kinds.looped_gd`), typed: the frozen
dataclasses of its JSON record, one per object of the record (docs/theory.md §6 for the quantities).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopbound.sweep.result import JsonRecord

__all__ = [
    "LoopedGDConfig",
    "Quantiles",
    "BoundCheck",
    "SlopeSummary",
    "LoopsToEpsilon",
    "ErrorCurve",
    "PerPrompt",
    "LoopedGDResult",
]


@dataclass(frozen=True)
class LoopedGDConfig(JsonRecord):
    """Every setting of a ``looped_gd`` result: d, the cell's :class:`~loopbound.sweep.kinds.looped_gd.LoopedGDParams`, the seed,
    n = ratio·d and the layout version."""

    d: int
    instances: int
    loops: int
    fit_upper: float
    fit_lower: float
    transient: float
    min_fit_points: int
    error_floor: float
    check_floor: float
    epsilon: float
    level: float
    resamples: int
    seed: int
    ratio: int
    kappa: float
    rule: str
    n: int
    version: int


@dataclass(frozen=True)
class Quantiles(JsonRecord):
    """The 10%, 50% and 90% quantiles over prompts (numbers, or lists per loop)."""

    q10: float | tuple[float, ...]
    median: float | tuple[float, ...]
    q90: float | tuple[float, ...]


@dataclass(frozen=True)
class BoundCheck(JsonRecord):
    """|ŷ_r − ŷ_LS| ≤ ‖x_q‖ρ^r‖w_LS‖ at the ``points`` (prompt, r) where ρ^r ≥ ``check_floor``:
    the ``violations`` and the worst measured/bound."""

    points: int
    violations: int
    max_ratio: float
    check_floor: float


@dataclass(frozen=True)
class SlopeSummary(JsonRecord):
    """The fitted log-error slope against log ρ: prompts ``fitted`` of ``instances``, the medians,
    and slope/log ρ's bootstrap interval (its JSON; None with fewer than 2 fitted) and whether it
    contains 1."""

    fitted: int
    instances: int
    median_slope: float | None
    median_log_rho: float | None
    ratio: Mapping[str, Any] | None
    contains_one: bool | None


@dataclass(frozen=True)
class LoopsToEpsilon(JsonRecord):
    """Loops to reach ε: prompts that ``reached`` it, medians measured, of the bound
    ⌈ln(1/ε)/ln(1/ρ)⌉ and of the κ-form, and whether every measured count is within the bound."""

    epsilon: float
    reached: int
    measured_median: float | None
    bound_median: float | None
    kappa_form_median: float
    measured_within_bound: bool
    kappa_form: str


@dataclass(frozen=True)
class ErrorCurve(JsonRecord):
    """The normalised error's quantiles and the median bound ρ^r at thinned ``loops``."""

    loops: tuple[int, ...]
    error: Quantiles
    bound_median: tuple[float, ...]


@dataclass(frozen=True)
class PerPrompt(JsonRecord):
    """Per prompt: κ(H), ρ, the fitted slope (None: not fitted) and loops to ε measured, by the
    bound and by the κ-form (None: not reached, or infinite)."""

    kappa_H: tuple[float, ...]
    rho: tuple[float, ...]
    slope: tuple[float | None, ...]
    loops_measured: tuple[int | None, ...]
    loops_bound: tuple[int | None, ...]
    loops_kappa_form: tuple[int | None, ...]


@dataclass(frozen=True)
class LoopedGDResult(JsonRecord):
    """A ``looped_gd`` cell's result (:mod:`loopbound.sweep.kinds.looped_gd`): settings, the prompts' seed, κ(H) and
    log ρ quantiles, the bound check, the slope and loops-to-ε summaries, the error curve and the
    per-prompt values."""

    kind: str  # "looped_gd_cell"
    config: LoopedGDConfig
    cell_seed: int
    kappa_H: Quantiles
    log_rho: Quantiles
    bound_check: BoundCheck
    slope: SlopeSummary
    loops_to_epsilon: LoopsToEpsilon
    curve: ErrorCurve
    instances: PerPrompt
