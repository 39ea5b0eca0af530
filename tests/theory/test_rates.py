"""loopbound.theory.error_measure and rate_fit: the QMC interval covers known integrals at its stated level, the sup search finds
known sups from below, rate fits recover known exponents inside their bootstrap intervals, and
verdicts on hand-made cases.

Known answers used:
- quantiser against identity, q(x) = δ⌊x/δ⌋: ∫_0^1 (x − q(x))^p dx = δ^p/(p + 1) per entry, so
  ‖q − id‖_{L^p} = (N d/(p + 1))^{1/p} δ, and sup_X ‖X − q(X)‖_p = (N d)^{1/p} δ (approached as
  every entry tends to the top of its cell, never attained);
- identity against 0: ‖X‖_{L^2} = (N d/3)^{1/2}.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from loopbound.theory.error_measure import lp_error, measure_error, pointwise_error, pointwise_norm, sup_error
from loopbound.theory.errors import InputError
from loopbound.theory.rate_fit import fit_rate, loglog_slope
from loopbound.theory.verdict import Status, compare_rates, judge


def quantiser(m: int):
    return lambda X: torch.floor(X * m) / m


def identity(X: torch.Tensor) -> torch.Tensor:
    return X


def quantisation_error(N: int, d: int, p: float, m: int) -> float:
    return (N * d / (p + 1.0)) ** (1.0 / p) / m


# --------------------------------------------------------------------------- L^p by RQMC
@pytest.mark.parametrize("p", [1.0, 2.0])
def test_interval_covers_a_known_integral_at_its_level_across_seeds(p: float) -> None:
    N, d, m, level = 2, 1, 3, 0.95
    exact = quantisation_error(N, d, p, m)
    seeds = range(100)
    covered, widths = 0, []
    for seed in seeds:
        estimate = lp_error(quantiser(m), identity, N=N, d=d, p=p, samples=1024, scramblings=8, level=level, seed=seed)
        assert estimate.lower <= estimate.value <= estimate.upper
        covered += estimate.lower <= exact <= estimate.upper
        widths.append((estimate.upper - estimate.lower) / exact)
    # 95% nominal; with 100 seeds a true coverage of 0.93-0.95 gives >= 87 covers with
    # probability > 0.99 (binomial), and a broken interval (e.g. a z instead of t, or the
    # spread of the points instead of the scramblings) falls far below.
    assert covered >= 87, covered
    assert float(np.mean(widths)) < 0.05  # informative, not vacuous


def test_smooth_integral_and_what_the_estimate_says_it_is() -> None:
    estimate = lp_error(lambda X: torch.zeros_like(X), identity, N=3, d=2, p=2.0, samples=4096, scramblings=8, seed=3)
    exact = math.sqrt(3 * 2 / 3)
    assert estimate.lower <= exact <= estimate.upper
    assert abs(estimate.value - exact) < 1e-3
    assert estimate.kind == "estimate" and estimate.level == 0.95 and estimate.seed == 3
    assert estimate.scramblings == 8 and estimate.points_per_scrambling == 512 and estimate.samples == 4096
    assert {"value", "lower", "upper", "level", "replicates", "seed", "device", "interval"} <= estimate.to_json().keys()


def test_same_seed_same_numbers_and_chunking_does_not_change_them() -> None:
    kwargs = dict(N=2, d=2, p=2.0, samples=2048, scramblings=4, seed=11)
    a = lp_error(quantiser(5), identity, **kwargs)
    b = lp_error(quantiser(5), identity, **kwargs)
    c = lp_error(quantiser(5), identity, chunk=64, **kwargs)
    d = lp_error(quantiser(5), identity, **{**kwargs, "seed": 12})
    assert a.replicates == b.replicates
    assert c.replicates == pytest.approx(a.replicates, rel=1e-12)
    assert d.replicates != a.replicates


def test_points_per_scrambling_is_rounded_up_to_a_power_of_two() -> None:
    estimate = lp_error(quantiser(2), identity, N=1, d=1, samples=1000, scramblings=3)
    assert estimate.points_per_scrambling == 512 and estimate.samples == 1536


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"samples": 1}, "samples"),
        ({"scramblings": 1}, "scramblings"),
        ({"level": 1.0}, "level"),
        ({"p": 0.5}, "p must"),
        ({"chunk": 0}, "chunk"),
    ],
)
def test_bad_settings_are_input_errors(kwargs: dict, message: str) -> None:
    settings = {"N": 1, "d": 1, "samples": 64, "scramblings": 4, **kwargs}
    with pytest.raises(InputError, match=message):
        lp_error(quantiser(2), identity, **settings)


def test_pointwise_error_checks_shapes_and_finiteness() -> None:
    X = torch.rand(4, 2, 1, dtype=torch.float64)
    assert torch.allclose(
        pointwise_error(lambda Z: Z + 1, identity, X, 3.0), torch.full((4,), 2.0, dtype=torch.float64)
    )
    with pytest.raises(InputError, match="differ in shape"):
        pointwise_error(lambda Z: Z[:, :1], identity, X, 2.0)
    with pytest.raises(RuntimeError, match="non-finite"):
        pointwise_error(lambda Z: Z / 0.0, identity, X, 2.0)


# --------------------------------------------------------------------------- sup by search
@pytest.mark.parametrize("N, d, p", [(1, 1, 2.0), (2, 1, 2.0), (2, 2, 1.0)])
def test_sup_search_approaches_a_known_sup_from_below(N: int, d: int, p: float) -> None:
    m = 3
    known = (N * d) ** (1.0 / p) / m
    result = measure_error(quantiser(m), identity, N=N, d=d, p=p, samples=1024, scramblings=4, seed=1).sup
    assert result is not None and result.kind == "lower bound"
    assert result.value <= known and result.value >= 0.995 * known
    assert result.value >= result.sampled  # the search never loses what sampling found
    witness = torch.from_numpy(result.witness)[None]
    assert witness.min() >= 0 and witness.max() <= 1
    assert float(pointwise_norm(quantiser(m), identity, witness, p)[0]) == result.value  # attained


def test_sup_search_from_its_own_samples() -> None:
    result = sup_error(quantiser(4), identity, N=1, d=1, p=2.0, samples=256, seed=0)
    assert 0.995 * 0.25 <= result.value <= 0.25


# --------------------------------------------------------------------------- rate fits
def test_fit_recovers_a_known_exponent_inside_its_bootstrap_interval() -> None:
    r = np.geomspace(10, 1e4, 12)
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        errors = 3.0 * r**-0.25 * np.exp(0.05 * rng.normal(size=r.size))
        fit = fit_rate(r, errors, asymptotic_from=10, seed=seed)
        assert fit.fitted and fit.points == 12 and fit.level == 0.95 and fit.seed == seed
        assert abs(fit.exponent + 0.25) < 0.05
        covered += fit.lower <= -0.25 <= fit.upper
    assert covered >= 32, covered  # nominal 95%; pairs bootstrap at n = 12 covers about 90%


def test_exact_power_law_is_fitted_exactly() -> None:
    r = np.array([10, 20, 40, 80, 160])
    fit = fit_rate(r, 2.0 * r**-0.5, asymptotic_from=10)
    assert fit.exponent == pytest.approx(-0.5, abs=1e-12)
    assert fit.prefactor == pytest.approx(2.0, rel=1e-12)
    assert fit.lower == pytest.approx(-0.5, abs=1e-12) and fit.upper == pytest.approx(-0.5, abs=1e-12)
    assert loglog_slope(r, 2.0 * r**-0.5) == pytest.approx(-0.5, abs=1e-12)


def test_default_asymptotic_range_is_the_upper_half_in_log_r() -> None:
    r = np.array([1, 10, 100, 1000, 10000])
    errors = np.array([1.0, 0.9, 0.1, 0.01, 0.001])  # pre-asymptotic first points
    fit = fit_rate(r, errors)
    assert fit.r_min == 100 and fit.r_max == 10000 and fit.points == 3
    assert fit.exponent == pytest.approx(-1.0, abs=1e-12)
    assert any("below the asymptotic range" in reason for reason in fit.excluded)


def test_unfittable_inputs_say_why() -> None:
    assert fit_rate([10, 20], [0.1, 0.05]).status.startswith("not fitted")
    fit = fit_rate([10, 20, 40, 80], [0.1, 0.0, 0.05, -1.0])
    assert not fit.fitted and fit.exponent is None and len([e for e in fit.excluded if "not > 0" in e]) == 2
    with pytest.raises(InputError):
        fit_rate([10, 20], [0.1])
    with pytest.raises(InputError):
        fit_rate([0, 20, 30], [0.1, 0.1, 0.1])


# --------------------------------------------------------------------------- verdicts
def test_verdicts_on_hand_made_cases() -> None:
    r = [10, 20, 40, 80]
    values = [0.5, 0.35, 0.25, 0.18]
    lowers = [v * 0.99 for v in values]
    uppers = [v * 1.01 for v in values]
    held = judge(r, values, lowers, uppers, [1.0, 0.7, 0.5, 0.36])
    assert held.held and held.status is Status.HELD and held.violated == () and "holds" in held.summary()
    assert [p.ratio for p in held.points] == pytest.approx([0.5, 0.5, 0.5, 0.5])

    violated = judge(r, values, lowers, uppers, [1.0, 0.7, 0.2, 0.1])
    assert not violated.held and violated.status is Status.VIOLATED
    assert violated.violated == (40, 80) and "r = 40, 80" in violated.summary()

    straddles = judge(r, values, lowers, uppers, [1.0, 0.7, 0.5, 0.18])
    assert straddles.status is Status.INCONCLUSIVE and straddles.inconclusive == (80,) and not straddles.held


def test_claimed_exponent_is_the_bounds_slope_on_the_fitted_range() -> None:
    r = np.array([10, 20, 40, 80, 160])
    values = 0.5 * r**-0.5
    verdict = judge(r, values, values, values, r**-0.25, asymptotic_from=10)
    assert verdict.claimed_exponent == pytest.approx(-0.25)
    assert verdict.rate_comparison == "falls faster than claimed"
    slower = judge(r, values, values, values, 1e3 * r**-1.0, asymptotic_from=10)
    assert slower.rate_comparison == "falls slower than claimed"
    same = judge(r, values, values, values, 2 * r**-0.5, asymptotic_from=10)
    assert same.rate_comparison == "consistent with the claimed exponent"


def test_compare_rates_without_a_fit_or_claim() -> None:
    fit = fit_rate([10, 20], [0.1, 0.05])
    assert compare_rates(fit, -0.5).startswith("not compared")
    assert compare_rates(fit, None) == "no claimed exponent"


def test_a_bound_known_only_within_a_range_holds_below_its_low_end_and_is_violated_above_its_high_end() -> None:
    """Moduli bracketed: the true bound lies somewhere in [low, high]. Held needs the measurement
    below low, violated above high; a measurement inside the range decides nothing."""
    r = [10, 20, 40]
    values = [0.30, 0.30, 0.30]
    tight = [0.299, 0.299, 0.299], [0.301, 0.301, 0.301]
    verdict = judge(r, values, *tight, bounds=[0.4, 0.2, 0.1], bounds_upper=[0.5, 0.35, 0.2])
    assert [p.status for p in verdict.points] == [Status.HELD, Status.INCONCLUSIVE, Status.VIOLATED]
    assert verdict.points[1].reason == "the bound is only known within its range (moduli bracketed)"
    assert "tighter moduli would decide" in verdict.summary() and "r = 20" in verdict.summary()
    assert verdict.points[2].to_json()["bound_upper"] == 0.2


def test_an_interval_needs_five_points_and_without_one_no_rate_is_compared() -> None:
    r = np.array([10.0, 20.0, 40.0, 80.0])
    few = fit_rate(r, r**-0.5, asymptotic_from=10)
    assert few.fitted and few.exponent == pytest.approx(-0.5) and few.points == 4
    assert few.lower is None and few.upper is None and "needs 5" in few.interval_note
    assert compare_rates(few, -3.0).startswith("not compared (no interval")
    five = fit_rate(np.append(r, 160.0), np.append(r, 160.0) ** -0.5, asymptotic_from=10)
    assert five.has_interval and five.interval_note == "" and compare_rates(five, -3.0) == "falls slower than claimed"


def test_nan_bound_is_an_input_error() -> None:
    with pytest.raises(InputError, match="NaN"):
        judge([10, 20, 40], [0.1] * 3, [0.1] * 3, [0.1] * 3, [1.0, math.nan, 1.0])


@pytest.mark.gpu
def test_cuda_gives_the_cpu_numbers() -> None:
    device = torch.device("cuda")
    cpu = lp_error(quantiser(3), identity, N=2, d=1, samples=4096, scramblings=4, seed=5)
    gpu = lp_error(quantiser(3), identity, N=2, d=1, samples=4096, scramblings=4, seed=5, device=device)
    assert gpu.device.startswith("cuda")
    assert gpu.replicates == pytest.approx(cpu.replicates, rel=1e-12)
