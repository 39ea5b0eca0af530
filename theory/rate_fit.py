"""Rates: log-log fits of error against loop count (the verdicts that use them are
:mod:`loopbound.theory.verdict`).

- :func:`fit_rate`: on the asymptotic range, least squares of log(error) on log(r), so
  error ≈ C·r^a with a the fitted exponent (negative when the error falls). Its interval is a
  **pairs bootstrap** percentile interval (resample the (r, error) points with replacement, refit;
  :func:`loopbound.theory.statistics.pairs_bootstrap_slopes` and
  :func:`~loopbound.theory.statistics.percentile_interval`), at a stated level with a stated seed (Efron &
  Tibshirani 1993, ch. 9 and 13). It is an estimate:
  with few points the interval is wide, and it says nothing about r outside the range fitted. A
  fit needs :data:`MIN_POINTS` points; an interval needs :data:`MIN_INTERVAL_POINTS` (resampling
  three or four points has so few distinct resamples that its percentiles are not an interval at
  the stated level): with fewer, the exponent is reported without one and no rate is compared.
- :func:`loglog_slope`: the slope of a noiseless curve (a bound), no interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopbound.theory.errors import InputError
from loopbound.theory.statistics import line_fit, pairs_bootstrap_slopes, percentile_interval

__all__ = ["RateFit", "fit_rate", "loglog_slope", "asymptotic_range", "MIN_POINTS", "MIN_INTERVAL_POINTS"]

MIN_POINTS = 3
"""Points a fit needs (on the asymptotic range)."""
MIN_INTERVAL_POINTS = 5
"""Points a bootstrap interval needs: n points have C(2n−1, n) distinct resamples (10 for n = 3,
35 for n = 4, 126 for n = 5), some without two distinct r; below five the percentiles of so few
values do not make an interval at a 95% level worth printing."""


@dataclass(frozen=True)
class RateFit:
    """error ≈ prefactor · r^exponent fitted on ``r_min ≤ r ≤ r_max`` (``points`` points).

    ``exponent`` is an **estimate**; ``[lower, upper]`` its pairs-bootstrap percentile interval at
    ``level`` (``resamples`` resamples from ``seed``), None when fewer than
    :data:`MIN_INTERVAL_POINTS` points were fitted (``interval_note`` says so). ``status`` is
    ``"fitted"`` or says why not (then the numbers are None): never a silent fallback.
    ``excluded`` lists points left out and why.
    """

    exponent: float | None
    prefactor: float | None
    lower: float | None
    upper: float | None
    level: float
    seed: int
    resamples: int
    r_min: float | None
    r_max: float | None
    points: int
    status: str
    excluded: tuple[str, ...] = ()
    kind: str = "estimate"
    method: str = "least squares on log error vs log r; pairs bootstrap, percentile interval"

    @property
    def fitted(self) -> bool:
        return self.status == "fitted"

    @property
    def has_interval(self) -> bool:
        return self.lower is not None and self.upper is not None

    @property
    def interval_note(self) -> str:
        """Why there is no interval ("" when there is one or nothing was fitted)."""
        if not self.fitted or self.has_interval:
            return ""
        return f"no interval: {self.points} points, a bootstrap interval needs {MIN_INTERVAL_POINTS}"

    def describe(self, digits: int = 3) -> str:
        """``r^a, 95% bootstrap interval [lo, hi] (n points, r in [..])``, or why there is no interval
        or no fit."""
        if not self.fitted:
            return self.status
        assert self.exponent is not None
        where = f"{self.points} points, r in [{self.r_min:g}, {self.r_max:g}]"
        if not self.has_interval:
            return f"r^{self.exponent:.{digits}f} ({where}; {self.interval_note})"
        return (
            f"r^{self.exponent:.{digits}f}, {self.level:.0%} bootstrap interval "
            f"[{self.lower:.{digits}f}, {self.upper:.{digits}f}] (seed {self.seed}, {where})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "exponent": self.exponent,
            "prefactor": self.prefactor,
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "seed": self.seed,
            "resamples": self.resamples,
            "r_min": self.r_min,
            "r_max": self.r_max,
            "points": self.points,
            "excluded": list(self.excluded),
            "interval_note": self.interval_note,
            "method": self.method,
        }


def loglog_slope(r: Sequence[float], values: Sequence[float]) -> float:
    """The least-squares slope of log(values) on log(r) (no interval: for noiseless curves such as
    a bound). Needs two or more distinct r and positive values."""
    x = np.log(np.asarray(r, dtype=np.float64))
    y = np.asarray(values, dtype=np.float64)
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise InputError("a log-log slope needs finite positive values")
    if np.unique(x).size < 2:
        raise InputError("a log-log slope needs two or more distinct r")
    return line_fit(x, np.log(y))[0]


def asymptotic_range(r: Sequence[float], asymptotic_from: float | None = None) -> float:
    """The smallest r of the fit: ``asymptotic_from`` when given, else the geometric midpoint of
    the range, moved down so that at least three points remain where there are three. (Points
    below the midpoint are not pulled in to reach :data:`MIN_INTERVAL_POINTS`: pre-asymptotic
    points bias the exponent; a range with fewer points has no interval instead.)"""
    values = np.sort(np.asarray(r, dtype=np.float64))
    if asymptotic_from is not None:
        return float(asymptotic_from)
    middle = math.sqrt(values[0] * values[-1])
    inside = values[values >= middle]
    if inside.size < MIN_POINTS:
        return float(values[max(0, values.size - MIN_POINTS)])
    return float(inside[0])


def _check_points(r: Sequence[float], errors: Sequence[float], level: float) -> tuple[np.ndarray, np.ndarray]:
    """(r, errors) as 1-D float64 arrays of one length, with r finite and > 0 and 0 < level < 1."""
    x_all = np.asarray(r, dtype=np.float64)
    y_all = np.asarray(errors, dtype=np.float64)
    if x_all.shape != y_all.shape or x_all.ndim != 1:
        raise InputError(f"r and errors must be 1-D of the same length, got {x_all.shape} and {y_all.shape}")
    if not 0.0 < level < 1.0:
        raise InputError(f"level must satisfy 0 < level < 1, got {level!r}")
    if np.any(~np.isfinite(x_all)) or np.any(x_all <= 0):
        raise InputError("r must be finite and > 0")
    return x_all, y_all


def fit_rate(
    r: Sequence[float],
    errors: Sequence[float],
    *,
    asymptotic_from: float | None = None,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> RateFit:
    """Fit error ≈ C·r^a on the asymptotic range (:func:`asymptotic_range`), with a pairs-bootstrap
    percentile interval for a at ``level`` (``resamples`` from ``seed``). Points with error ≤ 0 or
    non-finite cannot enter a log-log fit and are listed in ``excluded``; fewer than three usable
    points (or fewer than two distinct r) gives ``status`` "not fitted: …"; three or four give the
    exponent without an interval (:data:`MIN_INTERVAL_POINTS`)."""
    x_all, y_all = _check_points(r, errors, level)

    def unfitted(reason: str, excluded: tuple[str, ...] = (), points: int = 0) -> RateFit:
        return RateFit(
            None, None, None, None, level, seed, resamples, None, None, points, f"not fitted: {reason}", excluded
        )

    if x_all.size == 0:
        return unfitted("no points")
    usable = np.isfinite(y_all) & (y_all > 0)
    excluded = tuple(f"r={x:g}: error {y:g} (not > 0)" for x, y in zip(x_all[~usable], y_all[~usable]))
    x_use, y_use = x_all[usable], y_all[usable]
    if x_use.size == 0:
        return unfitted("no point with error > 0", excluded)
    start = asymptotic_range(x_use, asymptotic_from)
    keep = x_use >= start
    excluded += tuple(f"r={x:g}: below the asymptotic range (r >= {start:g})" for x in x_use[~keep])
    r_kept = x_use[keep]
    x, y = np.log(r_kept), np.log(y_use[keep])
    if x.size < MIN_POINTS or np.unique(x).size < 2:
        return unfitted(
            f"{x.size} usable point(s) on r >= {start:g}; a fit needs {MIN_POINTS} with two distinct r",
            excluded,
            int(x.size),
        )
    slope, intercept = line_fit(x, y)
    if x.size < MIN_INTERVAL_POINTS:
        return RateFit(
            slope,
            float(math.exp(intercept)),
            None,
            None,
            level,
            seed,
            resamples,
            float(r_kept.min()),
            float(r_kept.max()),
            int(x.size),
            "fitted",
            excluded,
        )
    lower, upper = percentile_interval(pairs_bootstrap_slopes(x, y, resamples, seed), level)
    return RateFit(
        exponent=slope,
        prefactor=float(math.exp(intercept)),
        lower=lower,
        upper=upper,
        level=level,
        seed=seed,
        resamples=resamples,
        r_min=float(r_kept.min()),
        r_max=float(r_kept.max()),
        points=int(x.size),
        status="fitted",
        excluded=excluded,
    )
