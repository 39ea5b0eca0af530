"""In-context linear regression: the data, the least-squares reference, and the statistics that
hold a looped-GD measurement against its bound (docs/theory.md §6, §7).

This module knows no construction (docs/architecture.md: theory knows no construction).

- :class:`RegressionTask`, :func:`sample_regression`: x ~ N(0, Σ) with Σ = diag(1, …, 1/κ)
  (geometric, condition number κ), w* ~ N(0, I_d), y = Xw* + σε; seeded with numpy, so the same
  seed gives the same numbers on every device.
- :func:`least_squares`, :func:`spectrum`: the minimum-norm least-squares solution w_LS and the
  spectrum of H = XᵀX/n (the fixed point of gradient descent from 0); :func:`contraction_factor` ρ,
  :func:`step_size` (η = 1/λ_max or 2/(λ_max + λ_min)), :func:`normalise_for_step`.
- :func:`mean_interval` (CLT interval of a Monte Carlo mean), :func:`bootstrap_median`
  (percentile bootstrap), :func:`fit_log_slope` (log-error slope against loops),
  :func:`loops_to_reach` (the intervals and fits themselves: :mod:`loopbound.theory.statistics`).

The Monte Carlo reference curves (least squares, averaging, one-step GD against the number of
in-context examples) are :mod:`loopbound.theory.reference_curves`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from loopbound.theory.errors import InputError
from loopbound.theory.statistics import (
    bootstrap_draws,
    least_squares_coefficients,
    normal_interval,
    percentile_interval,
)

__all__ = [
    "RegressionTask",
    "RegressionSample",
    "sample_regression",
    "Spectrum",
    "spectrum",
    "LeastSquares",
    "least_squares",
    "contraction_factor",
    "step_size",
    "STEP_RULES",
    "ROUNDING_FLOOR",
    "normalise_for_step",
    "MonteCarloEstimate",
    "mean_interval",
    "BootstrapInterval",
    "bootstrap_median",
    "SlopeFit",
    "fit_log_slope",
    "loops_to_reach",
]

STEP_RULES: tuple[str, ...] = ("max", "optimal")

#: error/d below which an exactly-0 reference value counts as reproduced: least squares with
#: k ≥ d recovers w up to float64 rounding, error ≈ (u·κ(X)·‖x_q‖‖w‖)²/d; measured 4e-30 to 2e-23
#: at d = 20, k ∈ {20, 40} (κ(X) of square Gaussian matrices reaches 10³–10⁴).
ROUNDING_FLOOR = 1e-20


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class RegressionTask:
    """One in-context regression problem family: dimension ``d``, ``n`` examples per prompt,
    ``queries`` query points per prompt, population covariance Σ = diag(κ^{−i/(d−1)}), i = 0..d−1
    (condition number ``kappa``; isotropic for κ = 1), label noise σ = ``noise``."""

    d: int
    n: int
    kappa: float = 1.0
    noise: float = 0.0
    queries: int = 1

    def __post_init__(self) -> None:
        for name in ("d", "n", "queries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RegressionTask.{name} must be an integer >= 1, got {value!r}")
        if not (isinstance(self.kappa, (int, float)) and math.isfinite(self.kappa) and self.kappa >= 1):
            raise ValueError(f"RegressionTask.kappa must be a finite number >= 1, got {self.kappa!r}")
        if not (isinstance(self.noise, (int, float)) and math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"RegressionTask.noise must be a finite number >= 0, got {self.noise!r}")

    def covariance_eigenvalues(self) -> np.ndarray:
        """Σ's diagonal, from 1 down to 1/κ geometrically (float64)."""
        if self.d == 1:
            return np.ones(1)
        return np.geomspace(1.0, 1.0 / float(self.kappa), self.d)


@dataclass(frozen=True)
class RegressionSample:
    """A batch of prompts: X [B, n, d], y [B, n], x_query [B, m, d], the noiseless query
    targets y_query = x_qᵀw* [B, m] and the true weights w_star [B, d]."""

    X: torch.Tensor
    y: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor
    w_star: torch.Tensor
    task: RegressionTask
    seed: int

    def __post_init__(self) -> None:
        B, n, d = self.X.shape
        m = self.task.queries
        expected = {"y": (B, n), "x_query": (B, m, d), "y_query": (B, m), "w_star": (B, d)}
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(
                    f"RegressionSample.{name} must be {list(shape)}, got {list(getattr(self, name).shape)}"
                )

    @property
    def batch(self) -> int:
        return self.X.shape[0]


def sample_regression(
    task: RegressionTask,
    batch: int,
    *,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> RegressionSample:
    """``batch`` prompts of ``task``, drawn with numpy's PCG64 from ``seed`` (same seed, same
    numbers on every device), then moved to ``device``."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InputError(f"batch must be an integer >= 1, got {batch!r}")
    rng = np.random.default_rng(seed)
    scale = np.sqrt(task.covariance_eigenvalues())
    d, n, m = task.d, task.n, task.queries
    X = rng.standard_normal((batch, n, d)) * scale
    x_query = rng.standard_normal((batch, m, d)) * scale
    w_star = rng.standard_normal((batch, d))
    y = np.einsum("bnd,bd->bn", X, w_star)
    if task.noise > 0:
        y = y + task.noise * rng.standard_normal((batch, n))
    y_query = np.einsum("bmd,bd->bm", x_query, w_star)
    to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dtype=dtype, device=device)  # noqa: E731
    return RegressionSample(to(X), to(y), to(x_query), to(y_query), to(w_star), task, int(seed))


# --------------------------------------------------------------------------------------------
# Least squares and the spectrum of H


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of H = XᵀX/n per prompt, ascending [B, d]; those below the rank tolerance
    (numpy's ``pinv`` rule on the singular values of X) are exactly 0."""

    eigenvalues: torch.Tensor

    @property
    def lambda_max(self) -> torch.Tensor:
        return self.eigenvalues[:, -1]

    @property
    def lambda_min(self) -> torch.Tensor:
        """The smallest nonzero eigenvalue per prompt."""
        positive = torch.where(self.eigenvalues > 0, self.eigenvalues, torch.full_like(self.eigenvalues, math.inf))
        return positive.amin(dim=1)

    @property
    def kappa(self) -> torch.Tensor:
        """Condition number λ_max/λ_min over the nonzero spectrum."""
        return self.lambda_max / self.lambda_min


@dataclass(frozen=True)
class LeastSquares:
    """Minimum-norm least-squares solutions w [B, d] and the :class:`Spectrum` of H."""

    w: torch.Tensor
    spectrum: Spectrum

    def predict(self, queries: torch.Tensor) -> torch.Tensor:
        """ŷ_LS = x_qᵀ w_LS for queries [B, m, d] → [B, m]."""
        return torch.einsum("bmd,bd->bm", queries, self.w)


def _svd(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """X = U S Vᵀ in float64 and the mask of singular values above max(n, d)·u·s_max.

    Computed with numpy's batched LAPACK on the CPU (torch's batched CPU SVD with vectors is
    two orders of magnitude slower here), returned on X's device."""
    if X.dim() != 3:
        raise InputError(f"X must be [B, n, d], got {list(X.shape)}")
    factors = np.linalg.svd(X.detach().to("cpu", torch.float64).numpy(), full_matrices=False)  # S descending
    U, S, Vh = (torch.from_numpy(a).to(X.device) for a in factors)
    tolerance = max(X.shape[1], X.shape[2]) * torch.finfo(torch.float64).eps * S[:, :1]
    return U, S, Vh, S > tolerance


def _spectrum_from(S: torch.Tensor, keep: torch.Tensor, n: int, d: int) -> Spectrum:
    eigen = torch.zeros(S.shape[0], d, dtype=torch.float64, device=S.device)
    eigen[:, : S.shape[1]] = torch.where(keep, S**2 / n, torch.zeros_like(S))
    return Spectrum(torch.sort(eigen, dim=1).values)


def spectrum(X: torch.Tensor) -> Spectrum:
    """The spectrum of H = XᵀX/n for X [B, n, d] (float64)."""
    _, S, _, keep = _svd(X)
    return _spectrum_from(S, keep, X.shape[1], X.shape[2])


def least_squares(X: torch.Tensor, y: torch.Tensor) -> LeastSquares:
    """w_LS = X⁺y through the SVD X = U S Vᵀ (float64), singular values below
    max(n, d)·u·s_max treated as 0 (numpy's ``pinv`` rule); H's eigenvalues are s²/n.
    Gradient descent from 0 converges to this w_LS for 0 < η < 2/λ_max (every iterate lies in
    range(H) = the row space of X)."""
    if X.dim() != 3 or y.shape != X.shape[:2]:
        raise InputError(f"least squares needs X [B, n, d] and y [B, n], got {list(X.shape)} and {list(y.shape)}")
    U, S, Vh, keep = _svd(X)
    inverse = torch.where(keep, 1.0 / torch.where(keep, S, torch.ones_like(S)), torch.zeros_like(S))
    coefficients = inverse * torch.einsum("bnk,bn->bk", U, y.to(torch.float64))  # S⁺Uᵀy
    w = torch.einsum("bkd,bk->bd", Vh, coefficients)
    return LeastSquares(w.to(X.dtype), _spectrum_from(S, keep, X.shape[1], X.shape[2]))


def step_size(eigen: Spectrum, rule: str) -> torch.Tensor:
    """Per-prompt step: ``max`` η = 1/λ_max (ρ = 1 − 1/κ), ``optimal`` η = 2/(λ_max + λ_min)
    (ρ = (κ − 1)/(κ + 1), the minimiser of max_i |1 − ηλ_i|), over the nonzero spectrum."""
    if rule == "max":
        return 1.0 / eigen.lambda_max
    if rule == "optimal":
        return 2.0 / (eigen.lambda_max + eigen.lambda_min)
    raise InputError(f"step rule must be one of {', '.join(STEP_RULES)}, got {rule!r}")


def contraction_factor(eigen: Spectrum, eta: float | torch.Tensor) -> torch.Tensor:
    """ρ = max over the nonzero eigenvalues λ_i of H of |1 − ηλ_i|, per prompt [B]
    (the factor by which ‖w_t − w_LS‖ contracts, loopbound.theory.bounds.regression.GD_PREDICTION_ERROR)."""
    eta_t = torch.as_tensor(eta, dtype=torch.float64, device=eigen.eigenvalues.device)
    if eta_t.dim() == 1:
        eta_t = eta_t[:, None]
    factors = (1 - eta_t * eigen.eigenvalues).abs()
    factors = torch.where(eigen.eigenvalues > 0, factors, torch.zeros_like(factors))
    return factors.amax(dim=1)


def normalise_for_step(
    X: torch.Tensor, x_query: torch.Tensor, rule: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rescale each prompt so that gradient descent with η = 1 is GD with the ``rule``'s step on
    the original prompt: with c = 1/η_rule, X' = X/√c and x_q' = x_q/√c (y unchanged).

    Why: H' = H/c, and w'_t = √c·v_t where v_t is GD on the original data with step 1/c
    (induction: w'_{t+1} = w'_t − X'ᵀ(X'w'_t − y)/n = √c[v_t − Xᵀ(Xv_t − y)/(nc)]), so the
    predictions x_q'ᵀw'_t = x_qᵀv_t are identical, as are ŷ_LS, ‖x_q‖‖w_LS‖ and ρ. One looped
    transformer with η = 1 then runs the whole batch. Returns (X', x_query', c [B])."""
    c = 1.0 / step_size(spectrum(X), rule)
    root = c.sqrt().to(X.dtype)
    return X / root[:, None, None], x_query / root[:, None, None], c


# --------------------------------------------------------------------------------------------
# Statistics


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo mean with its two-sided CLT interval mean ± z·s/√samples at ``level``
    (s the sample standard deviation): an *estimate*, not a bound."""

    mean: float
    half_width: float
    level: float
    samples: int
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise ValueError(f"MonteCarloEstimate.level must be in (0, 1), got {self.level}")
        if self.samples < 2:
            raise ValueError(f"MonteCarloEstimate.samples must be >= 2, got {self.samples}")
        if not self.half_width >= 0:
            raise ValueError(f"MonteCarloEstimate.half_width must be >= 0, got {self.half_width}")

    @property
    def lower(self) -> float:
        return self.mean - self.half_width

    @property
    def upper(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "mean": self.mean,
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "samples": self.samples,
            "seed": self.seed,
        }


def mean_interval(
    values: np.ndarray | Sequence[float], *, level: float = 0.95, seed: int | None = None
) -> MonteCarloEstimate:
    """Mean of i.i.d. ``values`` with the normal (CLT) interval at ``level``
    (:func:`loopbound.theory.statistics.normal_interval`)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < 2 or not np.isfinite(array).all():
        raise InputError(f"a Monte Carlo mean needs at least 2 finite values, got {array.size}")
    interval = normal_interval(array, level)
    return MonteCarloEstimate(interval.mean, interval.half_width, level, interval.samples, seed)


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile-bootstrap interval of ``statistic`` at ``level`` from ``resamples`` resamples
    drawn with ``seed`` (CONTRIBUTING.md §10: an interval states its level and its seed)."""

    statistic: str
    estimate: float
    lower: float
    upper: float
    level: float
    resamples: int
    seed: int
    samples: int

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def to_json(self) -> dict[str, float | int | str]:
        return {
            k: getattr(self, k)
            for k in ("statistic", "estimate", "lower", "upper", "level", "resamples", "seed", "samples")
        }


# Not loopbound.theory.rate_fit.fit_rate: a median over prompts (resampling prompts), not a slope over points.
def bootstrap_median(
    values: np.ndarray | Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> BootstrapInterval:
    """The median of ``values`` with a percentile-bootstrap interval (resampling the values;
    :func:`loopbound.theory.statistics.bootstrap_draws` from ``seed``,
    :func:`loopbound.theory.statistics.percentile_interval`)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < 2 or not np.isfinite(array).all():
        raise InputError(f"a bootstrap interval needs at least 2 finite values, got {array.size}")
    if not 0 < level < 1 or resamples < 100:
        raise InputError(f"bootstrap needs 0 < level < 1 and >= 100 resamples, got {level}, {resamples}")
    lower, upper = percentile_interval(bootstrap_draws(array, np.median, resamples, seed), level)
    return BootstrapInterval("median", float(np.median(array)), lower, upper, level, resamples, seed, int(array.size))


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares fit log e_r = a + s·r + b·(−1)^r over loops ``first..last`` (``points`` of
    them): ``slope`` s estimates log ρ. The parity term absorbs the exact even/odd alternation
    |c₁ + (−1)^r c₂| of the two extreme modes when η = 2/(λ_max + λ_min) (1 − ηλ_max = −ρ)."""

    slope: float
    intercept: float
    parity: float
    points: int
    first: int
    last: int


# Not loopbound.theory.rate_fit's log-log fit: geometric decay is linear in r (not log r) and needs the parity term.
def fit_log_slope(loops: np.ndarray, errors: np.ndarray) -> SlopeFit:
    """Fit :class:`SlopeFit` to positive ``errors`` at integer ``loops`` (at least 4 points)."""
    r = np.asarray(loops, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if r.shape != e.shape or r.ndim != 1 or r.size < 4:
        raise InputError(
            f"a slope fit needs matching 1-d loops and errors with >= 4 points, got {r.shape} and {e.shape}"
        )
    if not (e > 0).all() or not np.isfinite(e).all():
        raise InputError("a log-slope fit needs positive finite errors")
    design = np.stack([np.ones_like(r), r, np.where(r.astype(np.int64) % 2 == 0, 1.0, -1.0)], axis=1)
    coefficients = least_squares_coefficients(design, np.log(e))
    return SlopeFit(
        float(coefficients[1]), float(coefficients[0]), float(coefficients[2]), int(r.size), int(r[0]), int(r[-1])
    )


def loops_to_reach(errors: np.ndarray, epsilon: float) -> int | None:
    """The first loop r with errors[r'] ≤ ε for every r' ≥ r (within the recorded loops), or None
    if the last recorded error is above ε."""
    e = np.asarray(errors, dtype=np.float64)
    above = np.nonzero(e > epsilon)[0]
    if above.size == 0:
        return 0
    last = int(above[-1])
    return None if last == e.size - 1 else last + 1
