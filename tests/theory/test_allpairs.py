"""The all-pairs estimate equals the exact all-pairs value (brute force with scipy), with the
cancellation-prone cases included, and its witnesses attain it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from loopbound.theory.errors import InputError
from loopbound.theory.modulus_allpairs import all_pairs_modulus


def brute_force(x: np.ndarray, y: np.ndarray, deltas, p: float) -> list[float]:
    din = pdist(x.reshape(len(x), -1))
    dout = pdist(y.reshape(len(y), -1), "minkowski", p=p)
    return [float(dout[din <= delta].max()) if (din <= delta).any() else 0.0 for delta in deltas]


def check(x: np.ndarray, y: np.ndarray, deltas, p: float, **tiles) -> None:
    result = all_pairs_modulus(x, y, deltas, p=p, **tiles)
    expected = brute_force(x, y, sorted(set(deltas)), p)
    for point, value in zip(result.points, expected):
        assert point.value == pytest.approx(value, rel=1e-12, abs=1e-300)
        if point.pair is not None:
            i, j = point.pair
            assert np.linalg.norm(x[i] - x[j]) <= point.delta
            assert np.linalg.norm((y[i] - y[j]).ravel(), ord=p) == pytest.approx(point.value, rel=1e-12)
    assert result.pairs == len(x) * (len(x) - 1) // 2


@given(
    n=st.integers(2, 200),
    dims=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    p=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    tiles=st.tuples(st.integers(8, 64), st.integers(8, 96)),
    seed=st.integers(0, 2**16),
)
def test_equals_brute_force_for_any_tiling(n, dims, p, tiles, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random((n, dims[0]))
    y = np.tanh(x @ rng.normal(size=dims) * 3)
    deltas = list(np.geomspace(0.01, 2.5, 7))
    check(x, y, deltas, p, tile_rows=tiles[0], tile_cols=tiles[1])


def test_large_block_with_default_tiles_equals_brute_force() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((2600, 8))
    y = np.sin(x @ rng.normal(size=(8, 8)))
    check(x, y, list(np.geomspace(0.05, 1.5, 9)), 2.0)


def test_near_duplicates_far_from_the_origin() -> None:
    """‖x‖² + ‖y‖² − 2x·y cancels for close pairs with large norms; the estimate must still be the
    exact float64 value (centring, the fp32 error margin, the float64 recheck)."""
    rng = np.random.default_rng(2)
    x = rng.random((600, 16)) * 1e3
    x[1::2] = x[0::2] + 1e-6 * rng.normal(size=(300, 16))
    y = np.sin(x)
    check(x, y, [1e-6, 3e-6, 1e-5, 1e-3, 1.0], 2.0)


def test_no_pair_within_delta_gives_zero_without_a_witness() -> None:
    x = np.array([[0.0], [1.0]])
    result = all_pairs_modulus(x, x, [0.5])
    assert result.points[0].value == 0.0 and result.points[0].pair is None


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.zeros((3, 2)), np.zeros((4, 2)), "same number of samples"),
        (np.zeros((1, 2)), np.zeros((1, 2)), "at least 2 samples"),
        (np.array([[0.0], [np.nan]]), np.zeros((2, 1)), "NaN or inf"),
        (np.zeros(3), np.zeros(3), "shape"),
    ],
)
def test_bad_samples_are_input_errors(x, y, message: str) -> None:
    with pytest.raises(InputError, match=message):
        all_pairs_modulus(x, y, [0.1])


def test_huge_outputs_do_not_overflow_the_fp32_filter() -> None:
    """Outputs of 1e20 overflow fp32 squared norms; the features are rescaled by powers of two, so
    the estimate is still the exact all-pairs value (found by review: it used to drop every pair
    outside the seed block)."""
    rng = np.random.default_rng(3)
    x = rng.random((1500, 2))
    check(x, 1e20 * np.sin(5 * x), [0.01, 0.05, 0.3], 2.0)
    check(x, 1e-25 * np.sin(5 * x), [0.01, 0.05, 0.3], 2.0)
