"""The ``looped_gd`` sweep cell kind: looped gradient descent on in-context regression against its
bound (docs/theory.md §6).

One cell is one n/d ratio, one covariance condition number κ_Σ and one step rule: ``instances``
prompts x ~ N(0, Σ), Σ of condition number κ_Σ, n = (n/d)·d examples, each prompt rescaled so that
its rule's step is η = 1 (:func:`loopbound.theory.regression.normalise_for_step`), one looped-GD
transformer pass giving the prediction after every loop (loopbound.constructions.gradient_descent),
and from it: the normalised error e_r = |ŷ_r − ŷ_LS|/(‖x_q‖‖w_LS‖) against the bound ρ^r
(GD_PREDICTION_ERROR), the fitted log-error slope against log ρ (per prompt, in the asymptotic
window; median over prompts with a percentile-bootstrap interval), and loops to reach ε against
⌈ln(1/ε)/ln(1/ρ)⌉ and κ·ln(1/ε). The prompts of a cell are seeded by (seed, d, n/d, κ_Σ), shared
by both rules.

Cells of one n (and one measurement) run in one transformer pass (:func:`measure_cells`, the kind's
``run_batch``): a prompt's predictions do not depend on the other prompts of the pass (the tests
check it bit for bit), so a cell gives the same numbers measured alone or with the others.

The kind has no sequence-to-sequence target: its cells use the sweep's ``d`` and ``seeds`` only::

    cell = "looped_gd"
    d = 4
    [looped_gd]
    ratio = [2, 4]
    kappa = [1.0, 8.0]
    rule = ["max", "optimal"]
    instances = 32
    loops = 400

**The slope fit.** Per prompt, e_r = |Σ_i c_i μ_i^r| with μ_i = 1 − ηλ_i; its asymptotic
log-slope is log ρ, ρ = max|μ_i|, but a subdominant μ₂ bends any finite window (a fit started
too early is steeper or shallower by up to a few per cent when λ₂ ≈ λ_min, as at the
Marchenko–Pastur edge). The window is therefore asymptotic by construction: loops r with
ρ^r ≤ ``fit_upper``, (μ₂/ρ)^r ≤ ``transient`` (subdominant modes decayed by 10³ relative to the
dominant one), ρ^r ≥ ``fit_lower`` and e_r above the float64 floor ``error_floor``; prompts without
``min_fit_points`` such loops within the budget are counted as not fitted, never fitted anyway.
The fit is least squares of log e_r on (1, r, (−1)^r) (the parity term absorbs the exact even/odd
alternation of the η = 2/(λ_max + λ_min) rule). The cell's statistic is the median over prompts of
slope/log ρ (1 when the slope is log ρ), with a percentile-bootstrap interval over prompts.
Measured calibration (10 seeds × 8 cells, d = 4): the 95% interval contains 1 in 75 of 80 cells,
and no interval end is farther than 7.3·10⁻⁵ from 1 (docs/regression.md).

Every looped pass runs with one intra-op thread (:func:`loopbound.theory.numerics.intra_op_threads`):
the passes are hundreds of tiny [B, n + 1, d + 1] products whose cost is synchronisation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from loopbound.constructions.gradient_descent import looped_gd_predict
from loopbound.sweep.cell import Cell, CellKind
from loopbound.sweep.config import FieldError, require_float, require_int, require_str
from loopbound.sweep.kinds.looped_gd_result import LoopedGDResult
from loopbound.theory.bounds.regression import (
    GD_LOOPS_KAPPA_MAX_STEP,
    GD_LOOPS_KAPPA_OPTIMAL_STEP,
    GD_LOOPS_TO_EPSILON,
    GD_PREDICTION_ERROR,
)
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.theory.regression import (
    STEP_RULES,
    RegressionTask,
    bootstrap_median,
    contraction_factor,
    fit_log_slope,
    least_squares,
    loops_to_reach,
    normalise_for_step,
    sample_regression,
)

__all__ = [
    "LoopedGDParams",
    "LoopedGDResult",
    "measure_cells",
    "run_looped_gd_cell",
    "derived_seed",
    "KIND",
    "RECORD_VERSION",
]

RECORD_VERSION = 1
"""Version of the result layout (it is in every result's ``config``)."""


def derived_seed(*parts: Any) -> int:
    """A 32-bit seed from the parts (their reprs hashed): prompts of an experiment, per cell."""
    return int(hashlib.sha256(":".join(map(repr, parts)).encode()).hexdigest()[:8], 16)


def _in_open_unit(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise FieldError(field, f"must be in (0, 1), got {value!r}")


@dataclass(frozen=True)
class LoopedGDParams:
    """Parameters of a ``looped_gd`` cell: the cell (``ratio`` n/d, ``kappa`` κ_Σ of the population
    covariance, step ``rule``: ``max`` η = 1/λ_max or ``optimal`` η = 2/(λ_max + λ_min)) and the
    measurement: ``instances`` prompts, ``loops`` loops, the fit window (module docstring), ε for
    loops to ε, and the bootstrap's ``level`` and ``resamples``. The bound is compared with the
    measurement wherever ρ^r ≥ ``check_floor`` (below it float64 rounding of ŷ_LS, of order κ·u, is
    not negligible against the bound)."""

    ratio: int
    kappa: float
    rule: str
    instances: int = 64
    loops: int = 1500
    fit_upper: float = 1e-2
    fit_lower: float = 1e-8
    transient: float = 1e-3
    min_fit_points: int = 8
    error_floor: float = 1e-12
    check_floor: float = 1e-10
    epsilon: float = 1e-6
    level: float = 0.95
    resamples: int = 2000

    def __post_init__(self) -> None:
        require_int("ratio", self.ratio, minimum=1)
        kappa = require_float("kappa", self.kappa)  # TOML 8 and 8.0: one cell
        if kappa < 1:
            raise FieldError("kappa", f"must be a condition number >= 1, got {self.kappa!r}")
        object.__setattr__(self, "kappa", kappa)
        require_str("rule", self.rule, choices=STEP_RULES)
        require_int("instances", self.instances, minimum=2)  # intervals need two prompts
        for name in ("loops", "min_fit_points", "resamples"):
            require_int(name, getattr(self, name), minimum=1)
        for name in ("fit_upper", "fit_lower", "transient", "error_floor", "check_floor", "epsilon", "level"):
            _in_open_unit(name, getattr(self, name))
        if not self.fit_lower < self.fit_upper:
            raise FieldError("fit_lower", f"must be < fit_upper, got {self.fit_lower} and {self.fit_upper}")

    def measurement(self) -> dict[str, Any]:
        """The fields other than the cell's own ratio, kappa and rule."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("ratio", "kappa", "rule")
        }


def _subdominant(eigenvalues: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """μ₂ = the largest |1 − λ_i| (η = 1) strictly below ρ over the nonzero spectrum, per prompt."""
    mu = np.where(eigenvalues > 0, np.abs(1.0 - eigenvalues), 0.0)
    below = np.where(mu < rho[:, None] * (1 - 1e-12), mu, 0.0)
    return below.max(axis=1)


def _fit_window(params: LoopedGDParams, rho: float, sub: float) -> tuple[int, int] | None:
    if not 0 < rho < 1:
        return None
    first = math.ceil(math.log(params.fit_upper) / math.log(rho))
    if sub > 0:
        first = max(first, math.ceil(math.log(params.transient) / math.log(sub / rho)))
    last = min(params.loops, math.floor(math.log(params.fit_lower) / math.log(rho)))
    return (first, last) if last - first + 1 >= params.min_fit_points else None


def _quantiles(values: np.ndarray, axis: int = -1) -> dict[str, Any]:
    q10, q50, q90 = np.quantile(values, [0.1, 0.5, 0.9], axis=axis)
    return {"q10": q10.tolist(), "median": q50.tolist(), "q90": q90.tolist()}


def _thin(length: int, most: int = 600) -> np.ndarray:
    """Indices 0..length−1 at an even stride (so even loops stay even) keeping at most about
    ``most`` of them, and always the last."""
    step = max(1, math.ceil((length - 1) / most))
    if step > 1 and step % 2:
        step += 1
    return np.unique(np.append(np.arange(0, length, step), length - 1))


def _slopes(params: LoopedGDParams, normalised: np.ndarray, rho: np.ndarray, sub: np.ndarray) -> list[float | None]:
    """Per prompt: the fitted log-error slope in its asymptotic window, or None (not fitted)."""
    slopes: list[float | None] = []
    for b in range(rho.size):
        window = _fit_window(params, float(rho[b]), float(sub[b]))
        slope = None
        if window is not None:
            loops_in = np.arange(window[0], window[1] + 1)
            values = normalised[loops_in, b]
            keep = values > params.error_floor
            if keep.sum() >= params.min_fit_points:
                slope = fit_log_slope(loops_in[keep], values[keep]).slope
        slopes.append(slope)
    return slopes


def _slope_summary(
    params: LoopedGDParams, slopes: list[float | None], rho: np.ndarray, cell_seed: int
) -> dict[str, Any]:
    """Median slope and log ρ over fitted prompts, and slope/log ρ with its bootstrap interval."""
    fitted = [(s, math.log(float(rho[b]))) for b, s in enumerate(slopes) if s is not None]
    interval = None
    if len(fitted) >= 2:
        interval = bootstrap_median(
            [s / lr for s, lr in fitted], level=params.level, resamples=params.resamples, seed=cell_seed % (2**31)
        )
    return {
        "fitted": len(fitted),
        "instances": int(rho.size),
        "median_slope": float(np.median([s for s, _ in fitted])) if fitted else None,
        "median_log_rho": float(np.median([lr for _, lr in fitted])) if fitted else None,
        "ratio": None if interval is None else interval.to_json(),
        "contains_one": None if interval is None else interval.contains(1.0),
    }


def _loops_summary(
    params: LoopedGDParams, normalised: np.ndarray, rho: np.ndarray, kappa_H: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Loops to ε measured against ⌈ln(1/ε)/ln(1/ρ)⌉ and the κ-form: the summary and per prompt."""
    measured = [loops_to_reach(normalised[:, b], params.epsilon) for b in range(rho.size)]
    with np.errstate(divide="ignore", invalid="ignore"):
        bound_loops = np.asarray(GD_LOOPS_TO_EPSILON.evaluate(rho=rho, epsilon=params.epsilon), dtype=np.float64)
    kappa_form = GD_LOOPS_KAPPA_MAX_STEP if params.rule == "max" else GD_LOOPS_KAPPA_OPTIMAL_STEP
    kappa_loops = np.asarray(kappa_form.evaluate(kappa=kappa_H, epsilon=params.epsilon), dtype=np.float64)
    reached = [(m, bl) for m, bl in zip(measured, bound_loops) if m is not None]
    summary = {
        "epsilon": params.epsilon,
        "reached": len(reached),
        "measured_median": float(np.median([m for m, _ in reached])) if reached else None,
        "bound_median": float(np.median([bl for _, bl in reached])) if reached else None,
        "kappa_form_median": float(np.median(kappa_loops)),
        "measured_within_bound": all(m <= bl for m, bl in reached),
        "kappa_form": kappa_form.name,
    }
    per_prompt = {
        "loops_measured": measured,
        "loops_bound": [None if not math.isfinite(v) else int(v) for v in bound_loops],
        "loops_kappa_form": [None if not math.isfinite(v) else int(v) for v in kappa_loops],
    }
    return summary, per_prompt


def _cell_config(cell: Cell) -> dict[str, Any]:
    """The result's ``config``: every setting of the cell, n, and :data:`RECORD_VERSION`."""
    params: LoopedGDParams = cell.params
    assert cell.d is not None
    return {
        "d": cell.d,
        **params.measurement(),
        "seed": cell.seed,
        "ratio": params.ratio,
        "kappa": params.kappa,
        "rule": params.rule,
        "n": params.ratio * cell.d,
        "version": RECORD_VERSION,
    }


def _measure_cell(
    cell: Cell, predictions: torch.Tensor, X: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor, cell_seed: int
) -> LoopedGDResult:
    """The result of one cell from the transformer's per-loop predictions [loops + 1, B]."""
    params: LoopedGDParams = cell.params
    solution = least_squares(X, y)
    y_ls = solution.predict(x_query)[:, 0]
    x_norm, w_norm = x_query[:, 0].norm(dim=1), solution.w.norm(dim=1)
    rho = contraction_factor(solution.spectrum, 1.0).cpu().numpy()
    kappa_H = solution.spectrum.kappa.cpu().numpy()
    scale = (x_norm * w_norm).cpu().numpy()
    errors = (predictions - y_ls[None, :]).abs().cpu().numpy()  # [R + 1, B]
    normalised = errors / scale[None, :]
    r = np.arange(params.loops + 1)
    bound = GD_PREDICTION_ERROR.evaluate(
        x_norm=x_norm.cpu().numpy()[None, :], rho=rho[None, :], r=r[:, None], w_norm=w_norm.cpu().numpy()[None, :]
    )
    checked = bound >= params.check_floor * scale[None, :]
    ratios = np.where(checked, errors / np.where(checked, bound, 1.0), 0.0)
    slopes = _slopes(params, normalised, rho, _subdominant(solution.spectrum.eigenvalues.cpu().numpy(), rho))
    loops_to_epsilon, per_prompt = _loops_summary(params, normalised, rho, kappa_H)
    thin = _thin(params.loops + 1)
    return LoopedGDResult.from_record(
        {
            "kind": "looped_gd_cell",
            "config": _cell_config(cell),
            "cell_seed": cell_seed,
            "kappa_H": _quantiles(kappa_H),
            "log_rho": _quantiles(np.log(rho)),
            "bound_check": {
                "points": int(checked.sum()),
                "violations": int((errors > bound)[checked].sum()),
                "max_ratio": float(ratios.max()),
                "check_floor": params.check_floor,
            },
            "slope": _slope_summary(params, slopes, rho, cell_seed),
            "loops_to_epsilon": loops_to_epsilon,
            "curve": {
                "loops": thin.tolist(),
                "error": _quantiles(normalised[thin], axis=1),
                "bound_median": np.median((rho[None, :] ** r[:, None])[thin], axis=1).tolist(),
            },
            "instances": {"kappa_H": kappa_H.tolist(), "rho": rho.tolist(), "slope": slopes, **per_prompt},
        }
    )


def batch_key(cell: Cell) -> tuple[Any, ...]:
    """Cells of one transformer pass: equal d, seed, device, n/d and measurement."""
    params: LoopedGDParams = cell.params
    return (cell.d, cell.seed, cell.device, params.ratio, tuple(sorted(params.measurement().items())))


def measure_cells(cells: Sequence[Cell]) -> list[LoopedGDResult]:
    """The results of ``cells`` (one :func:`batch_key`), in order, from one transformer pass over
    all their prompts: every prompt is normalised to η = 1, so one model serves them all."""
    if len({batch_key(cell) for cell in cells}) != 1:
        raise ValueError("measure_cells takes cells of one batch key (one n, seed, device and measurement)")
    first: LoopedGDParams = cells[0].params
    d = cells[0].d
    assert d is not None
    device = resolve_device(cells[0].device)
    with intra_op_threads(1):
        parts = []
        for cell in cells:
            params: LoopedGDParams = cell.params
            cell_seed = derived_seed("looped-gd", cell.seed, d, params.ratio, params.kappa)  # shared by both rules
            sample = sample_regression(
                RegressionTask(d=d, n=params.ratio * d, kappa=params.kappa, queries=1),
                first.instances,
                seed=cell_seed,
                device=device,
            )
            X, x_query, _ = normalise_for_step(sample.X, sample.x_query, params.rule)
            parts.append((cell, cell_seed, X, sample.y, x_query))
        predictions = looped_gd_predict(
            torch.cat([p[2] for p in parts]),
            torch.cat([p[3] for p in parts]),
            torch.cat([p[4] for p in parts]),
            loops=first.loops,
            eta=1.0,
            trace=True,
            device=device,
        )  # [loops + 1, cells·B, 1]
        results = []
        for index, (cell, cell_seed, X, y, x_query) in enumerate(parts):
            block = predictions[:, index * first.instances : (index + 1) * first.instances, 0]
            results.append(_measure_cell(cell, block, X, y, x_query, cell_seed))
    return results


def run_looped_gd_cell(cell: Cell) -> LoopedGDResult:
    """One cell measured alone (:func:`measure_cells`)."""
    return measure_cells([cell])[0]


KIND = CellKind(
    "looped_gd",
    run_looped_gd_cell,
    params=LoopedGDParams,
    axes=("ratio", "kappa", "rule"),
    common_axes=("d",),
    run_batch=measure_cells,
    batch_key=batch_key,
    result=LoopedGDResult,
)
