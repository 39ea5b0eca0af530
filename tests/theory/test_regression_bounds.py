"""loopbound.theory.bounds.regression and loopbound.theory.regression: the bounds, their derivations, the data, the
least-squares reference, the statistics, and the Monte Carlo reference curves (numpy estimators;
the transformer's own curves are tested in tests/loopbound/test_regression_experiment.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.theory.bounds import regression as rb
from loopbound.theory.errors import InputError
from loopbound.theory.reference_curves import ReferencePoint, reference_curves_mc
from loopbound.theory.regression import (
    ROUNDING_FLOOR,
    RegressionTask,
    bootstrap_median,
    contraction_factor,
    fit_log_slope,
    least_squares,
    loops_to_reach,
    mean_interval,
    normalise_for_step,
    sample_regression,
    spectrum,
    step_size,
)

ALL_BOUNDS = [getattr(rb, name) for name in rb.__all__ if name != "REFERENCE_CURVES"]


@pytest.mark.parametrize("bound", ALL_BOUNDS, ids=lambda b: b.name)
def test_every_bound_states_provenance_and_derivation(bound) -> None:
    assert bound.provenance.source and bound.provenance.statement
    assert bound.provenance.status == "derived here"
    assert len(bound.derivation) > 40
    assert set(bound.expression.free_symbols) <= set(bound.symbols)


def test_one_step_algebra_optimum_and_averaging() -> None:
    eta = rb.eta
    error = rb.ONE_STEP_ERROR.expression
    optimum = sympy.solve(sympy.diff(error, eta), eta)
    assert len(optimum) == 1 and sympy.simplify(optimum[0] - rb.ONE_STEP_OPTIMAL_ETA.expression) == 0
    assert sympy.simplify(error.subs(eta, optimum[0]) - rb.ONE_STEP_OPTIMUM.expression) == 0
    assert sympy.simplify(error.subs(eta, 1) - rb.AVERAGING_ERROR.expression) == 0
    assert rb.LEAST_SQUARES_ERROR.evaluate(n=10, d=20) == 0.5 and rb.LEAST_SQUARES_ERROR.evaluate(n=40, d=20) == 0.0
    np.testing.assert_allclose(
        rb.ONE_STEP_OPTIMUM.evaluate(n=np.array([10, 20, 40]), d=20), [21 / 31, 21 / 41, 21 / 61]
    )


@given(kappa=st.floats(1.001, 1e5), epsilon=st.floats(1e-14, 0.5))
def test_kappa_forms_bound_the_exact_loop_counts(kappa: float, epsilon: float) -> None:
    """⌈ln(1/ε)/ln(1/ρ)⌉ ≤ ⌈κ ln(1/ε)⌉ for ρ = 1 − 1/κ and ≤ ⌈(κ/2) ln(1/ε)⌉ for ρ = (κ−1)/(κ+1);
    Newton–Schulz: ⌈log₂(ln(1/ε)/ln(1/ρ₀))⌉ ≤ the κ-forms for ρ₀ = 1 − 1/κ² and 1 − 1/κ."""
    for rho_bound, loops_bound in (
        (rb.RHO_MAX_STEP, rb.GD_LOOPS_KAPPA_MAX_STEP),
        (rb.RHO_OPTIMAL_STEP, rb.GD_LOOPS_KAPPA_OPTIMAL_STEP),
    ):
        rho = rho_bound.evaluate(kappa=kappa)
        assert rb.GD_LOOPS_TO_EPSILON.evaluate(rho=rho, epsilon=epsilon) <= loops_bound.evaluate(
            kappa=kappa, epsilon=epsilon
        )
        loops = int(rb.GD_LOOPS_TO_EPSILON.evaluate(rho=rho, epsilon=epsilon))
        assert rho**loops <= epsilon * (1 + 1e-12)
    if epsilon < 1 / math.e:  # log₂ ln(1/ε) ≥ 0
        assert rb.NS_LOOPS_TO_EPSILON.evaluate(
            rho0=1 - 1 / kappa**2, epsilon=epsilon
        ) <= rb.NS_LOOPS_KAPPA_TRANSPOSE.evaluate(kappa=kappa, epsilon=epsilon)
        assert rb.NS_LOOPS_TO_EPSILON.evaluate(rho0=1 - 1 / kappa, epsilon=epsilon) <= rb.NS_LOOPS_KAPPA_SPD.evaluate(
            kappa=kappa, epsilon=epsilon
        )


@given(
    d=st.integers(1, 6),
    n=st.integers(1, 14),
    loops=st.integers(0, 60),
    step=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_gradient_descent_error_is_bounded_per_instance(d: int, n: int, loops: int, step: float, seed: int) -> None:
    """Plain numpy GD from 0 against ‖x_q‖ρ^r‖w_LS‖ (rank-deficient H included: ρ over the nonzero
    spectrum, w_LS minimum-norm); checked where the bound is ≥ 1e-9·‖x_q‖‖w_LS‖.
    The bound is attained (always for d = 1; whenever x_q and w_LS lie on the extreme eigenvector),
    so a strict float comparison would test rounding. Both w_r and w_LS are computed from Xᵀy, whose
    terms can cancel, so their rounding is relative to ‖X⁺‖‖y‖ = ‖y‖/σ_min, amplified by κ(X)
    (least-squares perturbation theory) and growing with each step: the comparison allows
    64·u·(r + 1)·κ(X)·‖x_q‖‖y‖/σ_min and nothing else (hypothesis found a d = 1 prompt where
    Xᵀy cancels and w_LS carries a relative rounding of 6e-14)."""
    rng = np.random.default_rng(seed)
    X, y, xq = rng.standard_normal((2, n, d)), rng.standard_normal((2, n)), rng.standard_normal((2, d))
    solution = least_squares(torch.from_numpy(X), torch.from_numpy(y))
    eta = step * 2 / float(solution.spectrum.lambda_max.max())
    rho = contraction_factor(solution.spectrum, eta).numpy()
    w_ls = solution.w.numpy()
    sigma = np.sqrt(X.shape[1] * solution.spectrum.eigenvalues.numpy())
    sigma_min = np.where(sigma > 0, sigma, np.inf).min(axis=1)
    rounding = (
        64
        * np.finfo(np.float64).eps
        * (sigma.max(axis=1) / sigma_min)
        * np.linalg.norm(xq, axis=1)
        * np.linalg.norm(y, axis=1)
        / sigma_min
    )
    w = np.zeros((2, d))
    for r in range(loops + 1):
        error = np.abs(np.einsum("bd,bd->b", xq, w - w_ls))
        scale = np.linalg.norm(xq, axis=1) * np.linalg.norm(w_ls, axis=1)
        bound = rb.GD_PREDICTION_ERROR.evaluate(
            x_norm=np.linalg.norm(xq, axis=1), rho=rho, r=r, w_norm=np.linalg.norm(w_ls, axis=1)
        )
        meaningful = bound >= 1e-9 * scale
        assert np.all(error[meaningful] <= (bound + (r + 1) * rounding)[meaningful]), (r, error, bound)
        w = w - eta * np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w) - y) / n


def test_least_squares_is_the_minimum_norm_solution_and_the_spectrum_of_H() -> None:
    rng = np.random.default_rng(0)
    for n, d in ((3, 7), (7, 7), (30, 4)):
        X, y = rng.standard_normal((5, n, d)), rng.standard_normal((5, n))
        solution = least_squares(torch.from_numpy(X), torch.from_numpy(y))
        for b in range(5):
            np.testing.assert_allclose(solution.w[b].numpy(), np.linalg.pinv(X[b]) @ y[b], rtol=1e-10, atol=1e-12)
            eigen = np.linalg.eigvalsh(X[b].T @ X[b] / n)
            eigen[: max(0, d - n)] = 0.0  # exactly zero beyond the rank
            np.testing.assert_allclose(solution.spectrum.eigenvalues[b].numpy(), eigen, rtol=1e-10, atol=1e-12)
        assert torch.all(solution.spectrum.lambda_min > 0)
        assert torch.equal(spectrum(torch.from_numpy(X)).eigenvalues, solution.spectrum.eigenvalues)


@pytest.mark.parametrize("rule", ["max", "optimal"])
def test_normalising_a_prompt_turns_the_rules_step_into_one(rule: str) -> None:
    """GD with the rule's step on the prompt = GD with η = 1 on the normalised prompt (numpy)."""
    sample = sample_regression(RegressionTask(d=4, n=12, kappa=5.0, queries=2), 6, seed=3)
    eta = step_size(spectrum(sample.X), rule).numpy()
    X2, q2, c = normalise_for_step(sample.X, sample.x_query, rule)
    np.testing.assert_allclose(c.numpy(), 1 / eta, rtol=1e-14)
    X, y, q, X2, q2 = (a.numpy() for a in (sample.X, sample.y, sample.x_query, X2, q2))
    w, w2 = np.zeros((6, 4)), np.zeros((6, 4))
    for _ in range(25):
        w = w - eta[:, None] * np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w) - y) / 12
        w2 = w2 - np.einsum("bnd,bn->bd", X2, np.einsum("bnd,bd->bn", X2, w2) - y) / 12
    np.testing.assert_allclose(np.einsum("bmd,bd->bm", q2, w2), np.einsum("bmd,bd->bm", q, w), rtol=1e-10)
    rho = contraction_factor(spectrum(torch.from_numpy(X2)), 1.0).numpy()
    kappa = spectrum(torch.from_numpy(X)).kappa.numpy()
    expected = rb.RHO_MAX_STEP.evaluate(kappa=kappa) if rule == "max" else rb.RHO_OPTIMAL_STEP.evaluate(kappa=kappa)
    np.testing.assert_allclose(rho, expected, rtol=1e-12)


def test_sampling_is_seeded_and_validated() -> None:
    task = RegressionTask(d=3, n=5, kappa=4.0, noise=0.1, queries=2)
    a, b, c = (sample_regression(task, 4, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and torch.equal(a.x_query, b.x_query)
    assert not torch.equal(a.X, c.X)
    np.testing.assert_allclose(task.covariance_eigenvalues(), [1.0, 0.5, 0.25])
    for bad, field in (
        ({"d": 0}, "d"),
        ({"n": 1.5}, "n"),
        ({"kappa": 0.5}, "kappa"),
        ({"noise": -1.0}, "noise"),
        ({"queries": 0}, "queries"),
    ):
        with pytest.raises(ValueError, match=f"RegressionTask.{field}"):
            RegressionTask(**{"d": 3, "n": 5, **bad})


def test_slope_fit_recovers_an_exact_rate_with_alternation_and_loops_to_reach() -> None:
    r = np.arange(10, 60)
    errors = 0.3 * 0.8**r * np.where(r % 2 == 0, 1.4, 0.6)  # |c₁ ± c₂| ρ^r
    fit = fit_log_slope(r, errors)
    assert fit.slope == pytest.approx(math.log(0.8), rel=1e-12)
    assert (fit.points, fit.first, fit.last) == (50, 10, 59)
    assert loops_to_reach(np.array([1.0, 0.5, 0.05, 0.2, 0.01, 0.001]), 0.1) == 4
    assert loops_to_reach(np.array([0.01, 0.001]), 0.1) == 0
    assert loops_to_reach(np.array([1.0, 0.5]), 0.1) is None
    with pytest.raises(InputError):
        fit_log_slope(r[:3], errors[:3])
    with pytest.raises(InputError):
        fit_log_slope(r, np.where(r == 20, 0.0, errors))


def test_intervals_state_level_and_seed_and_cover_known_values() -> None:
    """Coverage over 200 independent samples of 101 exponential(2) values: the 95% intervals of
    the mean (CLT) and of the median (percentile bootstrap) should cover 190 on average; the
    binomial 99.9% range is [180, 200]."""
    rng = np.random.default_rng(12345)
    mean_hits = median_hits = 0
    for i in range(200):
        values = rng.exponential(2.0, size=101)
        mean_hits += mean_interval(values, level=0.95).contains(2.0)
        median_hits += bootstrap_median(values, level=0.95, seed=i).contains(2.0 * math.log(2.0))
    assert 180 <= mean_hits <= 200 and 180 <= median_hits <= 200, (mean_hits, median_hits)
    first, again = bootstrap_median(values, seed=4), bootstrap_median(values, seed=4)
    assert first == again and first.level == 0.95 and first.seed == 4 and first.samples == 101
    assert ReferencePoint.bonferroni_z(0.95, 1) == pytest.approx(1.959964, rel=1e-6)


REFERENCE = {"d": 20, "ks": (5, 10, 20, 40), "prompts": 8000, "queries": 16, "seed": 0}
FAMILY_LEVEL = 0.999


@pytest.fixture(scope="module")
def reference_points():
    return reference_curves_mc(
        REFERENCE["d"],
        REFERENCE["ks"],
        prompts=REFERENCE["prompts"],
        queries=REFERENCE["queries"],
        seed=REFERENCE["seed"],
    )


def test_monte_carlo_reference_curves_agree_with_their_closed_forms(reference_points) -> None:
    """All 12 points at once at family level 99.9% (Bonferroni, |z| ≤ 3.93): a correct
    implementation fails with probability ≤ 0.1%; exactly-0 points (least squares, k ≥ d) must be
    float64 rounding (≤ ROUNDING_FLOOR)."""
    z_critical = ReferencePoint.bonferroni_z(FAMILY_LEVEL, len(reference_points))
    assert len(reference_points) == 12
    for point in reference_points:
        assert point.consistent(z_critical), (point.curve, point.k, point.estimate, point.closed_form, point.z_score())
    zero = [p for p in reference_points if p.closed_form == 0]
    assert len(zero) == 2 and all(p.estimate.upper <= ROUNDING_FLOOR for p in zero)


def test_the_reference_test_resolves_each_curve_to_a_few_per_cent(reference_points) -> None:
    """What the agreement above can detect: at the family level every nonzero point is resolved to
    within 5% of its value (so a wrong constant of that size fails), and the formulas a slip would
    produce — averaging d/k for (d+1)/k, least squares 1 − (k−1)/d for 1 − k/d — are rejected at
    k ≥ 10. The one-step curve is only resolved to about 2.3% at k = 10 with these sizes, so a slip
    like (d+1)/(k+d) (3% away) is not reliably rejected; that is the test's resolution, stated."""
    z_critical = ReferencePoint.bonferroni_z(FAMILY_LEVEL, len(reference_points))
    z_point = 1.959963984540054  # the per-point level (95%) the half-widths are stated at
    d = REFERENCE["d"]
    for point in reference_points:
        if point.closed_form == 0:
            continue
        family_half_width = point.estimate.half_width * z_critical / z_point
        assert family_half_width <= 0.05 * point.closed_form, (
            point.curve,
            point.k,
            family_half_width / point.closed_form,
        )
    wrong = {"averaging": lambda k: d / k, "least_squares": lambda k: 1 - (k - 1) / d}
    tested = 0
    for point in reference_points:
        if point.curve in wrong and 10 <= point.k < d or (point.curve == "averaging" and point.k >= 10):
            z = (point.estimate.mean - wrong[point.curve](point.k)) / (point.estimate.half_width / z_point)
            assert abs(z) > z_critical, (point.curve, point.k, z)
            tested += 1
    assert tested == 4
