"""The statistics every measurement states: intervals of a mean, percentile-bootstrap intervals and
least-squares fits, each in one place (quantiles from :mod:`scipy.stats`).

- :func:`t_interval`, :func:`normal_interval`: the mean of n i.i.d. values with the interval
  mean ± q·s/√n, s the sample standard deviation (ddof 1) and q the ``(1 + level)/2`` quantile of
  Student's t with n − 1 degrees of freedom (exact coverage for normal values; the replicates of a
  randomised QMC estimate) or of the standard normal (the CLT interval, for many values):
  :func:`critical_value`. :func:`bonferroni_critical_value` is the normal critical value of each of
  ``count`` simultaneous two-sided intervals at a family level.
- :func:`percentile_interval`: the equal-tailed percentile interval of bootstrap draws, the
  ``(1 − level)/2`` and ``(1 + level)/2`` quantiles of the statistic's draws (Efron & Tibshirani
  1993, ch. 13). The draws: :func:`bootstrap_draws` (resample the values, apply a statistic) and
  :func:`pairs_bootstrap_slopes` (resample (x, y) pairs, refit the line; ch. 9). Each draws its
  resamples from ``numpy.random.default_rng(seed)``, so a seed gives the same interval on every
  machine; the caller states the level and the seed with the interval (CONTRIBUTING.md §10).
- :func:`line_fit`: the least-squares line y ≈ a + s·x in closed form (centred sums);
  :func:`least_squares_coefficients`: the least-squares coefficients of a design matrix (more than
  a line, e.g. a parity term).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from loopbound.theory.errors import InputError

__all__ = [
    "MeanInterval",
    "critical_value",
    "bonferroni_critical_value",
    "t_interval",
    "normal_interval",
    "percentile_interval",
    "bootstrap_draws",
    "pairs_bootstrap_slopes",
    "line_fit",
    "least_squares_coefficients",
]


@dataclass(frozen=True)
class MeanInterval:
    """The mean of ``samples`` values and the half-width of its two-sided interval at ``level``:
    [mean − half_width, mean + half_width]."""

    mean: float
    half_width: float
    level: float
    samples: int


def critical_value(level: float, degrees_of_freedom: int | None = None) -> float:
    """The ``(1 + level)/2`` quantile (computed as 0.5 + level/2) of Student's t with
    ``degrees_of_freedom`` (``scipy.stats.t``), or of the standard normal when it is None
    (``scipy.stats.norm``): the q of a two-sided interval mean ± q·s/√n at ``level``. With 0
    degrees of freedom it is NaN (one value has no spread to scale)."""
    if degrees_of_freedom is None:
        return float(stats.norm.ppf(0.5 + level / 2))
    return float(stats.t.ppf(0.5 + level / 2.0, degrees_of_freedom))


def bonferroni_critical_value(family_level: float, count: int) -> float:
    """The two-sided normal critical value for ``count`` simultaneous intervals at ``family_level``
    (Bonferroni: each at 1 − (1 − family_level)/count)."""
    if not 0 < family_level < 1 or count < 1:
        raise InputError(f"need 0 < family_level < 1 and count >= 1, got {family_level}, {count}")
    return float(stats.norm.ppf(1 - (1 - family_level) / (2 * count)))


def _mean_interval(values: np.ndarray, level: float, degrees_of_freedom: int | None) -> MeanInterval:
    n = values.size
    spread = float(values.std(ddof=1)) if n > 1 else 0.0
    half = critical_value(level, degrees_of_freedom) * spread / math.sqrt(n)
    return MeanInterval(float(values.mean()), half, level, int(n))


def t_interval(values: np.ndarray, level: float) -> MeanInterval:
    """The Student-t interval of the mean of i.i.d. ``values`` (a 1-D float64 array): mean ±
    t_{(1+level)/2, n−1}·s/√n. For one value s is taken as 0 and the half-width is NaN (no
    interval from one replicate)."""
    return _mean_interval(values, level, values.size - 1)


def normal_interval(values: np.ndarray, level: float) -> MeanInterval:
    """The normal (CLT) interval of the mean of i.i.d. ``values`` (a 1-D float64 array, at least
    two values): mean ± z_{(1+level)/2}·s/√n."""
    return _mean_interval(values, level, None)


def percentile_interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    """The equal-tailed percentile interval of bootstrap ``draws`` at ``level`` (0 < level < 1):
    their ``(1 − level)/2`` and ``(1 + level)/2`` quantiles (numpy's linear interpolation)."""
    if not 0.0 < level < 1.0:
        raise InputError(f"level must satisfy 0 < level < 1, got {level!r}")
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(np.asarray(draws, dtype=np.float64), [tail, 1.0 - tail])
    return float(lower), float(upper)


def bootstrap_draws(values: np.ndarray, statistic: Callable[..., np.ndarray], resamples: int, seed: int) -> np.ndarray:
    """``statistic`` of ``resamples`` bootstrap resamples of the 1-D ``values`` (each n values drawn
    with replacement; all indices drawn at once, a (resamples, n) array, from
    ``default_rng(seed)``); ``statistic`` takes ``axis=1``, as :func:`numpy.median` does."""
    rng = np.random.default_rng(seed)
    return statistic(values[rng.integers(0, values.size, size=(resamples, values.size))], axis=1)


def pairs_bootstrap_slopes(x: np.ndarray, y: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The least-squares slope (:func:`line_fit`) of y on x over ``resamples`` pairs-bootstrap
    resamples from ``default_rng(seed)``: each draws n indices of the (x, y) pairs with
    replacement; a resample with a single distinct x has no slope and is drawn again."""
    rng = np.random.default_rng(seed)
    slopes = np.empty(resamples)
    for b in range(resamples):
        while True:
            index = rng.integers(0, x.size, x.size)
            if np.unique(x[index]).size >= 2:
                break
        slopes[b] = line_fit(x[index], y[index])[0]
    return slopes


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line y ≈ intercept + slope·x: slope =
    Σ(x − x̄)(y − ȳ)/Σ(x − x̄)², intercept = ȳ − slope·x̄ (x needs two distinct values)."""
    xm = x.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - y.mean())).sum()) / sxx
    return slope, float(y.mean() - slope * xm)


def least_squares_coefficients(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The coefficients c minimising ‖design·c − y‖₂ (the minimum-norm one where the design is rank
    deficient; :func:`numpy.linalg.lstsq`)."""
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.asarray(coefficients)
