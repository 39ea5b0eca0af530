"""Newton–Schulz inversion as a looped linear-attention transformer.

References are computed independently in numpy float64: the matrix iteration
X_{t+1} = X_t(2I − AX_t) and the closed form I − AX_t = (I − AX_0)^{2^t}.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.constructions.newton_schulz import (
    build_newton_schulz,
    default_alpha,
    looped_newton_schulz,
    newton_schulz_state_dict,
)
from loopbound.theory.bounds.regression import (
    NS_LOOPS_KAPPA_SPD,
    NS_LOOPS_KAPPA_TRANSPOSE,
    NS_LOOPS_TO_EPSILON,
    NS_RESIDUAL,
)
from loopbound.theory.errors import InputError


def _matrices(seed: int, B: int, m: int, kappa: float, symmetric: bool) -> np.ndarray:
    """Batches with singular values geometric from 1 to 1/κ (SPD when ``symmetric``)."""
    rng = np.random.default_rng(seed)
    values = np.geomspace(1.0, 1.0 / kappa, m)
    Q = np.linalg.qr(rng.standard_normal((B, m, m)))[0]
    if symmetric:
        A = Q @ (values[None, :, None] * Q.transpose(0, 2, 1))
        return (A + A.transpose(0, 2, 1)) / 2
    P = np.linalg.qr(rng.standard_normal((B, m, m)))[0]
    return Q @ (values[None, :, None] * P.transpose(0, 2, 1))


def _start(A: np.ndarray, alpha: float, init: str) -> np.ndarray:
    return alpha * (np.broadcast_to(np.eye(A.shape[1]), A.shape) if init == "identity" else A.transpose(0, 2, 1))


@given(
    m=st.integers(1, 6),
    kappa=st.floats(1.5, 200.0),
    init=st.sampled_from(["identity", "transpose"]),
    loops=st.integers(0, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_loops_are_newton_schulz_steps(m: int, kappa: float, init: str, loops: int, seed: int) -> None:
    A = _matrices(seed, 3, m, kappa, symmetric=init == "identity")
    alpha = default_alpha(torch.from_numpy(A), init)
    iterates = looped_newton_schulz(A, loops=loops, alpha=alpha, init=init, trace=True).numpy()
    X = _start(A, alpha, init)
    eye = np.eye(m)
    for t in range(loops + 1):
        error = np.abs(iterates[t] - X).max(axis=(1, 2))
        assert np.all(error <= 1e-10 * np.abs(X).max(axis=(1, 2))), (t, error)
        X = X @ (2 * eye - A @ X)


@pytest.mark.parametrize("init", ["identity", "transpose"])
@pytest.mark.parametrize("kappa", [3.0, 30.0])
def test_residual_is_the_initial_residual_to_the_power_two_to_the_t(init: str, kappa: float) -> None:
    A = _matrices(7, 4, 5, kappa, symmetric=init == "identity")
    alpha = default_alpha(torch.from_numpy(A), init)
    iterates = looped_newton_schulz(A, loops=5, alpha=alpha, init=init, trace=True).numpy()
    eye = np.eye(5)
    initial = eye - A @ _start(A, alpha, init)
    checked = 0
    for t in range(6):
        power = np.linalg.matrix_power(initial, 2**t)
        scale = np.linalg.norm(power, 2, axis=(1, 2))
        if scale.min() < 1e-3:  # below, the residual I − AX_t is dominated by its rounding (~κ·u)
            break
        difference = np.linalg.norm((eye - A @ iterates[t]) - power, 2, axis=(1, 2))
        assert np.all(difference <= 1e-10 * scale), (t, difference / scale)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    ("init", "kappa"), [("identity", 10.0), ("identity", 1000.0), ("transpose", 10.0), ("transpose", 100.0)]
)
def test_residual_norm_meets_its_bound_and_loops_to_epsilon(init: str, kappa: float) -> None:
    """For symmetric I − AX_0 the bound ‖I − AX_t‖₂ ≤ ρ₀^{2^t} is an equality; checked where the
    bound is ≥ 1e-4 (the float64 residual has an absolute rounding error of order κ·u)."""
    A = _matrices(11, 6, 8, kappa, symmetric=init == "identity")
    alpha = 2 / (1 + 1 / kappa) if init == "identity" else 1.0
    loops = 30
    iterates = looped_newton_schulz(A, loops=loops, alpha=alpha, init=init, trace=True).numpy()
    residual = np.linalg.norm(np.eye(8) - A @ iterates, 2, axis=(2, 3))  # [T + 1, B]
    rho0 = residual[0]
    expected_rho0 = (kappa - 1) / (kappa + 1) if init == "identity" else 1 - 1 / kappa**2
    np.testing.assert_allclose(rho0, expected_rho0, rtol=1e-12)
    checked = 0
    for t in range(loops + 1):
        bound = np.asarray(NS_RESIDUAL.evaluate(rho0=rho0, t=t))
        if bound.min() >= 1e-4:
            np.testing.assert_allclose(residual[t], bound, rtol=1e-8)
            checked += 1
    assert checked >= 3
    epsilon = 1e-8
    predicted = int(NS_LOOPS_TO_EPSILON.evaluate(rho0=float(rho0.max()), epsilon=epsilon))
    kappa_form = (NS_LOOPS_KAPPA_SPD if init == "identity" else NS_LOOPS_KAPPA_TRANSPOSE).evaluate(
        kappa=kappa, epsilon=epsilon
    )
    measured = [int(np.argmax(residual[:, b] <= epsilon)) for b in range(6)]
    assert all(residual[m, b] <= epsilon for b, m in enumerate(measured))
    assert max(measured) <= predicted <= kappa_form
    assert max(measured) == predicted  # the bound is attained: I − AX_0 is symmetric


def test_the_block_is_one_standard_linear_attention_head() -> None:
    built = build_newton_schulz(4, alpha=0.5, init="identity", loops=3)
    attention = built.model.block.attention
    assert attention.kind == "linear" and attention.heads == 1 and attention.head_dim == 8
    assert (built.guarantee.embedding_width, built.guarantee.parameter_count) == (12, built.model.parameter_count())
    assert (built.guarantee.heads, built.guarantee.head_size) == (1, 8)
    for parameter in built.model.block.feed_forward.parameters():
        assert torch.count_nonzero(parameter) == 0
    weights = newton_schulz_state_dict(4, alpha=0.5, init="identity")
    assert set(built.model.state_dict()) == set(weights)
    missing = dict(weights)
    missing.pop("block.attention.W_K")
    with pytest.raises(RuntimeError, match="Missing key"):
        built.model.load_state_dict(missing, strict=True)


def test_one_by_one_is_the_scalar_iteration() -> None:
    a = 4.0
    iterates = looped_newton_schulz(np.array([[[a]]]), loops=6, alpha=0.1, trace=True)[:, 0, 0, 0].numpy()
    x = 0.1
    for t in range(7):
        assert iterates[t] == pytest.approx(x, rel=1e-14)
        x = x * (2 - a * x)
    assert iterates[-1] == pytest.approx(1 / a, rel=1e-12)


BAD = {
    "not square": ({"A": np.ones((2, 3, 4)), "loops": 2}, "square matrices"),
    "not a batch": ({"A": np.eye(3), "loops": 2}, "square matrices"),
    "NaN": ({"A": np.array([[[1.0, np.nan], [0.0, 1.0]]]), "loops": 2}, "NaN or infinite"),
    "loops negative": ({"A": np.eye(2)[None], "loops": -1}, "loops must be >= 0"),
    "alpha zero": ({"A": np.eye(2)[None], "loops": 2, "alpha": 0.0}, "alpha must be"),
    "alpha NaN": ({"A": np.eye(2)[None], "loops": 2, "alpha": float("nan")}, "alpha must be"),
    "unknown init": ({"A": np.eye(2)[None], "loops": 2, "init": "zero"}, "init must be"),
    "identity start needs SPD": (
        {"A": np.array([[[1.0, 2.0], [0.0, 1.0]]]), "loops": 2},
        "symmetric positive definite",
    ),
    "singular": ({"A": np.zeros((1, 2, 2)), "loops": 2, "init": "transpose"}, "not invertible"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clear_line(case: str) -> None:
    arguments, message = BAD[case]
    arguments = dict(arguments)
    A = arguments.pop("A")
    with pytest.raises(InputError, match=message) as raised:
        looped_newton_schulz(A, **arguments)
    assert "\n" not in str(raised.value)
