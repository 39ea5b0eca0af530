"""The looped-GD assertion: a model's predictions against r steps of (preconditioned) gradient
descent from 0 on L(w) = (1/2n)Σ(wᵀx_i − y_i)², computed independently in numpy float64
(docs/theory.md §6; von Oswald et al. 2023, Prop. 1; Ahn et al. 2023 for the preconditioned step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.gradient_descent import gd_tokens
from loopbound.testing.construction_assertions import float64_tensor, one_line

__all__ = ["GD_RTOL", "assert_equals_gradient_descent", "gradient_descent_predictions"]

GD_RTOL = 1e-10
"""The default tolerance of :func:`assert_equals_gradient_descent`, relative to the scale
‖x_q‖·‖w_r‖ a prediction x_qᵀw_r is computed at (measured on random problems: ≤ 3.2e-13)."""


def gradient_descent_predictions(
    X: np.ndarray, y: np.ndarray, queries: np.ndarray, *, loops: int, eta: float, preconditioner: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions x_qᵀw_r [loops + 1, B, m] of r = 0 … loops steps w ← w − ηA∇L(w) from w = 0 on
    L(w) = (1/2n)Σ(wᵀx_i − y_i)² (A = ``preconditioner``, default I), in numpy float64; and the scale
    ‖x_q‖·‖w_r‖ [loops + 1, B, m] each is computed at. X [B, n, d], y [B, n], queries [B, m, d]."""
    B, n, d = X.shape
    A = np.eye(d) if preconditioner is None else np.asarray(preconditioner, dtype=np.float64)
    w = np.zeros((B, d))
    q_norm = np.linalg.norm(queries, axis=2)
    out, size = [np.einsum("bmd,bd->bm", queries, w)], [q_norm * 0.0]
    for _ in range(loops):
        gradient = np.einsum("bnd,bn->bd", X, np.einsum("bnd,bd->bn", X, w) - y) / n
        w = w - eta * gradient @ A.T
        out.append(np.einsum("bmd,bd->bm", queries, w))
        size.append(q_norm * np.linalg.norm(w, axis=1)[:, None])
    return np.stack(out), np.stack(size)


def _model_trace(model: Any, X: np.ndarray, y: np.ndarray, queries: np.ndarray, loops: int, single: bool) -> np.ndarray:
    """The model's predictions as [loops + 1, B, m] (every loop) or [1, B, m] (after ``loops`` only)."""
    if isinstance(model, LoopedTransformer):
        n = X.shape[1]
        tokens, key_mask = gd_tokens(*(torch.from_numpy(a).to(model.readout.weight.dtype) for a in (X, y, queries)))
        per_loop: list[torch.Tensor] = []
        with torch.no_grad():
            model(
                tokens, loops, key_mask=key_mask, capture=lambda t, Z: per_loop.append(model.readout(Z[:, n:])[..., 0])
            )
        return torch.stack(per_loop).to(torch.float64).cpu().numpy()
    with torch.no_grad():
        result = float64_tensor(model(X, y, queries[:, 0] if single else queries)).numpy()
    result = result[..., None] if single else result
    return result if result.ndim == 3 else result[None]


def assert_equals_gradient_descent(
    model: Any,
    X: Any,
    y: Any,
    x_query: Any,
    *,
    loops: int,
    eta: float,
    preconditioner: Any = None,
    rtol: float = GD_RTOL,
    relative_to: str = "iterate",
) -> None:
    """A looped-GD model's prediction equals r = ``loops`` steps of (preconditioned) gradient
    descent from 0 on L(w) = (1/2n)Σ(wᵀx_i − y_i)² (docs/theory.md §6), computed independently by
    :func:`gradient_descent_predictions` in numpy float64.

    X [B, n, d], y [B, n], x_query [B, d] (or [B, m, d]). ``model`` is a looped transformer in the
    GD token layout (:func:`~loopbound.constructions.gradient_descent.build_gd_transformer`'s
    ``.model``; then every loop 0 … r is checked), or a callable (X, y, x_query) → the prediction
    after r loops, [B] (or [B, m]), or after every loop, [r + 1, B] (or [r + 1, B, m]).
    Tolerance: |ŷ − ŷ_GD| ≤ ``rtol``·scale, the scale ‖x_q‖·‖w_r‖ (``relative_to="iterate"``: an
    inner product is rounded relative to it, and a prediction near 0 by cancellation has no
    relative digits) or |ŷ_GD| (``"prediction"``, stricter). Fails naming the loop, batch entry,
    query, both values and the relative deviation.
    """
    X, y, queries = (np.asarray(float64_tensor(a)) for a in (X, y, x_query))
    single = queries.ndim == 2
    queries = queries[:, None, :] if single else queries
    expected, scale = gradient_descent_predictions(X, y, queries, loops=loops, eta=eta, preconditioner=preconditioner)
    if relative_to == "prediction":
        scale = np.abs(expected)
    elif relative_to != "iterate":
        raise ValueError(f"relative_to must be 'iterate' or 'prediction', got {relative_to!r}")
    actual = _model_trace(model, X, y, queries, loops, single)
    if actual.shape[0] == 1:
        expected, scale = expected[-1:], scale[-1:]
    if actual.shape != expected.shape:
        raise AssertionError(f"model predictions {list(actual.shape)} do not match GD's {list(expected.shape)}")
    gap = np.abs(actual - expected)
    gap = np.where(np.isnan(gap), np.inf, gap)
    excess = gap - rtol * scale
    r, b, q = (int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
    if excess[r, b, q] > 0:
        loop = loops - actual.shape[0] + 1 + r
        relative = gap[r, b, q] / scale[r, b, q] if scale[r, b, q] > 0 else math.inf
        raise AssertionError(
            f"prediction after loop {loop} differs from {loop} steps of gradient descent (η = {eta!r}) by "
            f"{gap[r, b, q]:.6g} = {relative:.3g} × the scale ({relative_to}) > rtol {rtol:g}, at batch entry {b}, "
            f"query {q}: model {actual[r, b, q]!r}, GD {expected[r, b, q]!r}; x_query = {one_line(queries[b, q])}"
        )
