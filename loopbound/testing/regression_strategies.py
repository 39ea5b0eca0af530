"""Hypothesis strategy for in-context linear-regression prompts with a controlled condition number.

A prompt is n examples (x_i, y_i) with x_i ∈ ℝ^d, labels y = X w + noise·ε (ε standard normal),
and a query x_query: the input of a looped transformer that emulates (preconditioned) gradient
descent on the least-squares loss of (X, y) (docs/regression.md), whose step size and
rate are governed by the spectrum of XᵀX/n. Re-exported as ``loopbound.testing.strategies``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st


@dataclass(frozen=True)
class RegressionPrompt:
    """One prompt, all float64: ``X`` [n, d], ``y`` = X w + noise·ε [n], ``w`` [d], ``x_query`` [d];
    ``kappa`` = λ_max/λ_min of XᵀX/n as built (computed from X, at most the requested bound up to
    rounding) and the ``noise`` level used."""

    X: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor
    x_query: torch.Tensor
    kappa: float
    noise: float


def _orthonormal_columns(rows: int, columns: int, generator: torch.Generator) -> torch.Tensor:
    """A [rows, columns] matrix with orthonormal columns (QR of a Gaussian matrix, signs fixed)."""
    gaussian = torch.randn(rows, columns, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0)


def _check(d: int, n: int, kappa: float, noise: float) -> None:
    if d < 1 or n < d:
        raise ValueError(f"need d >= 1 and n >= d (XᵀX/n must be invertible), got d={d}, n={n}")
    if not (math.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"kappa must be a finite number >= 1, got {kappa!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def regression_prompts(
    *, d: int, n: int, kappa: float = 10.0, noise: float = 0.0
) -> st.SearchStrategy[RegressionPrompt]:
    """Prompts whose XᵀX/n has eigenvalues λ_1, …, λ_d drawn in [1, kappa], so its condition number
    is at most ``kappa``: X = √n · U diag(√λ) Vᵀ with U [n, d] orthonormal columns and V orthogonal
    (both from a drawn seed), so XᵀX/n = V diag(λ) Vᵀ exactly up to rounding. ``w`` and ``x_query``
    are drawn in [−1, 1]^d; y = X w + noise·ε. The eigenvalues shrink towards 1 (a well-conditioned
    prompt). Needs d ≥ 1, n ≥ d, a finite kappa ≥ 1 and a finite noise ≥ 0 (ValueError when the
    strategy is built otherwise)."""
    _check(d, n, kappa, noise)
    unit = st.floats(-1.0, 1.0, allow_nan=False)
    vector = st.lists(unit, min_size=d, max_size=d).map(lambda v: torch.tensor(v, dtype=torch.float64))
    spectrum = st.lists(st.floats(1.0, float(kappa)), min_size=d, max_size=d)

    @st.composite
    def prompts(draw: Any) -> RegressionPrompt:
        eigenvalues = torch.tensor(draw(spectrum), dtype=torch.float64)
        generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
        U, V = _orthonormal_columns(n, d, generator), _orthonormal_columns(d, d, generator)
        X = math.sqrt(n) * (U * eigenvalues.sqrt()) @ V.T
        w, x_query = draw(vector), draw(vector)
        y = X @ w + noise * torch.randn(n, generator=generator, dtype=torch.float64)
        achieved = torch.linalg.eigvalsh(X.T @ X / n)
        return RegressionPrompt(X, y, w, x_query, float(achieved.max() / achieved.min()), float(noise))

    return prompts()


__all__ = ["RegressionPrompt", "regression_prompts"]
