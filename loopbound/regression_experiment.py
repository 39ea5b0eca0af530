"""The in-context regression experiments: looped GD against its bound, the reference curves, and
Newton–Schulz loop counts, as records (theory-notes §6, §7); their figures are in
:mod:`loopbound.regression_plots`.

- :func:`run_sweep` — for every cell (n/d, κ_Σ, step rule) of a :class:`SweepConfig`: prompts
  x ~ N(0, Σ), Σ of condition number κ_Σ, n = (n/d)·d examples, each prompt rescaled so that its
  rule's step is η = 1 (:func:`loopbound.theory.regression.normalise_for_step`), one looped-GD transformer
  pass giving the prediction after every loop (loopbound.constructions.gradient_descent), and from it:
  the normalised error e_r = |ŷ_r − ŷ_LS|/(‖x_q‖‖w_LS‖) against the bound ρ^r
  (GD_PREDICTION_ERROR), the fitted log-error slope against log ρ (per prompt, in the asymptotic
  window; median over prompts with a percentile-bootstrap interval), and loops to reach ε
  against ⌈ln(1/ε)/ln(1/ρ)⌉ and κ·ln(1/ε). Each cell is a ``looped_gd`` sweep cell
  (:mod:`loopbound.sweep.looped_gd`): one record per cell in a :class:`loopbound.sweep.store.Store`,
  keyed by the cell's hash and written atomically; a record already there is reused (resume), and
  ``loopbound sweep`` computes and reads the same records.
- :func:`run_reference` — Monte Carlo error/d against k for least squares (numpy, the r → ∞
  limit), averaging and the best one-step GD, the last two predicted by the looped transformer
  with one loop (η = 1 and η* = k/(k + d + 1)), against their closed forms.
- :func:`run_newton_schulz` — ‖I − AX_t‖₂ of the Newton–Schulz transformer against ρ₀^{2^t},
  and loops to ε against ⌈log₂(ln(1/ε)/ln(1/ρ₀))⌉ and 2log₂κ + log₂ln(1/ε).
- Report lines: :func:`sweep_report`, :func:`reference_report`, :func:`newton_schulz_report`.

Every looped pass runs with one intra-op thread (:func:`loopbound.theory.numerics.intra_op_threads`): the
passes are hundreds of tiny [B, n + 1, d + 1] products whose cost is synchronisation.

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
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from loopbound.constructions.gradient_descent import looped_gd_predict
from loopbound.constructions.newton_schulz import looped_newton_schulz
from loopbound.sweep.store import Store, computed_record, now_utc
from loopbound.theory.bounds.regression import (
    GD_LOOPS_KAPPA_MAX_STEP,
    GD_LOOPS_KAPPA_OPTIMAL_STEP,
    GD_LOOPS_TO_EPSILON,
    GD_PREDICTION_ERROR,
    NS_LOOPS_KAPPA_SPD,
    NS_LOOPS_KAPPA_TRANSPOSE,
    NS_LOOPS_TO_EPSILON,
    NS_RESIDUAL,
    ONE_STEP_OPTIMAL_ETA,
)
from loopbound.theory.numerics import intra_op_threads
from loopbound.theory.regression import (
    STEP_RULES,
    Estimator,
    RegressionTask,
    ReferencePoint,
    bootstrap_median,
    contraction_factor,
    fit_log_slope,
    least_squares,
    least_squares_predict,
    loops_to_reach,
    normalise_for_step,
    reference_curves_mc,
    sample_regression,
)

__all__ = [
    "SweepConfig",
    "ReferenceConfig",
    "NewtonSchulzConfig",
    "run_sweep",
    "run_reference",
    "run_newton_schulz",
    "transformer_estimators",
    "measure_cells",
    "sweep_report",
    "reference_report",
    "newton_schulz_report",
    "config_key",
]

RECORD_VERSION = 1


# --------------------------------------------------------------------------------------------
# Configurations


def _positive_int(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}.{name} must be an integer >= 1, got {value!r}")


def _in_open_unit(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{owner}.{name} must be in (0, 1), got {value!r}")


@dataclass(frozen=True)
class SweepConfig:
    """The looped-GD sweep: cells (n/d, κ_Σ, rule) × ``instances`` prompts, ``loops`` loops each.

    ``kappas`` are condition numbers of the population covariance Σ; the sample matrix H has
    its own, larger κ (reported per cell). ``rules``: ``max`` (η = 1/λ_max) and ``optimal``
    (η = 2/(λ_max + λ_min)). Fit window and statistics as in the module docstring; the bound is
    compared with the measurement wherever ρ^r ≥ ``check_floor`` (below it float64 rounding of
    ŷ_LS, of order κ·u, is not negligible against the bound)."""

    d: int = 8
    ratios: tuple[int, ...] = (1, 2, 4, 8)
    kappas: tuple[float, ...] = (1.0, 4.0, 16.0)
    rules: tuple[str, ...] = STEP_RULES
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
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "SweepConfig"
        for name in ("d", "instances", "loops", "min_fit_points", "resamples"):
            _positive_int(owner, name, getattr(self, name))
        if self.instances < 2:
            raise ValueError(f"{owner}.instances must be >= 2 (intervals need two prompts), got {self.instances}")
        if not self.ratios or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in self.ratios):
            raise ValueError(f"{owner}.ratios must be integers n/d >= 1, got {self.ratios!r}")
        if not self.kappas or any(not isinstance(k, (int, float)) or not math.isfinite(k) or k < 1 for k in self.kappas):
            raise ValueError(f"{owner}.kappas must be finite numbers >= 1, got {self.kappas!r}")
        if not self.rules or any(rule not in STEP_RULES for rule in self.rules):
            raise ValueError(f"{owner}.rules must be among {STEP_RULES}, got {self.rules!r}")
        for name in ("fit_upper", "fit_lower", "transient", "error_floor", "check_floor", "epsilon", "level"):
            _in_open_unit(owner, name, getattr(self, name))
        if not self.fit_lower < self.fit_upper:
            raise ValueError(f"{owner}.fit_lower must be < fit_upper, got {self.fit_lower} and {self.fit_upper}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"{owner}.seed must be an integer >= 0, got {self.seed!r}")

    def cells(self) -> list[tuple[int, float, str]]:
        return [(ratio, float(kappa), rule) for ratio in self.ratios for kappa in self.kappas for rule in self.rules]


@dataclass(frozen=True)
class ReferenceConfig:
    """Monte Carlo reference curves: dimension ``d``, examples ``ks``, ``prompts`` prompts of
    ``queries`` queries each per k. Intervals per point at ``level`` (figures); the verdict uses
    ``family_level`` simultaneously over all points (Bonferroni), so a correct implementation
    fails it with probability ≤ 1 − family_level."""

    d: int = 20
    ks: tuple[int, ...] = (5, 10, 20, 40)
    prompts: int = 8000
    queries: int = 16
    level: float = 0.95
    family_level: float = 0.999
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "ReferenceConfig"
        for name in ("d", "prompts", "queries"):
            _positive_int(owner, name, getattr(self, name))
        if self.prompts < 2:
            raise ValueError(f"{owner}.prompts must be >= 2, got {self.prompts}")
        if not self.ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.ks):
            raise ValueError(f"{owner}.ks must be integers >= 1, got {self.ks!r}")
        _in_open_unit(owner, "level", self.level)
        _in_open_unit(owner, "family_level", self.family_level)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"{owner}.seed must be an integer >= 0, got {self.seed!r}")


@dataclass(frozen=True)
class NewtonSchulzConfig:
    """Newton–Schulz check: ``batch`` m×m matrices per κ with singular values geometric from 1 to
    1/κ (random orthogonal factors); ``identity`` start on SPD A = QΛQᵀ with α = 2/(1 + 1/κ),
    ``transpose`` start on A = QΣPᵀ with α = 1/σ_max² = 1. The bound is compared where
    ρ₀^{2^t} ≥ ``check_floor``: the float64 residual carries an absolute rounding of order κ·u."""

    m: int = 8
    kappas: tuple[float, ...] = (10.0, 100.0, 1000.0)
    batch: int = 16
    loops: int = 30
    epsilon: float = 1e-8
    check_floor: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "NewtonSchulzConfig"
        for name in ("m", "batch", "loops"):
            _positive_int(owner, name, getattr(self, name))
        if not self.kappas or any(not isinstance(k, (int, float)) or not math.isfinite(k) or k <= 1 for k in self.kappas):
            raise ValueError(f"{owner}.kappas must be finite numbers > 1, got {self.kappas!r}")
        _in_open_unit(owner, "epsilon", self.epsilon)
        _in_open_unit(owner, "check_floor", self.check_floor)


def config_key(payload: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit key of a JSON-able configuration (sorted keys, floats by repr)."""
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _derived_seed(*parts: Any) -> int:
    return int(hashlib.sha256(":".join(map(repr, parts)).encode()).hexdigest()[:8], 16)


# --------------------------------------------------------------------------------------------
# The looped-GD sweep


def _cell_payload(config: SweepConfig, ratio: int, kappa: float, rule: str) -> dict[str, Any]:
    payload = asdict(config)
    for name in ("ratios", "kappas", "rules"):
        payload.pop(name)
    payload.update({"ratio": ratio, "kappa": kappa, "rule": rule, "n": ratio * config.d, "version": RECORD_VERSION})
    return payload


def _subdominant(eigenvalues: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """μ₂ = the largest |1 − λ_i| (η = 1) strictly below ρ over the nonzero spectrum, per prompt."""
    mu = np.where(eigenvalues > 0, np.abs(1.0 - eigenvalues), 0.0)
    below = np.where(mu < rho[:, None] * (1 - 1e-12), mu, 0.0)
    return below.max(axis=1)


def _fit_window(config: SweepConfig, rho: float, sub: float, loops: int) -> tuple[int, int] | None:
    if not 0 < rho < 1:
        return None
    first = math.ceil(math.log(config.fit_upper) / math.log(rho))
    if sub > 0:
        first = max(first, math.ceil(math.log(config.transient) / math.log(sub / rho)))
    last = min(loops, math.floor(math.log(config.fit_lower) / math.log(rho)))
    return (first, last) if last - first + 1 >= config.min_fit_points else None


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


def _measure_cell(config: SweepConfig, ratio: int, kappa: float, rule: str, predictions: torch.Tensor, X: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor, cell_seed: int) -> dict[str, Any]:
    """The record of one cell from the transformer's per-loop predictions [loops + 1, B]."""
    solution = least_squares(X, y)
    y_ls = solution.predict(x_query)[:, 0]
    x_norm = x_query[:, 0].norm(dim=1)
    w_norm = solution.w.norm(dim=1)
    rho = contraction_factor(solution.spectrum, 1.0).cpu().numpy()
    kappa_H = solution.spectrum.kappa.cpu().numpy()
    eigenvalues = solution.spectrum.eigenvalues.cpu().numpy()
    scale = (x_norm * w_norm).cpu().numpy()
    errors = (predictions - y_ls[None, :]).abs().cpu().numpy()  # [R + 1, B]
    normalised = errors / scale[None, :]
    r = np.arange(config.loops + 1)
    bound = GD_PREDICTION_ERROR.evaluate(x_norm=x_norm.cpu().numpy()[None, :], rho=rho[None, :], r=r[:, None], w_norm=w_norm.cpu().numpy()[None, :])
    checked = bound >= config.check_floor * scale[None, :]
    ratios = np.where(checked, errors / np.where(checked, bound, 1.0), 0.0)
    sub = _subdominant(eigenvalues, rho)
    slopes: list[float | None] = []
    for b in range(rho.size):
        window = _fit_window(config, float(rho[b]), float(sub[b]), config.loops)
        slope = None
        if window is not None:
            loops_in = np.arange(window[0], window[1] + 1)
            values = normalised[loops_in, b]
            keep = values > config.error_floor
            if keep.sum() >= config.min_fit_points:
                slope = fit_log_slope(loops_in[keep], values[keep]).slope
        slopes.append(slope)
    fitted = [(s, math.log(float(rho[b]))) for b, s in enumerate(slopes) if s is not None]
    interval = None
    if len(fitted) >= 2:
        interval = bootstrap_median([s / lr for s, lr in fitted], level=config.level, resamples=config.resamples, seed=cell_seed % (2**31))
    measured_loops = [loops_to_reach(normalised[:, b], config.epsilon) for b in range(rho.size)]
    with np.errstate(divide="ignore", invalid="ignore"):
        bound_loops = np.asarray(GD_LOOPS_TO_EPSILON.evaluate(rho=rho, epsilon=config.epsilon), dtype=np.float64)
    kappa_form = GD_LOOPS_KAPPA_MAX_STEP if rule == "max" else GD_LOOPS_KAPPA_OPTIMAL_STEP
    kappa_loops = np.asarray(kappa_form.evaluate(kappa=kappa_H, epsilon=config.epsilon), dtype=np.float64)
    reached = [(m, bl) for m, bl in zip(measured_loops, bound_loops) if m is not None]
    thin = _thin(config.loops + 1)
    normalised_bound = rho[None, :] ** r[:, None]
    return {
        "kind": "looped_gd_cell",
        "config": _cell_payload(config, ratio, kappa, rule),
        "cell_seed": cell_seed,
        "kappa_H": _quantiles(kappa_H),
        "log_rho": _quantiles(np.log(rho)),
        "bound_check": {
            "points": int(checked.sum()),
            "violations": int((errors > bound)[checked].sum()),
            "max_ratio": float(ratios.max()),
            "check_floor": config.check_floor,
        },
        "slope": {
            "fitted": len(fitted),
            "instances": int(rho.size),
            "median_slope": float(np.median([s for s, _ in fitted])) if fitted else None,
            "median_log_rho": float(np.median([lr for _, lr in fitted])) if fitted else None,
            "ratio": None if interval is None else interval.to_json(),
            "contains_one": None if interval is None else interval.contains(1.0),
        },
        "loops_to_epsilon": {
            "epsilon": config.epsilon,
            "reached": len(reached),
            "measured_median": float(np.median([m for m, _ in reached])) if reached else None,
            "bound_median": float(np.median([bl for _, bl in reached])) if reached else None,
            "kappa_form_median": float(np.median(kappa_loops)),
            "measured_within_bound": all(m <= bl for m, bl in reached),
            "kappa_form": kappa_form.name,
        },
        "curve": {
            "loops": thin.tolist(),
            "error": _quantiles(normalised[thin], axis=1),
            "bound_median": np.median(normalised_bound[thin], axis=1).tolist(),
        },
        "instances": {
            "kappa_H": kappa_H.tolist(),
            "rho": rho.tolist(),
            "slope": slopes,
            "loops_measured": measured_loops,
            "loops_bound": [None if not math.isfinite(v) else int(v) for v in bound_loops],
            "loops_kappa_form": [None if not math.isfinite(v) else int(v) for v in kappa_loops],
        },
    }


def measure_cells(config: SweepConfig, ratio: int, cells: Sequence[tuple[float, str]], *, device: torch.device | None = None) -> list[dict[str, Any]]:
    """The results of the cells (``ratio``, κ, rule) for the given (κ, rule) pairs, in that order,
    from one transformer pass over all their prompts: every prompt is normalised to η = 1, so one
    model serves them all. A prompt's predictions do not depend on the other prompts of the pass
    (the tests check it bit for bit), so a cell gives the same numbers measured alone (the
    ``looped_gd`` sweep kind) or with the others of its n (:func:`run_sweep`)."""
    n = ratio * config.d
    with intra_op_threads(1):
        parts = []
        for kappa, rule in cells:
            cell_seed = _derived_seed("looped-gd", config.seed, config.d, ratio, kappa)  # shared by both rules
            task = RegressionTask(d=config.d, n=n, kappa=kappa, queries=1)
            sample = sample_regression(task, config.instances, seed=cell_seed, device=device)
            X, x_query, _ = normalise_for_step(sample.X, sample.x_query, rule)
            parts.append((kappa, rule, cell_seed, X, sample.y, x_query))
        predictions = looped_gd_predict(
            torch.cat([p[3] for p in parts]), torch.cat([p[4] for p in parts]), torch.cat([p[5] for p in parts]),
            loops=config.loops, eta=1.0, trace=True, device=device,
        )  # [loops + 1, cells·B, 1]
        results = []
        for index, (kappa, rule, cell_seed, X, y, x_query) in enumerate(parts):
            block = predictions[:, index * config.instances : (index + 1) * config.instances, 0]
            results.append(_measure_cell(config, ratio, kappa, rule, block, X, y, x_query, cell_seed))
    return results


def run_sweep(config: SweepConfig, *, out: str | Path | None = None, device: torch.device | None = None) -> list[dict[str, Any]]:
    """Run every cell of ``config`` and return the results in cell order, each with ``"key"``: the
    hash of its ``looped_gd`` sweep cell (:func:`loopbound.sweep.looped_gd.looped_gd_cell`).

    With ``out``, ``out`` is a results store (:class:`loopbound.sweep.store.Store`, the format of
    ``loopbound sweep``): a cell whose record is there is read (strictly; a corrupt record is an
    InputError naming it), every other one is computed and its record written atomically. Cells
    sharing n run in one transformer pass (:func:`measure_cells`); each record's wall time is its
    share of that pass. The same seed gives the same numbers."""
    from loopbound.sweep.looped_gd import looped_gd_cell  # that module imports this one

    store = None if out is None else Store(Path(out))
    cells = {key: looped_gd_cell(config, *key, device=device) for key in config.cells()}
    results: dict[tuple[int, float, str], dict[str, Any]] = {}
    pending: dict[int, list[tuple[float, str]]] = {}
    for (ratio, kappa, rule), cell in cells.items():
        if store is not None and store.record_path(cell.hash).exists():
            results[(ratio, kappa, rule)] = dict(store.read(cell.hash).result)
        else:
            pending.setdefault(ratio, []).append((kappa, rule))
    for ratio, group in pending.items():
        started_at, started = now_utc(), time.perf_counter()
        measured = measure_cells(config, ratio, group, device=device)
        share = (time.perf_counter() - started) / len(group)
        for (kappa, rule), result in zip(group, measured):
            if store is not None:
                cell = cells[(ratio, kappa, rule)]
                store.write(computed_record(cell, result, started_at=started_at, wall_seconds=share, executor="in-process"))
            results[(ratio, kappa, rule)] = result
    return [{**results[key], "key": cell.hash} for key, cell in cells.items()]


# --------------------------------------------------------------------------------------------
# Reference curves


def transformer_estimators(*, device: torch.device | None = None) -> dict[str, Estimator]:
    """The reference estimators as the paper's curves are produced here: averaging and the best
    one-step GD by the looped-GD transformer with one loop (η = 1 and η* = k/(k + d + 1)),
    least squares by numpy's SVD (the r → ∞ limit of the same transformer)."""

    def averaging(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        return looped_gd_predict(X, y, queries, loops=1, eta=1.0, device=device)

    def one_step_gd(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        _, n, d = X.shape
        return looped_gd_predict(X, y, queries, loops=1, eta=float(ONE_STEP_OPTIMAL_ETA.evaluate(n=n, d=d)), device=device)

    averaging.__qualname__ = "looped GD transformer, 1 loop, eta=1"
    one_step_gd.__qualname__ = "looped GD transformer, 1 loop, eta=k/(k+d+1)"
    return {"least_squares": least_squares_predict, "averaging": averaging, "one_step_gd": one_step_gd}


def run_reference(config: ReferenceConfig, *, device: torch.device | None = None, estimators: Mapping[str, Estimator] | None = None) -> dict[str, Any]:
    """The reference-curve record: every point with its interval, z-score and verdict under the
    simultaneous ``family_level`` (z_crit from Bonferroni over the points)."""
    chosen = transformer_estimators(device=device) if estimators is None else estimators
    with intra_op_threads(1):
        points = reference_curves_mc(config.d, config.ks, prompts=config.prompts, queries=config.queries, seed=config.seed, level=config.level, estimators=chosen, device=device)
    z_critical = ReferencePoint.bonferroni_z(config.family_level, len(points))
    payload = {**asdict(config), "version": RECORD_VERSION}
    return {
        "kind": "reference_curves",
        "key": config_key(payload),
        "config": payload,
        "z_critical": z_critical,
        "points": [{**p.to_json(), "z": p.z_score(), "agrees": p.consistent(z_critical)} for p in points],
        "all_agree": all(p.consistent(z_critical) for p in points),
    }


# --------------------------------------------------------------------------------------------
# Newton–Schulz


def _matrices(config: NewtonSchulzConfig, kappa: float, symmetric: bool) -> torch.Tensor:
    rng = np.random.default_rng(_derived_seed("newton-schulz", config.seed, config.m, kappa, symmetric))
    values = np.geomspace(1.0, 1.0 / kappa, config.m)
    Q = np.linalg.qr(rng.standard_normal((config.batch, config.m, config.m)))[0]
    if symmetric:
        A = Q @ (values[None, :, None] * Q.transpose(0, 2, 1))
        A = (A + A.transpose(0, 2, 1)) / 2
    else:
        P = np.linalg.qr(rng.standard_normal((config.batch, config.m, config.m)))[0]
        A = Q @ (values[None, :, None] * P.transpose(0, 2, 1))
    return torch.from_numpy(A)


def run_newton_schulz(config: NewtonSchulzConfig, *, device: torch.device | None = None) -> dict[str, Any]:
    """For each κ and start: the median residual ‖I − AX_t‖₂ per loop, ρ₀, the bound's worst
    ratio (where ρ₀^{2^t} ≥ ``check_floor``), and loops to ε measured against the bounds."""
    rows = []
    with intra_op_threads(1):
        for kappa in config.kappas:
            for init in ("identity", "transpose"):
                A = _matrices(config, kappa, init == "identity")
                alpha = 2.0 / (1.0 + 1.0 / kappa) if init == "identity" else 1.0
                iterates = looped_newton_schulz(A, loops=config.loops, alpha=alpha, init=init, trace=True, device=device)
                eye = torch.eye(config.m, dtype=A.dtype, device=iterates.device)
                residual = torch.linalg.matrix_norm(eye - A.to(iterates.device) @ iterates, ord=2).cpu().numpy()  # [T + 1, B]
                rho0 = float(residual[0].max())
                t = np.arange(config.loops + 1)
                bound = np.asarray(NS_RESIDUAL.evaluate(rho0=rho0, t=t), dtype=np.float64)
                checked = bound >= config.check_floor
                worst = float((residual[checked] / bound[checked, None]).max())
                measured = [loops_to_reach(residual[:, b], config.epsilon) for b in range(config.batch)]
                kappa_form = NS_LOOPS_KAPPA_SPD if init == "identity" else NS_LOOPS_KAPPA_TRANSPOSE
                rows.append({
                    "kappa": kappa, "init": init, "alpha": alpha, "rho0": rho0,
                    "residual_median": np.median(residual, axis=1).tolist(),
                    "bound": bound.tolist(),
                    "max_ratio": worst,
                    "loops_measured_max": None if any(m is None for m in measured) else max(measured),
                    "loops_bound": int(NS_LOOPS_TO_EPSILON.evaluate(rho0=rho0, epsilon=config.epsilon)),
                    "loops_kappa_form": int(kappa_form.evaluate(kappa=kappa, epsilon=config.epsilon)),
                    "kappa_form": kappa_form.name,
                    "floor_median": float(np.median(residual[-1])),
                })
    payload = {**asdict(config), "version": RECORD_VERSION}
    return {"kind": "newton_schulz", "key": config_key(payload), "config": payload, "rows": rows}


# --------------------------------------------------------------------------------------------
# Report lines


def sweep_report(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per cell: κ(H), log ρ, fitted slope, slope/log ρ with its interval, bound check,
    loops to ε measured against the bound and against the κ-form."""
    lines = [
        f"  {'n/d':>3} {'κ_Σ':>5} {'rule':<8}{'κ(H)':>8}{'log ρ':>10}{'slope':>10}  {'slope/log ρ − 1 [interval]':<38}{'fit':>6}"
        f"{'max e/bound':>12}{'loops→ε':>9}{'bound':>7}{'κ-form':>8}",
    ]
    for record in records:
        c, s, lte = record["config"], record["slope"], record["loops_to_epsilon"]
        if s["ratio"] is None:
            interval = "not fitted (window beyond the loops)"
        else:
            ratio = s["ratio"]
            mark = "contains 1" if s["contains_one"] else "EXCLUDES 1"
            interval = f"{ratio['estimate'] - 1:+.1e} [{ratio['lower'] - 1:+.1e}, {ratio['upper'] - 1:+.1e}] {mark}"
        slope = "-" if s["median_slope"] is None else f"{s['median_slope']:.5f}"
        log_rho = "-" if s["median_log_rho"] is None else f"{s['median_log_rho']:.5f}"
        fmt = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
        check = record["bound_check"]
        bound_cell = f"{check['max_ratio']:.3f}" + ("" if check["violations"] == 0 else f" ({check['violations']} over)")
        lines.append(
            f"  {c['ratio']:>3} {c['kappa']:>5g} {c['rule']:<8}{record['kappa_H']['median']:>8.3g}{log_rho:>10}{slope:>10}  {interval:<38}"
            f"{s['fitted']:>3}/{s['instances']:<2}{bound_cell:>12}{fmt(lte['measured_median']):>9}{fmt(lte['bound_median']):>7}{fmt(lte['kappa_form_median']):>8}"
        )
    return lines


def reference_report(record: Mapping[str, Any]) -> list[str]:
    lines = [f"  {'curve':<15}{'k':>4}{'closed form':>13}{'Monte Carlo [' + format(record['config']['level'], '.0%') + ' interval]':>40}{'z':>8}  verdict (|z| ≤ {record['z_critical']:.2f})"]
    for p in record["points"]:
        verdict = "agrees" if p["agrees"] else "DISAGREES"
        z = "-" if p["z"] is None else f"{p['z']:+.2f}"
        lines.append(f"  {p['curve']:<15}{p['k']:>4}{p['closed_form']:>13.5f}{p['mean']:>14.5f} [{p['lower']:.5f}, {p['upper']:.5f}]{z:>8}  {verdict}")
    return lines


def newton_schulz_report(record: Mapping[str, Any]) -> list[str]:
    eps = record["config"]["epsilon"]
    lines = [f"  {'κ':>6} {'X_0':<5}{'ρ₀':>10}{'max ‖I−AX_t‖/bound':>20}{'loops→' + format(eps, 'g'):>12}{'bound':>7}{'κ-form':>8}{'floor':>10}"]
    for row in record["rows"]:
        measured = "-" if row["loops_measured_max"] is None else str(row["loops_measured_max"])
        start = "αI" if row["init"] == "identity" else "αAᵀ"
        lines.append(f"  {row['kappa']:>6g} {start:<5}{row['rho0']:>10.6f}{row['max_ratio']:>20.4f}{measured:>12}{row['loops_bound']:>7}{row['loops_kappa_form']:>8}{row['floor_median']:>10.1e}")
    return lines
