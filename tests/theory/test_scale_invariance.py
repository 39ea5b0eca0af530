"""Scale invariance of the arithmetic: no output scale in [1e-300, 1e300] and no p in [1, ∞) turns a
positive error or modulus into 0 or a finite one into inf, and homogeneous targets scale exactly.

Why relative 1e-12 is the tolerance for "exactly": the scaled target s·f differs from s times the
float64 value of f by one rounding per entry (relative 2^-53 ≈ 1.1e-16), and the scaled norms add a
few roundings more. Raising to the p-th power multiplies a relative error by p (≤ 150 here) and the
1/p-th root divides it back, and sums over at most a few thousand positive terms add at most their
count in units of 2^-53 (pairwise summation far less). Every path stays below ~1e-13; a real bug
(an underflowed p-th power, a lost scale factor, a rounding to zero) is off by orders of magnitude.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats

from loopbound.testing import assert_pair_meets_constraint
from loopbound.theory.error_measure import measure_error, pointwise_norm
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import SearchBudget, all_pairs_modulus, certify, estimate_moduli, estimate_modulus
from loopbound.theory.norms import entrywise_p_norm, exact_squared_distance, scaled_norm
from loopbound.theory.targets import Target, builtin_target

P_VALUES = (1.0, 2.0, 3.0, 30.0, 150.0)
RTOL = 1e-12
HOMOGENEOUS = ("holder", "linear", "contextual_max")  # the built-ins with a ``scale`` parameter
BUDGET = SearchBudget(screen=256, restarts=8, steps=8)
SCREEN = SearchBudget(screen=512, restarts=8, steps=0)
"""Screening only: its pairs and choices do not depend on the scale, so its values scale exactly.
The projected ascent takes steps of normalised gradients, equal across scales only up to rounding,
and after a few steps its iterates (and the value they stop at, short of the optimum) may differ
at the 1e-12 level; the ascent is checked at extreme scales against the exact moduli instead."""
PROPERTY = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _zero_model(X: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(X)


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= RTOL * max(abs(a), abs(b))


# --------------------------------------------------------------------------- norms
@given(k=st.integers(-300, 300), p=st.sampled_from(P_VALUES))
@example(k=-300, p=150.0)
@example(k=300, p=1.0)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_scaled_norms_neither_underflow_nor_overflow(k: int, p: float) -> None:
    v = torch.tensor([[3.0, -4.0, 0.5, 0.0]], dtype=torch.float64)
    s = 10.0**k
    expected = float(entrywise_p_norm(v, p)[0]) * s
    got = float(entrywise_p_norm(v * s, p)[0])
    assert 0.0 < got < math.inf and _close(got, expected), (got, expected)
    assert _close(scaled_norm((v * s).numpy(), p), expected)
    assert float(entrywise_p_norm(torch.zeros(1, 3, dtype=torch.float64), p)[0]) == 0.0


def test_the_scaled_norm_keeps_the_gradient_of_the_norm() -> None:
    t = (torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64) * 1e-200).requires_grad_(True)
    (gradient,) = torch.autograd.grad(entrywise_p_norm(t, 3.0).sum(), t)
    u = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    expected = u.sign() * u.abs() ** 2 / (u.abs() ** 3).sum() ** (2 / 3)  # ∇‖u‖_3, homogeneous of degree 0
    assert torch.allclose(gradient[0], expected, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- L^p error
@given(name=st.sampled_from(HOMOGENEOUS), k=st.integers(-300, 300), p=st.sampled_from(P_VALUES))
@example(name="holder", k=-300, p=150.0)
@example(name="contextual_max", k=300, p=1.0)
@PROPERTY
def test_lp_error_and_sup_scale_exactly_with_the_target(name: str, k: int, p: float) -> None:
    s = 10.0**k
    N, d = 2, 1
    kwargs = dict(N=N, d=d, p=p, samples=256, scramblings=4, seed=7, sup_steps=4)
    unit = measure_error(_zero_model, builtin_target(name, d=d, N=N), **kwargs)
    scaled = measure_error(_zero_model, builtin_target(name, d=d, N=N, scale=s), **kwargs)
    for field in ("value", "lower", "upper"):
        a, b = getattr(unit.lp, field) * s, getattr(scaled.lp, field)
        assert 0.0 <= b < math.inf and _close(a, b), (field, a, b)
    assert scaled.lp.value > 0.0  # (the interval's low end is 0 where the t-interval reaches 0)
    assert _close(unit.sup.value * s, scaled.sup.value) and 0.0 < scaled.sup.value < math.inf
    # the rescaled replicates do not depend on the scale: only ``scale`` carries it
    assert scaled.lp.replicates == pytest.approx(unit.lp.replicates, rel=1e-10)
    assert _close(unit.lp.scale * s, scaled.lp.scale)


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99])
def test_the_interval_is_the_t_interval_of_the_stored_replicates(level: float) -> None:
    lp = measure_error(
        _zero_model,
        builtin_target("holder", d=1, N=2, scale=1e-250),
        N=2,
        d=1,
        p=30.0,
        samples=512,
        scramblings=5,
        level=level,
        seed=3,
        sup_search=False,
    ).lp
    replicates = np.asarray(lp.replicates)
    half = stats.t.ppf((1 + level) / 2, len(replicates) - 1) * replicates.std(ddof=1) / math.sqrt(len(replicates))
    mean = replicates.mean()
    assert _close(lp.value, lp.scale * mean ** (1 / 30))
    assert _close(lp.lower, lp.scale * max(0.0, mean - half) ** (1 / 30))
    assert _close(lp.upper, lp.scale * (mean + half) ** (1 / 30))
    assert lp.to_json()["scale"] == lp.scale and 1e-251 < lp.scale < 1e-249


def test_a_tiny_error_at_a_large_p_is_not_zero() -> None:
    """The issue's case: p = 150 at output scale 0.01 printed an L^p error of 0 beside a sup ≥ 0.007."""
    target = builtin_target("holder", d=1, N=1, scale=0.01)
    lp = measure_error(_zero_model, target, N=1, d=1, p=150.0, samples=512, seed=0, sup_search=False).lp
    # ‖0.01·x^½‖_{L^150} = 0.01·(1/76)^{1/150}, exactly
    exact = 0.01 * (1 / 76) ** (1 / 150)
    assert lp.lower <= exact <= lp.upper and lp.lower > 0


def test_pointwise_norm_is_never_zero_or_inf_for_a_finite_nonzero_difference() -> None:
    X = torch.rand(16, 2, 1, dtype=torch.float64)
    for s in (1e-300, 1e300):
        values = pointwise_norm(lambda Z, s=s: Z * s, _zero_model, X, 150.0)
        assert bool((values > 0).all() and torch.isfinite(values).all())


# --------------------------------------------------------------------------- moduli
def _moduli(target: Target, p: float) -> dict:
    return estimate_moduli(target, (1e-300, 0.05, 0.3), p=p, budget=SCREEN, seed=1)


@given(name=st.sampled_from(HOMOGENEOUS), k=st.integers(-300, 300), p=st.sampled_from(P_VALUES))
@example(name="holder", k=-300, p=150.0)
@example(name="contextual_max", k=300, p=1.0)
@PROPERTY
def test_moduli_lower_bounds_scale_exactly_and_stay_ordered(name: str, k: int, p: float) -> None:
    s = 10.0**k
    N, d = 3, 1
    unit = _moduli(builtin_target(name, d=d, N=N), p)
    scaled = _moduli(builtin_target(name, d=d, N=N, scale=s), p)
    for kind in ModulusKind:
        for a, b in zip(unit[kind], scaled[kind]):
            expected = a.lower * s
            if b.delta > 1e-200:  # at δ = 1e-300 the product underflows for small s: tested below
                assert _close(expected, b.lower), (kind, b.delta, expected, b.lower)
                assert (b.lower > 0) == (a.lower > 0) and b.lower < math.inf
            if b.exact is not None:
                assert b.lower <= b.exact * (1 + RTOL), (kind, b.delta, b.lower, b.exact)
    for k_delta in range(3):
        whole = scaled[ModulusKind.SEQUENCE][k_delta].lower
        for kind in (ModulusKind.TOKEN, ModulusKind.CONTEXTUAL):
            assert scaled[kind][k_delta].lower <= whole, (kind, scaled[kind][k_delta].lower, whole)


@pytest.mark.parametrize("scale", [1e160, 1e-170, 1e300, 1e-300])
def test_contextual_max_at_extreme_scales_reaches_its_exact_modulus(scale: float) -> None:
    target = builtin_target("contextual_max", d=2, N=3, scale=scale)
    result = estimate_moduli(target, (0.1,), p=2.0, budget=BUDGET, seed=0)
    for (estimate,) in result.values():
        assert 0 < estimate.lower < math.inf
        assert _close(estimate.lower, estimate.exact) or 0.999 * estimate.exact <= estimate.lower <= estimate.exact * (
            1 + RTOL
        )
    assert result[ModulusKind.SEQUENCE][0].lower >= max(result[k][0].lower for k in ModulusKind)


@pytest.mark.parametrize("delta", [1e-300, 1e-310, 5e-324])
def test_a_tiny_delta_keeps_a_witness_pair_that_differs(delta: float) -> None:
    """δ = 1e-300 once shrank the witness to Y = X: the distance underflowed to 0 while shrinking."""
    target = builtin_target("holder", d=1, N=2)
    (estimate,) = estimate_modulus(target, "token", (delta,), budget=BUDGET, seed=0)
    witness = estimate.witness
    assert not np.array_equal(witness.X, witness.Y)
    assert_pair_meets_constraint(witness.X, witness.Y, kind="token", delta=delta, position=witness.position)
    assert 0 < witness.distance <= delta
    assert _close(estimate.lower, estimate.exact)  # ω^tok(δ) = δ^½, attained at 0


def test_certify_shrinks_a_pair_too_far_apart_at_a_tiny_delta() -> None:
    target = builtin_target("holder", d=1, N=2)
    X, Y = np.zeros((2, 1)), np.array([[3e-299], [0.0]])
    value, witness = certify(target, X, Y, ModulusKind.TOKEN, 0, 1e-300, 2.0)
    assert exact_squared_distance(witness.X, witness.Y) <= Fraction(1e-300) ** 2
    assert 0.9e-150 < value <= 1e-150 and witness.Y[0, 0] > 0


def test_a_non_finite_witness_value_is_refused() -> None:
    class Overflowing(Target):
        def forward(self, X: torch.Tensor) -> torch.Tensor:
            return X * 1e308 * 1e10

    with pytest.raises(InputError, match="not a finite number"):
        certify(Overflowing(d=1, N=1), np.zeros((1, 1)), np.full((1, 1), 0.1), ModulusKind.SEQUENCE, None, 0.1, 2.0)


@given(k=st.integers(-300, 300), p=st.sampled_from(P_VALUES))
@example(k=-300, p=150.0)
@example(k=300, p=1.0)
@settings(max_examples=20, deadline=None, derandomize=True)
def test_all_pairs_values_scale_exactly_with_the_outputs_and_the_inputs(k: int, p: float) -> None:
    rng = np.random.default_rng(5)
    x = rng.random((200, 2, 1))
    y = np.sin(3 * x)
    deltas = (0.02, 0.1, 0.5)
    unit = all_pairs_modulus(x, y, deltas, p=p)
    s = 10.0**k
    scaled = all_pairs_modulus(x, y * s, deltas, p=p)
    for a, b in zip(unit.points, scaled.points):
        assert a.value > 0 and _close(a.value * s, b.value) and 0 < b.value < math.inf
    t = 2.0 ** max(-900, min(900, round(k * 3.3)))  # inputs scaled by a power of two: bins unchanged
    moved = all_pairs_modulus(x * t, y, tuple(delta * t for delta in deltas), p=p)
    for a, b in zip(unit.points, moved.points):
        assert a.pair == b.pair and a.value == b.value and b.distance == a.distance * t


def test_sup_search_accepts_every_seed_below_2_to_the_64() -> None:
    """The sup search derives its generator's seed from the caller's: a seed near 2^64 must not
    overflow torch's generator (it takes seeds below 2^64)."""
    from loopbound.theory.error_measure import sup_error

    target = builtin_target("holder", d=1, N=1)
    model = lambda X: torch.zeros_like(X)
    near = sup_error(model, target, N=1, d=1, p=2.0, samples=64, seed=2**64 - 1)
    assert math.isfinite(near.value) and near.value > 0
