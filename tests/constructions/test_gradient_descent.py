"""The looped-GD construction: r loops of the transformer are r steps of gradient descent.

The reference is plain (preconditioned) gradient descent written out in numpy float64, independent
of torch and of the construction (:func:`loopbound.testing.assert_equals_gradient_descent`):
w ← w − ηA·Xᵀ(Xw − y)/n from w = 0, prediction x_qᵀw.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.constructions.gradient_descent import build_gd_transformer, gd_state_dict, gd_tokens, looped_gd_predict
from loopbound.testing import assert_equals_gradient_descent
from loopbound.theory.errors import InputError


def _problem(seed: int, B: int, n: int, d: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, n, d)), rng.standard_normal((B, n)), rng.standard_normal((B, m, d))


def _largest_rate(X: np.ndarray, A: np.ndarray | None) -> float:
    """max over the batch of λ_max(AH), H = XᵀX/n (real and ≥ 0 for symmetric positive definite A)."""
    H = np.einsum("bnd,bne->bde", X, X) / X.shape[1]
    M = H if A is None else A[None] @ H
    return float(np.abs(np.linalg.eigvals(M)).max())


@given(
    d=st.integers(1, 6),
    n=st.integers(1, 12),
    loops=st.integers(0, 40),
    step=st.floats(0.05, 0.99),
    preconditioned=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_r_loops_equal_r_steps_of_plain_gradient_descent(
    d: int, n: int, loops: int, step: float, preconditioned: bool, seed: int
) -> None:
    """Every loop 0..r, relative 1e-10 at the prediction's own scale ‖x_q‖‖w_r‖: an inner product
    is rounded relative to that, and a prediction near 0 by cancellation has no relative digits to
    compare (measured over 400 random draws: ≤ 3.2e-13 at this scale; up to 4.9e-11 against |ŷ| itself)."""
    X, y, queries = _problem(seed, 3, n, d, 2)
    A = None
    if preconditioned:
        M = np.random.default_rng(seed + 1).standard_normal((d, d))
        A = M @ M.T / d + 0.1 * np.eye(d)  # symmetric positive definite
    eta = step * 2.0 / _largest_rate(X, A)  # a convergent step: ρ < 1
    every_loop = partial(looped_gd_predict, loops=loops, eta=eta, preconditioner=A, trace=True)
    assert_equals_gradient_descent(every_loop, X, y, queries, loops=loops, eta=eta, preconditioner=A, rtol=1e-10)


@pytest.mark.parametrize(
    ("d", "n", "eta", "loops"), [(1, 1, 0.3, 7), (3, 20, 1.7, 12), (5, 4, 0.01, 60), (8, 64, 0.5, 30)]
)
def test_nonsymmetric_preconditioner_and_divergent_steps_are_still_exactly_gd(
    d: int, n: int, eta: float, loops: int
) -> None:
    """Exactness is algebra, not convergence: a non-symmetric A, and η past 2/λ_max where GD
    diverges, give the same iterates as plain GD."""
    X, y, queries = _problem(d * 100 + n, 4, n, d, 3)
    A = np.random.default_rng(n).standard_normal((d, d))
    diverging = 2.5 / _largest_rate(X, None)
    for step, preconditioner in ((eta, None), (eta, A), (diverging, None)):
        predict = partial(looped_gd_predict, loops=loops, eta=step, preconditioner=preconditioner)
        assert_equals_gradient_descent(
            predict, X, y, queries, loops=loops, eta=step, preconditioner=preconditioner, relative_to="prediction"
        )


@given(d=st.integers(1, 5), extra=st.integers(1, 10), loops=st.integers(1, 25), seed=st.integers(0, 2**32 - 1))
def test_every_loop_leaves_the_residuals_in_the_y_slots_and_the_x_slots_unchanged(
    d: int, extra: int, loops: int, seed: int
) -> None:
    """The docstring's invariant: after t loops, ỹ_j = y_j − w_tᵀx_j (examples), −w_tᵀx_q (queries)."""
    n = d + extra
    X, y, queries = _problem(seed, 2, n, d, 2)
    eta = 1.0 / _largest_rate(X, None)
    built = build_gd_transformer(d, n, eta=eta, loops=loops)
    tokens, key_mask = gd_tokens(*(torch.from_numpy(a) for a in (X, y, queries)))
    _, states = built.model(tokens, trace=True, key_mask=key_mask)  # [loops + 1, B, n + m, d + 1]
    w = np.zeros((2, d))
    for t in range(loops + 1):
        state = states[t].numpy()
        assert np.array_equal(state[:, :, :d], tokens[:, :, :d].numpy())
        expected = np.concatenate([y - np.einsum("bnd,bd->bn", X, w), -np.einsum("bmd,bd->bm", queries, w)], axis=1)
        error = np.abs(state[:, :, d] - expected).max(axis=1)
        assert np.all(error <= 1e-10 * np.abs(expected).max(axis=1)), (t, error)
        w = w - eta * np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w) - y) / n


def test_queries_are_not_keys_so_they_do_not_influence_each_other() -> None:
    X, y, queries = _problem(5, 3, 9, 4, 5)
    together = looped_gd_predict(X, y, queries, loops=15, eta=0.2)
    for q in range(5):
        alone = looped_gd_predict(X, y, queries[:, q], loops=15, eta=0.2)
        torch.testing.assert_close(alone, together[:, q], rtol=1e-10, atol=0)


def test_shapes_trace_and_the_last_traced_loop_is_the_output() -> None:
    X, y, queries = _problem(1, 2, 6, 3, 1)
    single = looped_gd_predict(X, y, queries[:, 0], loops=9, eta=0.4)
    traced = looped_gd_predict(X, y, queries[:, 0], loops=9, eta=0.4, trace=True)
    assert single.shape == (2,) and traced.shape == (10, 2)
    assert torch.equal(traced[-1], single)
    assert torch.equal(traced[0], torch.zeros(2, dtype=torch.float64))  # w_0 = 0
    many = looped_gd_predict(X, y, queries, loops=9, eta=0.4, trace=True)
    assert many.shape == (10, 2, 1)


def test_weights_are_von_oswalds_and_are_loaded_strictly() -> None:
    d, n, eta = 3, 7, 0.35
    weights = gd_state_dict(d, n, eta=eta)
    block = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    block[:d, :d] = torch.eye(d, dtype=torch.float64)
    assert torch.equal(weights["block.attention.W_Q"][0], block)
    assert torch.equal(weights["block.attention.W_K"][0], block)
    value = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    value[d, d] = -1.0  # [[0, 0], [W_0 = 0, −1]]
    assert torch.equal(weights["block.attention.W_V"][0], value)
    projection = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    projection[d, d] = eta / n
    assert torch.equal(weights["block.attention.W_O"][0], projection)
    built = build_gd_transformer(d, n, eta=eta, loops=4)
    assert built.model.block.attention.kind == "linear"
    g = built.guarantee
    assert (g.embedding_width, g.heads, g.head_size, g.claimed_error, g.ff_width) == (d + 1, 1, d + 1, 0.0, 0)
    assert g.parameter_count == built.model.parameter_count()
    assert set(built.model.state_dict()) == set(weights)
    missing = dict(weights)
    missing.pop("block.attention.W_O")
    with pytest.raises(RuntimeError, match="Missing key"):
        built.model.load_state_dict(missing, strict=True)
    misshapen = dict(weights, **{"block.attention.W_O": torch.zeros(1, d, d + 1, dtype=torch.float64)})
    with pytest.raises(RuntimeError, match="size mismatch"):
        built.model.load_state_dict(misshapen, strict=True)


def _good() -> dict:
    X, y, queries = _problem(0, 2, 5, 3, 1)
    return {"X": X, "y": y, "x_query": queries[:, 0], "loops": 3, "eta": 0.5}


def _nan(array: np.ndarray, value: float = np.nan) -> np.ndarray:
    array = array.copy()
    array.flat[1] = value
    return array


BAD_INPUTS = {
    "y length differs from X": (lambda g: {**g, "y": g["y"][:, :-1]}, "y must be"),
    "batch of y differs": (lambda g: {**g, "y": g["y"][:1]}, "y must be"),
    "query dimension differs": (lambda g: {**g, "x_query": np.ones((2, 4))}, "x_query must be"),
    "batch of queries differs": (lambda g: {**g, "x_query": np.ones((3, 3))}, "x_query must be"),
    "X not 3-d": (lambda g: {**g, "X": g["X"][0]}, "X must be"),
    "eta zero": (lambda g: {**g, "eta": 0.0}, "eta must be"),
    "eta negative": (lambda g: {**g, "eta": -0.1}, "eta must be"),
    "eta NaN": (lambda g: {**g, "eta": float("nan")}, "eta must be"),
    "eta infinite": (lambda g: {**g, "eta": float("inf")}, "eta must be"),
    "loops negative": (lambda g: {**g, "loops": -1}, "loops must be >= 0"),
    "loops not an integer": (lambda g: {**g, "loops": 2.5}, "loops must be an integer"),
    "NaN in X": (lambda g: {**g, "X": _nan(g["X"])}, "X contains NaN"),
    "NaN in y": (lambda g: {**g, "y": _nan(g["y"])}, "y contains NaN"),
    "inf in x_query": (lambda g: {**g, "x_query": _nan(g["x_query"], np.inf)}, "x_query contains NaN or infinite"),
    "preconditioner shape": (lambda g: {**g, "preconditioner": np.eye(2)}, "preconditioner must be"),
    "NaN in preconditioner": (lambda g: {**g, "preconditioner": _nan(np.eye(3))}, "preconditioner contains NaN"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line(case: str) -> None:
    change, message = BAD_INPUTS[case]
    arguments = change(_good())
    X, y, x_query = arguments.pop("X"), arguments.pop("y"), arguments.pop("x_query")
    with pytest.raises(InputError, match=message) as raised:
        looped_gd_predict(X, y, x_query, **arguments)
    assert "\n" not in str(raised.value)


def test_float32_runs_and_is_close_to_float64() -> None:
    X, y, queries = _problem(3, 2, 10, 3, 1)
    exact = looped_gd_predict(X, y, queries, loops=20, eta=0.1)
    single = looped_gd_predict(X, y, queries, loops=20, eta=0.1, dtype=torch.float32)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), exact, rtol=1e-4, atol=1e-5)
