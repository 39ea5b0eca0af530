"""The strategies for a researcher's own construction draw what they promise, on every draw, with
thresholds and cells checked in exact rational arithmetic; bad arguments raise when the strategy is
built (not at the first draw)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.testing import strategies as lbst

DELTAS = [Fraction(1, 2), Fraction(1, 4), 0.125, 0.1, Fraction(1, 3)]
"""Grid scales δ = 1/m, as Fractions and as floats (0.1 and 1/3 are not binary fractions)."""


def _m(delta: float | Fraction) -> int:
    return round(1 / Fraction(delta).limit_denominator(1000))


def _cells(X: torch.Tensor, m: int) -> list[tuple[int, ...]]:
    """The grid cell ⌊x·m⌋ of every token, exactly."""
    return [tuple(math.floor(Fraction(x) * m) for x in row.tolist()) for row in X]


def _grid_ids(X: torch.Tensor, m: int) -> list[tuple[int, ...]]:
    """The grid index k of every coordinate of a grid sequence, checking that each coordinate is
    the float64 nearest to k/m (exactly k/m when m is a power of two)."""
    indices = [[round(x * m) for x in row.tolist()] for row in X]
    for row, ks in zip(X.tolist(), indices):
        assert all(0 <= k < m and x == float(Fraction(k, m)) for x, k in zip(row, ks)), f"off the grid: {X}"
    return [tuple(ks) for ks in indices]


@given(data=st.data())
def test_off_band_points_keep_their_distance_from_every_threshold(data: st.DataObject) -> None:
    delta = data.draw(st.sampled_from(DELTAS))
    m = _m(delta)
    band = data.draw(st.sampled_from([Fraction(1, 4 * m), 1e-9, 0.49 / m, Fraction(1, 2 * m) - Fraction(1, 10**12)]))
    d, N = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    X = data.draw(lbst.off_band_points(delta=delta, d=d, N=N, band=band))
    assert X.shape == (N, d) and X.dtype == torch.float64
    for x in X.flatten().tolist():
        assert 0 <= x <= 1
        nearest = min(abs(Fraction(x) - Fraction(k, m)) for k in range(1, m + 1))
        assert nearest >= Fraction(band), f"{x!r} is {float(nearest)} from a threshold, band {band}"


@pytest.mark.parametrize("band", [0, -0.01, 0.125, 0.2, float("nan"), float("inf"), "wide"])
def test_off_band_points_refuse_a_band_outside_zero_to_half_delta(band: object) -> None:
    with pytest.raises(ValueError, match="band"):
        lbst.off_band_points(delta=0.25, d=1, N=1, band=band)  # type: ignore[arg-type]


@given(data=st.data())
def test_collision_free_points_put_every_token_in_its_own_cell(data: st.DataObject) -> None:
    delta = data.draw(st.sampled_from(DELTAS))
    m, d = _m(delta), data.draw(st.integers(1, 2))
    N = data.draw(st.integers(1, min(5, m**d)))
    X = data.draw(lbst.collision_free_points(delta=delta, d=d, N=N))
    assert X.shape == (N, d) and bool(((X >= 0) & (X < 1)).all())
    cells = _cells(X, m)
    assert len(set(cells)) == N, f"two tokens share a cell: {cells}"


@given(data=st.data())
def test_grid_sequences_and_permutations(data: st.DataObject) -> None:
    delta = data.draw(st.sampled_from(DELTAS))
    m, d = _m(delta), data.draw(st.integers(1, 2))
    N = data.draw(st.integers(1, min(5, m**d)))
    X = data.draw(lbst.grid_sequences(delta=delta, d=d, N=N))
    assert len(set(_grid_ids(X, m))) == N
    order = data.draw(lbst.permutations(N=N))
    assert sorted(order) == list(range(N))
    Z, Y, pi = data.draw(lbst.permuted_grid_sequences(delta=delta, d=d, N=N))
    assert torch.equal(Y, Z[list(pi)]) and sorted(pi) == list(range(N))
    assert sorted(_grid_ids(Y, m)) == sorted(_grid_ids(Z, m)) and len(set(_grid_ids(Z, m))) == N


@given(data=st.data())
def test_non_equivalent_grid_pairs_are_not_permutations_of_each_other(data: st.DataObject) -> None:
    delta = data.draw(st.sampled_from(DELTAS))
    m, d = _m(delta), data.draw(st.integers(1, 2))
    N = data.draw(st.integers(1, min(5, m**d - 1)))
    X, Y = data.draw(lbst.non_equivalent_grid_pairs(delta=delta, d=d, N=N))
    x_ids, y_ids = _grid_ids(X, m), _grid_ids(Y, m)
    assert len(set(x_ids)) == N and len(set(y_ids)) == N, "tokens of one sequence must be distinct"
    assert set(x_ids) != set(y_ids), f"{x_ids} and {y_ids} are permutations of each other"


def test_non_equivalent_grid_pairs_reach_the_pairs_that_differ_in_one_token() -> None:
    """The hard case is drawn: pairs sharing all tokens but one (a strategy that only drew disjoint
    sequences would pass the test above and miss most collisions)."""
    shared: list[int] = []

    @given(lbst.non_equivalent_grid_pairs(delta=0.25, d=1, N=3))
    def record(pair: tuple[torch.Tensor, torch.Tensor]) -> None:
        X, Y = pair
        shared.append(len(set(_grid_ids(X, 4)) & set(_grid_ids(Y, 4))))

    record()
    assert max(shared) == 2


def test_strategies_refuse_bad_arguments_when_built() -> None:
    with pytest.raises(ValueError, match="integer"):
        lbst.collision_free_points(delta=0.3, d=1, N=1)
    with pytest.raises(ValueError, match="do not fit"):
        lbst.collision_free_points(delta=0.5, d=1, N=3)
    with pytest.raises(ValueError, match="d and N"):
        lbst.grid_sequences(delta=0.5, d=0, N=1)
    with pytest.raises(ValueError, match="N must be"):
        lbst.permutations(N=0)
    with pytest.raises(ValueError, match="permutations of each other"):
        lbst.non_equivalent_grid_pairs(delta=0.5, d=1, N=2)
    with pytest.raises(ValueError, match="integer"):
        lbst.permuted_grid_sequences(delta=2, d=1, N=1)


@given(data=st.data())
def test_regression_prompts_control_the_condition_number(data: st.DataObject) -> None:
    d = data.draw(st.integers(1, 4))
    n = data.draw(st.integers(d, 8))
    kappa = data.draw(st.sampled_from([1.0, 2.0, 10.0, 1e4]))
    noise = data.draw(st.sampled_from([0.0, 0.1]))
    prompt = data.draw(lbst.regression_prompts(d=d, n=n, kappa=kappa, noise=noise))
    assert prompt.X.shape == (n, d) and prompt.y.shape == (n,) and prompt.w.shape == prompt.x_query.shape == (d,)
    assert all(t.dtype == torch.float64 for t in (prompt.X, prompt.y, prompt.w, prompt.x_query))
    assert float(prompt.w.abs().max()) <= 1 and float(prompt.x_query.abs().max()) <= 1
    eigenvalues = torch.linalg.eigvalsh(prompt.X.T @ prompt.X / n)
    # Rounding only: X is built in float64 from eigenvalues in [1, kappa] (a relative 1e-9 is
    # about 10⁶ ulps, far above the rounding of a QR and two products at these sizes).
    assert float(eigenvalues.min()) >= 1 - 1e-9 and float(eigenvalues.max()) <= kappa * (1 + 1e-9)
    assert prompt.kappa == pytest.approx(float(eigenvalues.max() / eigenvalues.min()), rel=1e-9)
    assert 1 - 1e-9 <= prompt.kappa <= kappa * (1 + 1e-9) and prompt.noise == noise
    residual = prompt.y - prompt.X @ prompt.w
    assert (float(residual.abs().max()) == 0) == (noise == 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"d": 0, "n": 3}, "n >= d"),
        ({"d": 3, "n": 2}, "n >= d"),
        ({"d": 2, "n": 3, "kappa": 0.5}, "kappa"),
        ({"d": 2, "n": 3, "kappa": float("inf")}, "kappa"),
        ({"d": 2, "n": 3, "noise": -1.0}, "noise"),
        ({"d": 2, "n": 3, "noise": float("nan")}, "noise"),
    ],
)
def test_regression_prompts_refuse_bad_arguments_when_built(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lbst.regression_prompts(**kwargs)  # type: ignore[arg-type]
