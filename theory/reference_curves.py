"""Reference curves of in-context linear regression (docs/theory.md §7): Monte Carlo estimates of
error/d against the number k of in-context examples for least squares, averaging and one-step GD
(Garg et al. 2022, arXiv 2208.01066, Fig. 2), each held against its closed form in
:mod:`loopbound.theory.bounds.regression`.

The estimators are callables (:data:`Estimator`), so loopbound can pass the looped transformer's
predictions in; this module knows no construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from loopbound.theory.bounds.regression import ONE_STEP_OPTIMAL_ETA, REFERENCE_CURVES
from loopbound.theory.errors import InputError
from loopbound.theory.regression import (
    ROUNDING_FLOOR,
    MonteCarloEstimate,
    RegressionTask,
    least_squares,
    mean_interval,
    sample_regression,
)
from loopbound.theory.statistics import bonferroni_critical_value, critical_value

__all__ = [
    "Estimator",
    "least_squares_predict",
    "averaging_predict",
    "one_step_gd_predict",
    "REFERENCE_ESTIMATORS",
    "ReferencePoint",
    "reference_curves_mc",
]


#: (X [B, n, d], y [B, n], queries [B, m, d]) → predictions [B, m].
Estimator = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def least_squares_predict(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Minimum-norm least squares (the limit of gradient descent from 0)."""
    return least_squares(X, y).predict(queries)


def averaging_predict(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Averaging ŵ = (1/n) Σ y_i x_i (one GD step of size 1 from 0)."""
    w = torch.einsum("bnd,bn->bd", X, y) / X.shape[1]
    return torch.einsum("bmd,bd->bm", queries, w)


def one_step_gd_predict(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """One GD step from 0 with the isotropic optimum η* = n/(n + d + 1)."""
    _, n, d = X.shape
    eta = float(ONE_STEP_OPTIMAL_ETA.evaluate(n=n, d=d))
    return eta * averaging_predict(X, y, queries)


REFERENCE_ESTIMATORS: dict[str, Estimator] = {
    "least_squares": least_squares_predict,
    "averaging": averaging_predict,
    "one_step_gd": one_step_gd_predict,
}


@dataclass(frozen=True)
class ReferencePoint:
    """error/d of one estimator at k examples: the Monte Carlo ``estimate`` over prompts (each
    prompt's value is the mean over its queries of (ŷ − x_qᵀw*)²/d) against the ``closed_form``."""

    curve: str
    d: int
    k: int
    estimate: MonteCarloEstimate
    closed_form: float
    estimator: str = ""
    extra: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "curve": self.curve,
            "d": self.d,
            "k": self.k,
            "closed_form": self.closed_form,
            "estimator": self.estimator,
            **self.estimate.to_json(),
            **dict(self.extra),
        }

    def z_score(self) -> float | None:
        """(mean − closed form)/standard error; None where the closed form is exactly 0 (there
        the Monte Carlo values are float64 rounding, not a sample around 0)."""
        if self.closed_form == 0:
            return None
        z = critical_value(self.estimate.level)
        standard_error = self.estimate.half_width / z
        return math.inf if standard_error == 0 else (self.estimate.mean - self.closed_form) / standard_error

    def consistent(self, z_critical: float) -> bool:
        """|z| ≤ ``z_critical``; for an exactly-0 closed form (least squares with k ≥ d, no
        noise): every prompt's error is float64 rounding, so the interval's upper end must be
        ≤ :data:`ROUNDING_FLOOR`."""
        if self.closed_form == 0:
            return self.estimate.upper <= ROUNDING_FLOOR
        z = self.z_score()
        return z is not None and abs(z) <= z_critical

    @staticmethod
    def bonferroni_z(family_level: float, count: int) -> float:
        """The two-sided critical z for ``count`` simultaneous intervals at ``family_level``
        (Bonferroni: each at 1 − (1 − family_level)/count)."""
        return bonferroni_critical_value(family_level, count)


def reference_curves_mc(
    d: int,
    ks: Sequence[int],
    *,
    prompts: int,
    queries: int = 16,
    seed: int = 0,
    level: float = 0.95,
    estimators: Mapping[str, Estimator] | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> list[ReferencePoint]:
    """Monte Carlo error/d of each estimator (default :data:`REFERENCE_ESTIMATORS`; names must be
    keys of ``loopbound.theory.bounds.regression.REFERENCE_CURVES``) at every k, isotropic noiseless data
    (x, w ~ N(0, I_d)). All curves at one k see the same prompts (seed + k), so their differences
    are measured on common random numbers; intervals are per point at ``level``."""
    chosen = dict(REFERENCE_ESTIMATORS if estimators is None else estimators)
    unknown = set(chosen) - set(REFERENCE_CURVES)
    if unknown:
        raise InputError(f"unknown reference curve(s) {sorted(unknown)}; known: {', '.join(REFERENCE_CURVES)}")
    points: list[ReferencePoint] = []
    for k in ks:
        task = RegressionTask(d=d, n=int(k), queries=queries)
        sample = sample_regression(task, prompts, seed=seed * 1_000_003 + int(k), dtype=dtype, device=device)
        for name, estimator in chosen.items():
            predictions = estimator(sample.X, sample.y, sample.x_query)
            per_prompt = ((predictions - sample.y_query) ** 2).mean(dim=1) / d
            estimate = mean_interval(per_prompt.cpu().numpy(), level=level, seed=sample.seed)
            closed = float(REFERENCE_CURVES[name].evaluate(n=int(k), d=d))
            label = getattr(estimator, "__qualname__", type(estimator).__name__)
            points.append(ReferencePoint(name, d, int(k), estimate, closed, label))
    return points
