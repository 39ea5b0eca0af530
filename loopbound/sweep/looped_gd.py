"""The ``looped_gd`` sweep cell kind: one cell of the in-context regression sweep.

One cell is one n/d ratio, one covariance condition number κ_Σ and one step rule, measured as
:func:`loopbound.regression_experiment.run_sweep` measures it (:func:`measure_cells`: ``instances``
prompts of dimension d, each normalised to η = 1, one looped-GD transformer pass, the normalised
error against ρ^r, the slope fit and loops to ε). The result is that function's per-cell dict, so
a record written by ``loopbound sweep`` and one written by ``run_sweep`` for the same configuration
have the same hash and the same result.

The kind has no sequence-to-sequence target: its cells use the sweep file's ``d`` and ``seeds``
only (``targets``, ``N`` and ``p`` are refused). Its parameters are :class:`SweepConfig`'s, with
the axes ``ratio``, ``kappa`` and ``rule`` one value per cell (the sweep file lists them)::

    cell = "looped_gd"
    d = 4
    [looped_gd]
    ratio = [2, 4]
    kappa = [1.0, 8.0]
    rule = ["max", "optimal"]
    instances = 32
    loops = 400

Registered when imported; listed in :data:`loopbound.sweep.cells.LAZY_CELL_KINDS`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from loopbound.regression_experiment import SweepConfig, measure_cells
from loopbound.sweep.cells import Cell, register_cell_kind
from loopbound.sweep.config import require_float, require_int, require_str
from loopbound.theory.numerics import resolve_device
from loopbound.theory.regression import STEP_RULES

__all__ = ["LoopedGDParams", "looped_gd_cell", "run_looped_gd_cell", "KIND"]

_DEFAULTS = SweepConfig()


@dataclass(frozen=True)
class LoopedGDParams:
    """Parameters of a ``looped_gd`` cell: the cell (``ratio`` n/d, ``kappa`` κ_Σ, step ``rule``)
    and the measurement (:class:`~loopbound.regression_experiment.SweepConfig`'s fields, with its
    defaults and its validation)."""

    ratio: int
    kappa: float
    rule: str
    instances: int = _DEFAULTS.instances
    loops: int = _DEFAULTS.loops
    fit_upper: float = _DEFAULTS.fit_upper
    fit_lower: float = _DEFAULTS.fit_lower
    transient: float = _DEFAULTS.transient
    min_fit_points: int = _DEFAULTS.min_fit_points
    error_floor: float = _DEFAULTS.error_floor
    check_floor: float = _DEFAULTS.check_floor
    epsilon: float = _DEFAULTS.epsilon
    level: float = _DEFAULTS.level
    resamples: int = _DEFAULTS.resamples

    def __post_init__(self) -> None:
        require_int("ratio", self.ratio, minimum=1)
        object.__setattr__(self, "kappa", require_float("kappa", self.kappa))  # TOML 8 and 8.0: one cell
        require_str("rule", self.rule, choices=STEP_RULES)
        self.sweep_config(d=1, seed=0)  # the other fields: SweepConfig's checks (ValueError naming the field)

    def sweep_config(self, *, d: int, seed: int) -> SweepConfig:
        """The one-cell :class:`SweepConfig` of these parameters in dimension ``d`` with ``seed``."""
        measurement = {name: getattr(self, name) for name in MEASUREMENT_FIELDS}
        return SweepConfig(d=d, ratios=(self.ratio,), kappas=(self.kappa,), rules=(self.rule,), seed=seed, **measurement)


MEASUREMENT_FIELDS = tuple(f.name for f in dataclasses.fields(LoopedGDParams) if f.name not in ("ratio", "kappa", "rule"))
"""The fields shared with :class:`SweepConfig` (all but the cell's own ratio, kappa and rule)."""


def looped_gd_cell(config: SweepConfig, ratio: int, kappa: float, rule: str, *, device: torch.device | None = None) -> Cell:
    """The sweep cell of one (``ratio``, ``kappa``, ``rule``) of ``config`` (on ``device``; None is
    the CPU, where :func:`run_sweep` then computes)."""
    measurement = {name: getattr(config, name) for name in MEASUREMENT_FIELDS}
    params = LoopedGDParams(ratio=ratio, kappa=kappa, rule=rule, **measurement)
    where = "cpu" if device is None else str(torch.device(device))
    return Cell(KIND.name, KIND.version, None, None, config.d, None, None, config.seed, where, params)


def run_looped_gd_cell(cell: Cell) -> dict[str, Any]:
    """One cell measured alone (:func:`loopbound.regression_experiment.measure_cells`)."""
    params: LoopedGDParams = cell.params
    config = params.sweep_config(d=cell.d, seed=cell.seed)
    return measure_cells(config, params.ratio, [(params.kappa, params.rule)], device=resolve_device(cell.device))[0]


KIND = register_cell_kind(
    "looped_gd", run_looped_gd_cell, params=LoopedGDParams, axes=("ratio", "kappa", "rule"), common_axes=("d",)
)
