"""loopbound.theory.statistics: the intervals of a mean agree with scipy.stats' own intervals, the
line fit with numpy's polynomial fit, and the bootstraps are determined by their seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from loopbound.theory.errors import InputError
from loopbound.theory.statistics import (
    bonferroni_critical_value,
    bootstrap_draws,
    critical_value,
    least_squares_coefficients,
    line_fit,
    normal_interval,
    pairs_bootstrap_slopes,
    t_interval,
)


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99])
def test_the_mean_intervals_are_scipys_t_and_normal_intervals(level: float) -> None:
    values = np.random.default_rng(3).standard_normal(12) * 2.0 + 1.0
    scale = values.std(ddof=1) / math.sqrt(values.size)
    t = t_interval(values, level)
    low, high = stats.t.interval(level, values.size - 1, loc=values.mean(), scale=scale)
    assert (t.mean - t.half_width, t.mean + t.half_width) == pytest.approx((low, high), rel=1e-12)
    z = normal_interval(values, level)
    low, high = stats.norm.interval(level, loc=values.mean(), scale=scale)
    assert (z.mean - z.half_width, z.mean + z.half_width) == pytest.approx((low, high), rel=1e-12)
    assert t.half_width > z.half_width  # t's heavier tails: a wider interval from 12 values
    assert (t.level, t.samples) == (level, 12)


def test_one_replicate_has_no_t_interval() -> None:
    interval = t_interval(np.array([0.25]), 0.95)
    assert interval.mean == 0.25 and math.isnan(interval.half_width)


def test_bonferroni_with_one_interval_is_the_two_sided_normal_critical_value() -> None:
    assert bonferroni_critical_value(0.95, 1) == pytest.approx(critical_value(0.95), rel=1e-12)
    assert bonferroni_critical_value(0.95, 10) > critical_value(0.95)
    with pytest.raises(InputError, match="family_level"):
        bonferroni_critical_value(1.0, 3)


def test_the_line_fit_and_the_design_fit_are_least_squares() -> None:
    rng = np.random.default_rng(8)
    x = np.linspace(0.0, 3.0, 9)
    y = 0.7 - 1.3 * x + 0.01 * rng.standard_normal(x.size)
    slope, intercept = line_fit(x, y)
    assert (slope, intercept) == pytest.approx(tuple(np.polyfit(x, y, 1)), rel=1e-10)
    design = np.stack([np.ones_like(x), x], axis=1)
    assert least_squares_coefficients(design, y) == pytest.approx([intercept, slope], rel=1e-10)


def test_the_bootstraps_are_determined_by_their_seed() -> None:
    values = np.random.default_rng(1).standard_normal(30)
    first = bootstrap_draws(values, np.median, 200, seed=5)
    assert first.shape == (200,)
    assert np.array_equal(first, bootstrap_draws(values, np.median, 200, seed=5))
    assert not np.array_equal(first, bootstrap_draws(values, np.median, 200, seed=6))
    x, y = np.array([1.0, 1.0, 1.0, 2.0]), np.array([0.0, 0.1, -0.1, 1.0])
    slopes = pairs_bootstrap_slopes(x, y, 300, seed=2)
    assert np.isfinite(slopes).all()  # a resample with one distinct x is drawn again
    assert np.array_equal(slopes, pairs_bootstrap_slopes(x, y, 300, seed=2))
