"""Percentile-bootstrap intervals: the one place where bootstrap draws become an interval.

The statistics differ by caller — the median over prompts (:func:`loopbound.theory.regression.bootstrap_median`,
resampling prompts) and the log-log slope over (r, error) points (:func:`loopbound.theory.rate_fit.fit_rate`,
a pairs bootstrap) — and each draws its own resamples; the interval they report is the same
construction: the ``(1 − level)/2`` and ``(1 + level)/2`` quantiles of the statistic's draws
(Efron & Tibshirani 1993, ch. 13), stated with its level and seed by the caller (CONTRIBUTING.md §10).
"""

from __future__ import annotations

import numpy as np
from loopbound.theory.errors import InputError

__all__ = ["percentile_interval"]


def percentile_interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    """The equal-tailed percentile interval of bootstrap ``draws`` at ``level`` (0 < level < 1)."""
    if not 0.0 < level < 1.0:
        raise InputError(f"level must satisfy 0 < level < 1, got {level!r}")
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(np.asarray(draws, dtype=np.float64), [tail, 1.0 - tail])
    return float(lower), float(upper)
