"""The in-context regression experiments: looped GD against its bound, the reference curves, and
Newton–Schulz loop counts, with records (atomic JSON) and figures (theory-notes §6, §7).

- :func:`run_sweep` — for every cell (n/d, κ_Σ, step rule) of a :class:`SweepConfig`: prompts
  x ~ N(0, Σ), Σ of condition number κ_Σ, n = (n/d)·d examples, each prompt rescaled so that its
  rule's step is η = 1 (:func:`theory.regression.normalise_for_step`), one looped-GD transformer
  pass giving the prediction after every loop (constructions.gradient_descent), and from it:
  the normalised error e_r = |ŷ_r − ŷ_LS|/(‖x_q‖‖w_LS‖) against the bound ρ^r
  (GD_PREDICTION_ERROR), the fitted log-error slope against log ρ (per prompt, in the asymptotic
  window; median over prompts with a percentile-bootstrap interval), and loops to reach ε
  against ⌈ln(1/ε)/ln(1/ρ)⌉ and κ·ln(1/ε). One JSON record per cell, keyed by a hash of its
  configuration and written atomically; a record already on disk is reused (resume).
- :func:`run_reference` — Monte Carlo error/d against k for least squares (numpy, the r → ∞
  limit), averaging and the best one-step GD, the last two predicted by the looped transformer
  with one loop (η = 1 and η* = k/(k + d + 1)), against their closed forms.
- :func:`run_newton_schulz` — ‖I − AX_t‖₂ of the Newton–Schulz transformer against ρ₀^{2^t},
  and loops to ε against ⌈log₂(ln(1/ε)/ln(1/ρ₀))⌉ and 2log₂κ + log₂ln(1/ε).
- Figures: :func:`plot_error_curves`, :func:`plot_slopes`, :func:`plot_loops_to_epsilon`,
  :func:`plot_reference_curves`, :func:`plot_newton_schulz` take records and ``ax`` and return
  the axes (STYLE.md §9); :func:`write_figures` saves PDF and PNG atomically.

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
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

from constructions.gradient_descent import looped_gd_predict
from constructions.newton_schulz import looped_newton_schulz
from loopbound.atomic import write_text_atomic
from loopbound.plots import save_figure
from theory.bounds.regression import (
    GD_LOOPS_KAPPA_MAX_STEP,
    GD_LOOPS_KAPPA_OPTIMAL_STEP,
    GD_LOOPS_TO_EPSILON,
    GD_PREDICTION_ERROR,
    NS_LOOPS_KAPPA_SPD,
    NS_LOOPS_KAPPA_TRANSPOSE,
    NS_LOOPS_TO_EPSILON,
    NS_RESIDUAL,
    ONE_STEP_OPTIMAL_ETA,
    REFERENCE_CURVES,
)
from theory.errors import InputError
from theory.regression import (
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
    "plot_error_curves",
    "plot_slopes",
    "plot_loops_to_epsilon",
    "plot_reference_curves",
    "plot_newton_schulz",
    "write_figures",
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


@contextmanager
def _intra_op_threads(count: int) -> Iterator[None]:
    """Run with ``count`` intra-op threads and restore the caller's setting afterwards. The
    looped passes are hundreds of tiny [B, N, d + 1] products whose cost is synchronisation:
    on a shared 2-core machine, two threads made each loop 25× slower than one (measured)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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


def _load_record(path: Path, key: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"record {path} is not valid JSON ({error.msg}); delete it to recompute") from None
    if record.get("key") != key:
        raise InputError(f"record {path} has key {record.get('key')!r}, expected {key}; delete it to recompute")
    return record


def run_sweep(config: SweepConfig, *, out: str | Path | None = None, device: torch.device | None = None) -> list[dict[str, Any]]:
    """Run every cell of ``config`` (or reuse its record under ``out``/cells) and return the
    records in cell order. Cells sharing n run in one transformer pass (every prompt is
    normalised to η = 1, so one model serves them all); the same seed gives the same numbers."""
    folder = None if out is None else Path(out) / "cells"
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    records: dict[tuple[int, float, str], dict[str, Any]] = {}
    pending: dict[int, list[tuple[float, str]]] = {}
    for ratio, kappa, rule in config.cells():
        key = config_key(_cell_payload(config, ratio, kappa, rule))
        existing = None if folder is None else _load_record(folder / f"{key}.json", key)
        if existing is not None:
            records[(ratio, kappa, rule)] = existing
        else:
            pending.setdefault(ratio, []).append((kappa, rule))
    with _intra_op_threads(1):
        for ratio, cells in pending.items():
            n = ratio * config.d
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
            for index, (kappa, rule, cell_seed, X, y, x_query) in enumerate(parts):
                block = predictions[:, index * config.instances : (index + 1) * config.instances, 0]
                record = _measure_cell(config, ratio, kappa, rule, block, X, y, x_query, cell_seed)
                key = config_key(record["config"])
                record["key"] = key
                if folder is not None:
                    write_text_atomic(folder / f"{key}.json", json.dumps(record))
                records[(ratio, kappa, rule)] = record
    return [records[cell] for cell in config.cells()]


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
    with _intra_op_threads(1):
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
    with _intra_op_threads(1):
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
# Figures (records in, axes out)

RULE_COLOURS = {"max": "C0", "optimal": "C3"}
RULE_LABELS = {"max": "η = 1/λ_max", "optimal": "η = 2/(λ_max+λ_min)"}
CURVE_COLOURS = {"least_squares": "C2", "averaging": "C1", "one_step_gd": "C4"}
CURVE_LABELS = {"least_squares": "least squares 1 − k/d", "averaging": "averaging (d+1)/k", "one_step_gd": "one-step GD (d+1)/(k+d+1)"}


def _axes(ax, size=(5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_error_curves(records: Sequence[Mapping[str, Any]], *, ax=None):
    """Normalised error |ŷ_r − ŷ_LS|/(‖x_q‖‖w_LS‖) against loops for the given cells: median
    (solid) and 10–90% band over prompts, and the median bound ρ^r (dashed), one colour per rule.
    Even loops only: with η = 2/(λ_max + λ_min) the error alternates exactly between
    |c₁ + c₂|ρ^r and |c₁ − c₂|ρ^r (1 − ηλ_max = −ρ), which would draw as a thick zigzag."""
    ax = _axes(ax)
    for record in records:
        rule = record["config"]["rule"]
        colour = RULE_COLOURS.get(rule)
        loops = np.asarray(record["curve"]["loops"])
        even = loops % 2 == 0
        loops = loops[even]
        error = {name: np.asarray(values)[even] for name, values in record["curve"]["error"].items()}
        floor = 1e-17  # zero errors (exact convergence) would vanish from log axes
        ax.fill_between(loops, np.maximum(error["q10"], floor), np.maximum(error["q90"], floor), color=colour, alpha=0.15, linewidth=0)
        ax.plot(loops, np.maximum(error["median"], floor), "-", color=colour, linewidth=1.2, label=f"{RULE_LABELS.get(rule, rule)} measured")
        ax.plot(loops, np.asarray(record["curve"]["bound_median"])[even], "--", color=colour, linewidth=1, label="bound ρ^r")
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 2)
    ax.set_xlabel("loops r")
    ax.set_ylabel("|ŷ_r − ŷ_LS| / (‖x_q‖‖w_LS‖)")
    ax.grid(True, which="major", alpha=0.3)
    return ax


def plot_slopes(records: Sequence[Mapping[str, Any]], *, ax=None):
    """Median fitted slope / log ρ per cell with its bootstrap interval, against the cell's
    median κ(H); 1 is the theorem's asymptotic value."""
    ax = _axes(ax)
    for rule in RULE_COLOURS:
        chosen = [r for r in records if r["config"]["rule"] == rule and r["slope"]["ratio"] is not None]
        if not chosen:
            continue
        x = np.array([r["kappa_H"]["median"] for r in chosen])
        mid = np.array([r["slope"]["ratio"]["estimate"] for r in chosen])
        low = np.array([r["slope"]["ratio"]["lower"] for r in chosen])
        high = np.array([r["slope"]["ratio"]["upper"] for r in chosen])
        ax.errorbar(x, mid - 1, yerr=[mid - low, high - mid], fmt="o", color=RULE_COLOURS[rule], markersize=4, capsize=2, label=RULE_LABELS[rule])
    ax.axhline(0.0, color="k", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-8)
    ax.set_xlabel("median κ(H) of the cell")
    ax.set_ylabel("median slope/log ρ − 1 (bootstrap interval)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_loops_to_epsilon(records: Sequence[Mapping[str, Any]], *, ax=None):
    """Per prompt: loops until the normalised error stays ≤ ε against κ(H), with the bounds
    κ·ln(1/ε) (η = 1/λ_max) and (κ/2)·ln(1/ε) (η = 2/(λ_max+λ_min)) as lines."""
    ax = _axes(ax)
    epsilon = None
    kappas: list[float] = []
    for rule in RULE_COLOURS:
        xs, ys = [], []
        for record in records:
            if record["config"]["rule"] != rule:
                continue
            epsilon = record["loops_to_epsilon"]["epsilon"]
            for kappa, loops in zip(record["instances"]["kappa_H"], record["instances"]["loops_measured"]):
                if loops is not None and loops > 0:
                    xs.append(kappa)
                    ys.append(loops)
        if xs:
            ax.plot(xs, ys, ".", color=RULE_COLOURS[rule], markersize=3, alpha=0.6, label=f"{RULE_LABELS[rule]} measured")
            kappas.extend(xs)
    if kappas and epsilon is not None:
        grid = np.geomspace(min(kappas), max(kappas), 50)
        ax.plot(grid, GD_LOOPS_KAPPA_MAX_STEP.evaluate(kappa=grid, epsilon=epsilon), "-", color=RULE_COLOURS["max"], linewidth=1, label="κ ln(1/ε)")
        ax.plot(grid, GD_LOOPS_KAPPA_OPTIMAL_STEP.evaluate(kappa=grid, epsilon=epsilon), "-", color=RULE_COLOURS["optimal"], linewidth=1, label="(κ/2) ln(1/ε)")
        ax.set_title(f"ε = {epsilon:g}", fontsize="small")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log range overlap
    ax.set_xlabel("κ(H)")
    ax.set_ylabel("loops to reach ε")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_reference_curves(record: Mapping[str, Any], *, ax=None):
    """error/d against k: closed forms (lines) and Monte Carlo means with their intervals."""
    ax = _axes(ax)
    d = record["config"]["d"]
    ks = sorted({p["k"] for p in record["points"]})
    grid = np.linspace(min(ks), max(ks), 200)
    for curve, bound in REFERENCE_CURVES.items():
        points = [p for p in record["points"] if p["curve"] == curve]
        if not points:
            continue
        colour = CURVE_COLOURS.get(curve)
        ax.plot(grid, np.asarray(bound.evaluate(n=grid, d=d), dtype=float) + 0 * grid, "-", color=colour, linewidth=1, label=CURVE_LABELS.get(curve, curve))
        k = np.array([p["k"] for p in points])
        mean = np.array([p["mean"] for p in points])
        ax.errorbar(k, mean, yerr=[mean - np.array([p["lower"] for p in points]), np.array([p["upper"] for p in points]) - mean], fmt="o", color=colour, markersize=4, capsize=2)
    ax.set_xlabel("in-context examples k")
    ax.set_ylabel("error / d")
    ax.set_ylim(-0.05, 1.5)
    ax.set_title(f"d = {d}, Monte Carlo (points, {record['config']['level']:.0%} intervals) vs closed forms", fontsize="small")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_newton_schulz(record: Mapping[str, Any], *, ax=None):
    """‖I − AX_t‖₂ (median over the batch) against loops with the bound ρ₀^{2^t}."""
    ax = _axes(ax)
    for index, row in enumerate(record["rows"]):
        colour = f"C{index % 10}"
        t = np.arange(len(row["residual_median"]))
        ax.plot(t, np.maximum(row["residual_median"], 1e-17), "o-", color=colour, markersize=3, linewidth=1, label=f"κ={row['kappa']:g}, X₀={'αI' if row['init'] == 'identity' else 'αAᵀ'}")
        ax.plot(t, np.maximum(row["bound"], 1e-17), "--", color=colour, linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylim(1e-17, 2)
    ax.set_xlabel("loops t")
    ax.set_ylabel("‖I − A X_t‖₂ (dashed: ρ₀^(2^t))")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="xx-small")
    return ax


def write_figures(out: str | Path, sweep: Sequence[Mapping[str, Any]], reference: Mapping[str, Any] | None = None, newton_schulz: Mapping[str, Any] | None = None, *, stem: str = "regression") -> list[Path]:
    """Write ``{stem}_errors``, ``{stem}_summary`` (slopes, loops to ε, reference curves,
    Newton–Schulz) as PDF and PNG, atomically; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ratios = sorted({r["config"]["ratio"] for r in sweep})
    kappas = sorted({r["config"]["kappa"] for r in sweep})
    figure, axes = plt.subplots(len(kappas), len(ratios), figsize=(3.6 * len(ratios), 2.9 * len(kappas)), squeeze=False, sharey=True)
    for i, kappa in enumerate(kappas):
        for j, ratio in enumerate(ratios):
            ax = axes[i, j]
            plot_error_curves([r for r in sweep if r["config"]["ratio"] == ratio and r["config"]["kappa"] == kappa], ax=ax)
            ax.set_title(f"n/d = {ratio}, κ_Σ = {kappa:g}", fontsize="small")
            if i or j:
                ax.set_ylabel("")
    axes[0, 0].legend(fontsize="xx-small", loc="lower left")
    d = sweep[0]["config"]["d"] if sweep else "?"
    figure.suptitle(f"Looped linear attention = GD (d = {d}): normalised error, median and 10–90% over prompts, against ρ^r")
    figure.tight_layout()
    paths = [save_figure(figure, out / f"{stem}_errors.{suffix}", close=False) for suffix in ("pdf", "png")]
    plt.close(figure)
    panels = 2 + (reference is not None) + (newton_schulz is not None)
    figure, axes = plt.subplots(1, panels, figsize=(4.8 * panels, 4.0), squeeze=False)
    plot_slopes(sweep, ax=axes[0, 0])
    plot_loops_to_epsilon(sweep, ax=axes[0, 1])
    index = 2
    if reference is not None:
        plot_reference_curves(reference, ax=axes[0, index])
        index += 1
    if newton_schulz is not None:
        plot_newton_schulz(newton_schulz, ax=axes[0, index])
    figure.tight_layout()
    paths += [save_figure(figure, out / f"{stem}_summary.{suffix}", close=False) for suffix in ("pdf", "png")]
    plt.close(figure)
    return paths


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
