"""Contextual mappings: the checker on maps with known answers, Yun's selective-shift construction
(floats and exact rationals), and the one-layer softmax construction with its onset temperature.

The property under test (Yun et al. 2020, Def. 3.1): on grid inputs with distinct tokens the N
values of an input are pairwise distinct, no value is shared by inputs that are not column
permutations of each other, the map is permutation-equivariant, and distinct values are at least
the claimed separation apart.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.constructions.contextual import (
    DEFAULT_INVERSE_TEMPERATURE,
    BoltzmannContextualMapping,
    boltzmann_operator,
    boltzmann_spec,
    build_boltzmann,
    build_selective_shift,
    canonical_inputs,
    cells_to_fractions,
    cells_to_tensor,
    check_contextual_mapping,
    collision_point,
    last_id_range,
    order_violations,
    points_to_cells,
    selective_shift_spec,
    softmax_onset,
    sufficient_inverse_temperature,
    witness_difference,
)
from loopbound.constructions.contextual_yun import SelectiveShiftContextualMapping
from loopbound.constructions.spec import block_module
from loopbound.testing import assert_contextual_mapping, assert_matches_reference, assert_permutation_equivariant
from loopbound.testing.strategies import cube_points, grid_inputs
from loopbound.theory.errors import InputError, PrecisionError

HALF, QUARTER, EIGHTH = Fraction(1, 2), Fraction(1, 4), Fraction(1, 8)


# ---------------------------------------------------------------------------------------------
# the checker, on maps whose answers are known
# ---------------------------------------------------------------------------------------------


def _cells(X: torch.Tensor, steps: int) -> torch.Tensor:
    digits = torch.round(X * steps).long()
    return (digits * steps ** torch.arange(X.shape[-1])).sum(-1)


def _reference(steps: int, d: int, N: int, *, shared=False, constant=False, positional=False):
    """q_j = m_j + D·T with T the base-D number of the sorted cells: a contextual mapping whose
    separation is exactly 1 (neighbouring cells in one input; T and T + 1 between inputs).
    The flags break it: ``shared`` drops the context (q_j = m_j), ``constant`` drops the token
    (q_j = D·T), ``positional`` adds ½ to the first position."""
    D = steps**d

    def ids(X: torch.Tensor) -> torch.Tensor:
        cells = _cells(X, steps)
        ordered = cells.sort(dim=1).values
        T = (ordered * D ** torch.arange(N - 1, -1, -1)).sum(1, keepdim=True)
        values = cells.double() if shared else (D * T).double().expand(-1, N) if constant else (cells + D * T).double()
        if positional:
            values = values.clone()
            values[:, 0] += 0.5
        return values

    return ids


def test_checker_accepts_a_contextual_mapping_and_measures_its_exact_separation() -> None:
    report = check_contextual_mapping(_reference(4, 1, 3), delta=QUARTER, d=1, N=3, claimed_separation=1)
    assert report.passed and report.exhaustive, report.failures
    assert (report.inputs_checked, report.inputs_total, report.permuted_inputs_checked) == (4, 4, 20)
    assert report.measured_separation == 1.0 and report.separation_holds


def test_checker_in_exact_mode_compares_exact_values() -> None:
    float_map = _reference(2, 2, 3)

    def exact_map(batch):
        X = torch.tensor([[[float(x) for x in token] for token in X] for X in batch], dtype=torch.float64)
        return [[Fraction(int(v)) for v in row] for row in float_map(X).tolist()]

    report = check_contextual_mapping(exact_map, delta=HALF, d=2, N=3, exact=True, claimed_separation=Fraction(1))
    assert report.passed and report.exact and report.measured_separation == Fraction(1)


@pytest.mark.parametrize(
    "flag, broken, label",
    [
        ("constant", "entries_distinct", "(i)"),
        ("shared", "disjoint_across_inputs", "(ii)"),
        ("positional", "permutation_equivariant", "(iii)"),
    ],
)
def test_checker_finds_each_kind_of_failure(flag: str, broken: str, label: str) -> None:
    report = check_contextual_mapping(_reference(4, 1, 3, **{flag: True}), delta=QUARTER, d=1, N=3)
    assert getattr(report, broken) is False and not report.passed
    assert any(line.startswith(label + " ") for line in report.failures), report.failures


def test_checker_holds_the_separation_and_the_band_to_the_claim() -> None:
    too_wide = check_contextual_mapping(_reference(4, 1, 2), delta=QUARTER, d=1, N=2, claimed_separation=Fraction(3, 2))
    assert too_wide.separation_holds is False and not too_wide.passed
    banded = check_contextual_mapping(_reference(4, 1, 2), delta=QUARTER, d=1, N=2, band=(0, 10))
    assert banded.inside_band is False  # values reach m + 4T = 3 + 4·11
    assert banded.duplicate_inputs_checked == 4 and banded.duplicates_outside_band is False  # (0, 0) ↦ 0


def test_checker_samples_when_there_are_too_many_inputs() -> None:
    report = check_contextual_mapping(
        _reference(8, 2, 3), delta=EIGHTH, d=2, N=3, max_inputs=300, max_permuted=500, seed=3
    )
    assert not report.exhaustive and report.inputs_checked == 300 and report.inputs_total == math.comb(64, 3)
    assert report.permuted_inputs_checked == 500 and report.passed


def test_checker_rejects_bad_arguments_with_one_line_errors() -> None:
    with pytest.raises(InputError, match="delta must be 1/m"):
        check_contextual_mapping(_reference(4, 1, 2), delta=0.3, d=1, N=2)
    with pytest.raises(InputError, match="do not fit"):
        check_contextual_mapping(_reference(2, 1, 3), delta=HALF, d=1, N=3)
    with pytest.raises(InputError, match=r"shape \[B, N\]"):
        check_contextual_mapping(lambda X: X[..., 0, 0], delta=HALF, d=1, N=2)


# ---------------------------------------------------------------------------------------------
# Yun's selective-shift contextual mapping (hardmax)
# ---------------------------------------------------------------------------------------------


def _shapes(max_steps: int = 8):
    for steps in (2, 4, 8)[: int(math.log2(max_steps))]:
        for d in (1, 2, 3):
            for N in range(1, 6 // d + 1):
                if N <= steps**d:
                    yield Fraction(1, steps), d, N


def _float_cases():
    for delta, d, N in _shapes():
        if (delta, d, N) == (EIGHTH, 3, 2):
            continue  # needs 55 bits: float64 refuses it (tested below), exact arithmetic checks it
        marks = [pytest.mark.slow] if (delta, d, N) == (EIGHTH, 2, 3) else []  # 250k inputs × 65 layers: ~40 s
        yield pytest.param(delta, d, N, marks=marks, id=f"delta=1/{delta.denominator}-d={d}-N={N}")


@pytest.mark.parametrize("delta, d, N", list(_float_cases()))
def test_selective_shift_is_a_contextual_mapping_on_every_grid_input(delta: Fraction, d: int, N: int) -> None:
    built = build_selective_shift(delta, d=d, N=N)
    module, guarantee = built.model, built.guarantee
    report = check_contextual_mapping(
        module,
        delta=delta,
        d=d,
        N=N,
        claimed_separation=guarantee.claimed_separation,
        band=guarantee.band,
        max_inputs=200_000,
        max_permuted=20_000,
    )
    assert report.passed and report.exhaustive, report.failures
    assert report.measured_separation >= delta and report.inside_band
    if N >= 2:
        assert report.duplicate_inputs_checked > 0 and report.duplicates_outside_band


EXACT_CASES = [
    (HALF, 1, 2),
    (QUARTER, 1, 2),
    (QUARTER, 1, 3),
    (QUARTER, 1, 4),
    (EIGHTH, 1, 2),
    (EIGHTH, 1, 3),
    (HALF, 2, 2),
    (HALF, 2, 3),
    (QUARTER, 2, 2),
    (HALF, 3, 2),
]


@pytest.mark.parametrize("delta, d, N", EXACT_CASES, ids=lambda v: str(v))
def test_selective_shift_holds_in_exact_rational_arithmetic_and_floats_agree_bit_for_bit(
    delta: Fraction, d: int, N: int
) -> None:
    spec = selective_shift_spec(delta, d=d, N=N)
    guarantee = spec.guarantee
    report = check_contextual_mapping(
        spec.exact_ids,
        delta=delta,
        d=d,
        N=N,
        exact=True,
        claimed_separation=guarantee.claimed_separation,
        band=guarantee.band,
        max_permuted=300,
    )
    assert report.passed and report.exhaustive, report.failures
    assert isinstance(report.measured_separation, Fraction) and report.measured_separation % delta == 0
    module = build_selective_shift(delta, d=d, N=N).model
    steps = delta.denominator
    rows, _, _ = canonical_inputs(steps**d, N, max_inputs=10_000, seed=0)
    exact = spec.exact_ids(cells_to_fractions(rows.tolist(), steps, d))
    floats = module(cells_to_tensor(rows, steps, d)).tolist()
    assert [[Fraction(v) for v in row] for row in floats] == exact  # the float evaluation is exact


def test_selective_shift_on_a_non_dyadic_grid_is_exact_only() -> None:
    spec = selective_shift_spec(Fraction(1, 3), d=1, N=2)
    report = check_contextual_mapping(
        spec.exact_ids,
        delta=Fraction(1, 3),
        d=1,
        N=2,
        exact=True,
        claimed_separation=spec.guarantee.claimed_separation,
        band=spec.guarantee.band,
    )
    assert report.passed, report.failures
    with pytest.raises(PrecisionError, match="not a power of two"):
        build_selective_shift(Fraction(1, 3), d=1, N=2)


@pytest.mark.parametrize(
    "delta, d, N", [(QUARTER, 1, 3), (EIGHTH, 1, 3), (HALF, 2, 3), (QUARTER, 2, 2), (EIGHTH, 1, 4)], ids=str
)
def test_the_last_shifted_id_attains_exactly_the_derived_range(delta: Fraction, d: int, N: int) -> None:
    """min and max of l̃_N over valid inputs are A_min and A_max of (E2); q_N = (K + 1)·l̃_N."""
    spec = selective_shift_spec(delta, d=d, N=N)
    steps = delta.denominator
    rows, _, _ = canonical_inputs(steps**d, N, max_inputs=10_000, seed=0)
    K = steps ** ((N + 1) * d)
    last = [max(values) / (K + 1) for values in spec.exact_ids(cells_to_fractions(rows.tolist(), steps, d))]
    A_min, A_max = last_id_range(steps, d, N)
    assert (min(last), max(last)) == (A_min * delta, A_max * delta)


def _big_case():
    built = build_selective_shift(EIGHTH, d=2, N=3)
    module, guarantee = built.model, built.guarantee
    return module, selective_shift_spec(EIGHTH, d=2, N=3), guarantee


BIG_MODULE, BIG_SPEC, BIG_GUARANTEE = _big_case()


@given(grid_inputs(delta=EIGHTH, d=2, N=3), st.permutations(range(3)))
def test_selective_shift_floats_equal_exact_values_on_drawn_inputs(X: torch.Tensor, perm: list[int]) -> None:
    exact_ids = lambda sample: [[v] for v in BIG_SPEC.exact_ids([sample])[0]]  # noqa: E731  an exact evaluator
    assert_matches_reference(
        exact_ids,
        lambda batch: BIG_MODULE(torch.tensor(batch, dtype=torch.float64))[..., None].tolist(),
        X[None],
        exact=True,
    )
    assert_permutation_equivariant(BIG_MODULE, torch.stack([X, X[perm]]), atol=0)  # every permutation, bit for bit
    exact = BIG_SPEC.exact_ids([X.tolist()])[0]
    low, high = BIG_GUARANTEE.band
    assert all(low <= v <= high for v in exact) and len(set(exact)) == 3


@given(grid_inputs(delta=EIGHTH, d=2, N=3), grid_inputs(delta=EIGHTH, d=2, N=3))
def test_selective_shift_values_of_non_permutations_are_disjoint(X: torch.Tensor, Y: torch.Tensor) -> None:
    """Disjoint ids for non-permutations, the same ids for permutations (and distinct within each)."""
    assert_contextual_mapping(BIG_MODULE, X[None], Y[None], delta=EIGHTH)


@given(grid_inputs(delta=EIGHTH, d=2, N=3, distinct_tokens=False))
def test_selective_shift_sends_inputs_with_a_duplicated_token_below_the_band(X: torch.Tensor) -> None:
    values = BIG_MODULE(X[None])[0].tolist()
    low, high = BIG_GUARANTEE.band
    if len(set(points_to_cells(X, 8))) < 3:
        assert all(v < low for v in values)
    else:
        assert all(low <= v <= high for v in values)


@settings(max_examples=8)
@given(grid_inputs(delta=EIGHTH, d=3, N=2), grid_inputs(delta=EIGHTH, d=3, N=2, distinct_tokens=False))
def test_selective_shift_beyond_float64_holds_in_exact_arithmetic(X: torch.Tensor, Y: torch.Tensor) -> None:
    """δ = 1/8, d = 3, N = 2: 513 layers and 55 bits, so only the exact evaluation exists."""
    spec = selective_shift_spec(EIGHTH, d=3, N=2)
    (x_values, y_values) = spec.exact_ids([X.tolist(), Y.tolist()])
    low, high = spec.guarantee.band
    assert all(low <= v <= high for v in x_values)
    assert_contextual_mapping([x_values, y_values], torch.stack([X, Y]), delta=EIGHTH)  # exact ids, compared exactly
    if len(set(points_to_cells(Y, 8))) < 2:
        assert all(v < low for v in y_values)


SMALL_MODULE = build_selective_shift(QUARTER, d=2, N=3).model


@given(cube_points(d=2, N=3), st.permutations(range(3)))
def test_selective_shift_module_is_permutation_equivariant_on_all_inputs(X: torch.Tensor, perm: list[int]) -> None:
    """Attention without positions is equivariant on every input, on the grid or not."""
    assert_permutation_equivariant(SMALL_MODULE, torch.stack([X, X[perm]]), atol=0)


def test_selective_shift_states_its_guarantee_and_builds_distinct_layers() -> None:
    built = build_selective_shift(QUARTER, d=2, N=2)
    module, guarantee = built.model, built.guarantee
    assert (guarantee.layers, guarantee.width, guarantee.heads, guarantee.head_dim, guarantee.ff_width) == (
        17,
        3,
        2,
        1,
        0,
    )
    assert guarantee.claimed_separation == QUARTER and guarantee.precision_bits == 25
    assert len(module.layers) == 17 and len({id(layer) for layer in module.layers}) == 17
    X = cells_to_tensor(np.array([[5, 9]]), 4, 2)
    ids, states = module(X, trace=True)
    assert states.shape == (18, 1, 2, 3) and torch.equal(states[0, 0, :, 0], torch.ones(2, dtype=torch.float64))
    assert torch.equal(ids, states[-1] @ module.id_weights)
    with pytest.raises(InputError, match=r"\[B, 2, 2\]"):
        module(torch.zeros(1, 3, 2, dtype=torch.float64))


def test_selective_shift_refuses_a_dtype_without_the_bits_it_needs() -> None:
    with pytest.raises(PrecisionError, match="needs 33 bits.*float32 has 24"):
        build_selective_shift(QUARTER, d=2, N=3, dtype=torch.float32)
    with pytest.raises(PrecisionError, match="needs 55 bits.*float64 has 53.*exact"):
        build_selective_shift(EIGHTH, d=3, N=2)
    with pytest.raises(PrecisionError, match="needs 12 bits.*float16 has 11"):
        build_selective_shift(QUARTER, d=1, N=2, dtype=torch.float16)
    build_selective_shift(QUARTER, d=1, N=2, dtype=torch.float32)  # 12 bits: float32 is enough


def _forced(delta: Fraction, d: int, N: int, dtype: torch.dtype) -> SelectiveShiftContextualMapping:
    """The module in ``dtype`` with the precision guard bypassed (what the refusal prevents)."""
    spec = selective_shift_spec(delta, d=d, N=N)
    return SelectiveShiftContextualMapping(
        spec, [block_module(layer, dtype=dtype) for layer in spec.layers], dtype=dtype
    )


def test_the_refused_dtypes_would_return_wrong_values() -> None:
    forced = _forced(QUARTER, 2, 3, torch.float32)
    rows = canonical_inputs(16, 3, max_inputs=1000, seed=0)[0][::10]
    exact = selective_shift_spec(QUARTER, d=2, N=3).exact_ids(cells_to_fractions(rows.tolist(), 4, 2))
    floats = forced(cells_to_tensor(rows, 4, 2)).double().tolist()
    assert [[Fraction(v) for v in row] for row in floats] != exact  # float32 does not hold the construction's values
    spec = selective_shift_spec(QUARTER, d=1, N=2)
    half_precision = _forced(QUARTER, 1, 2, torch.float16)
    report = check_contextual_mapping(
        lambda X: half_precision(X).double(),
        delta=QUARTER,
        d=1,
        N=2,
        claimed_separation=spec.guarantee.claimed_separation,
        band=spec.guarantee.band,
    )
    assert not report.passed  # in float16 even the band claim breaks


# ---------------------------------------------------------------------------------------------
# the one-layer softmax contextual mapping (Boltzmann operator)
# ---------------------------------------------------------------------------------------------


@given(cube_points(d=1, N=5), st.sampled_from([0.5, 1.0, 4.0, 20.0]))
def test_the_boltzmann_operator_is_a_weighted_mean_between_the_mean_and_the_max(X: torch.Tensor, scale: float) -> None:
    """boltz(b) = Σ b_i w_i with softmax weights increasing in b_i: mean(b) ≤ boltz(b) ≤ max(b)
    (Chebyshev's sum inequality), up to float64 rounding of 5 terms."""
    b = scale * X[:, 0]
    value = float(boltzmann_operator(b))
    rounding = 8 * 5 * 2.0**-53 * scale
    assert float(b.mean()) - rounding <= value <= float(b.max()) + rounding
    assert float(boltzmann_operator(b.flip(0))) == pytest.approx(value, rel=0, abs=rounding)


def test_the_softmax_spec_computes_the_boltzmann_formula() -> None:
    """c_k = a_k + boltz(λ a_k·a)/(λ a_k D), a = 1 + cell, evaluated independently in mpmath."""
    spec = boltzmann_spec(EIGHTH, d=1, N=3, inverse_temperature=0.75)
    rows, _, _ = canonical_inputs(8, 3, max_inputs=100, seed=0)
    values = spec.ids_mp(cells_to_fractions(rows.tolist(), 8, 1), dps=50)
    with mpmath.workdps(50):
        lam = mpmath.mpf("0.75")
        for row, row_values in zip(rows.tolist(), values):
            a = [mpmath.mpf(c + 1) for c in row]
            for k, value in enumerate(row_values):
                b = [lam * a[k] * ai for ai in a]
                boltz = mpmath.fsum(bi * mpmath.exp(bi) for bi in b) / mpmath.fsum(mpmath.exp(bi) for bi in b)
                assert abs(value - (a[k] + boltz / (lam * a[k] * 8))) < mpmath.mpf(10) ** -45


FLOAT_SOFTMAX = [(HALF, 1, 2), (QUARTER, 1, 2), (QUARTER, 1, 3), (QUARTER, 1, 4), (HALF, 2, 2), (HALF, 2, 3)]


@pytest.mark.parametrize("delta, d, N", FLOAT_SOFTMAX, ids=str)
def test_softmax_mapping_in_float64_above_the_proven_temperature(delta: Fraction, d: int, N: int) -> None:
    built = build_boltzmann(delta, d=d, N=N)
    module, guarantee = built.model, built.guarantee
    assert guarantee.inverse_temperature == DEFAULT_INVERSE_TEMPERATURE > sufficient_inverse_temperature()
    report = check_contextual_mapping(
        module,
        delta=delta,
        d=d,
        N=N,
        claimed_separation=guarantee.claimed_separation,
        tolerance=guarantee.tolerance(torch.float64),
    )
    assert report.passed and report.exhaustive, report.failures


MP_SOFTMAX = [
    *FLOAT_SOFTMAX,
    (EIGHTH, 1, 2),
    (EIGHTH, 1, 3),
    (EIGHTH, 1, 4),
    (EIGHTH, 1, 6),
    (HALF, 3, 2),
    (QUARTER, 2, 2),
]


@pytest.mark.parametrize("delta, d, N", MP_SOFTMAX, ids=str)
def test_softmax_mapping_in_high_precision_meets_its_exponentially_small_claim(delta: Fraction, d: int, N: int) -> None:
    spec = boltzmann_spec(delta, d=d, N=N)
    report = check_contextual_mapping(
        spec.ids_mp,
        delta=delta,
        d=d,
        N=N,
        exact=True,
        claimed_separation=spec.guarantee.claimed_separation,
        max_permuted=200,
    )
    assert report.passed and report.exhaustive, report.failures


@pytest.mark.parametrize(
    "delta, d, N, lam", [(QUARTER, 1, 3, 2.0), (HALF, 2, 3, 1.0), (EIGHTH, 1, 3, 0.5), (EIGHTH, 1, 5, 1.5)], ids=str
)
def test_softmax_float64_values_are_within_the_stated_rounding_bound(
    delta: Fraction, d: int, N: int, lam: float
) -> None:
    spec = boltzmann_spec(delta, d=d, N=N, inverse_temperature=lam)
    module = BoltzmannContextualMapping(spec, dtype=torch.float64)
    steps = delta.denominator
    rows, _, _ = canonical_inputs(steps**d, N, max_inputs=1000, seed=0)
    floats = module(cells_to_tensor(rows, steps, d)).tolist()
    reference = spec.ids_mp(cells_to_fractions(rows.tolist(), steps, d))
    bound = spec.guarantee.roundoff_factor * 2.0**-53
    worst = max(abs(mpmath.mpf(f) - r) for frow, rrow in zip(floats, reference) for f, r in zip(frow, rrow))
    assert worst <= bound


def test_softmax_mapping_refuses_dtypes_that_cannot_resolve_its_separation() -> None:
    with pytest.raises(PrecisionError, match="needs 36 bits.*float32 has 24"):
        build_boltzmann(QUARTER, d=1, N=3, dtype=torch.float32)
    with pytest.raises(PrecisionError, match="needs 155 bits.*float64 has 53"):
        build_boltzmann(EIGHTH, d=1, N=3)
    guarantee = build_boltzmann(EIGHTH, d=1, N=3, inverse_temperature=0.5).guarantee  # below λ₀: no claim
    assert guarantee.claimed_separation is None and guarantee.precision_bits is None


ONSET_CASES = [(QUARTER, 1, 2), (QUARTER, 1, 3), (HALF, 2, 3), (EIGHTH, 1, 4)]


@pytest.mark.parametrize("delta, d, N", ONSET_CASES, ids=str)
def test_softmax_property_fails_at_the_onset_and_holds_above_it(delta: Fraction, d: int, N: int) -> None:
    onset = softmax_onset(delta, d=d, N=N, rel_tol=1e-6)
    assert onset.witness is not None and 0 < onset.upper - onset.lower <= 1e-6 * onset.upper
    assert onset.upper < sufficient_inverse_temperature()  # the proven λ₀ is sufficient, not sharp
    # fails: the witness difference changes sign on [lower, upper], so two non-permutation inputs
    # share a value there; refined, the checker sees the collision
    lam_c, difference = collision_point(onset)
    assert onset.lower <= lam_c <= onset.upper and abs(difference) < mpmath.mpf(10) ** -40
    spec_c = boltzmann_spec(delta, d=d, N=N, inverse_temperature=lam_c)
    at_collision = check_contextual_mapping(
        lambda batch: spec_c.ids_mp(batch, dps=60),
        delta=delta,
        d=d,
        N=N,
        exact=True,
        tolerance=1e-40,
        max_permuted=0,
    )
    assert at_collision.disjoint_across_inputs is False
    module_c = BoltzmannContextualMapping(spec_c, dtype=torch.float64)
    in_floats = check_contextual_mapping(
        module_c, delta=delta, d=d, N=N, tolerance=spec_c.guarantee.tolerance(torch.float64)
    )
    assert in_floats.disjoint_across_inputs is False
    # holds: at the upper end and on a grid of temperatures above it
    steps = delta.denominator
    rows, _, _ = canonical_inputs(steps**d, N, max_inputs=5000, seed=0)
    for lam in [onset.upper, *np.geomspace(onset.upper * 1.01, 1.25 * sufficient_inverse_temperature(), 8)]:
        spec = boltzmann_spec(delta, d=d, N=N, inverse_temperature=float(lam))
        assert not order_violations(spec, rows, spec.default_dps()), lam
        report = check_contextual_mapping(spec.ids_mp, delta=delta, d=d, N=N, exact=True, max_permuted=50)
        assert report.passed, (lam, report.failures)


def test_float64_softmax_mapping_holds_just_above_the_onset() -> None:
    onset = softmax_onset(QUARTER, d=1, N=3)
    built = build_boltzmann(QUARTER, d=1, N=3, inverse_temperature=1.05 * onset.upper)
    module, guarantee = built.model, built.guarantee
    assert guarantee.claimed_separation is None  # below λ₀: measured, not claimed
    report = check_contextual_mapping(module, delta=QUARTER, d=1, N=3, tolerance=guarantee.tolerance(torch.float64))
    assert report.passed and report.measured_separation > 1e-6, report.failures


def test_witness_difference_is_a_continuous_sign_change() -> None:
    onset = softmax_onset(QUARTER, d=1, N=2)
    assert witness_difference(onset, onset.lower) >= 0 > witness_difference(onset, onset.upper)
