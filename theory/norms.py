"""Entrywise norms and the constant that links the 2-norm ball to the p-norm.

``ball_2_to_p(k, p) = max {‖v‖_p : v ∈ R^k, ‖v‖_2 ≤ 1} = k^{max(0, 1/p − 1/2)}``: for p ≥ 2 the
maximiser is a coordinate vector (‖v‖_p ≤ ‖v‖_2), for p < 2 it is the flat vector k^{−1/2}(1,…,1)
(Hölder's inequality ‖v‖_p ≤ k^{1/p−1/2}‖v‖_2, with equality there). It recurs in every exact
modulus in :mod:`theory.targets`.
"""
from __future__ import annotations

import math

import torch

from theory.errors import InputError


def check_p(p: float) -> float:
    """Validate the output exponent: 1 ≤ p < ∞ (theory-notes §0)."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise InputError(f"p must be a number with 1 <= p < inf, got {p!r}") from None
    if not (1.0 <= value < math.inf):
        raise InputError(f"p must satisfy 1 <= p < inf, got {p!r}")
    return value


def ball_2_to_p(k: int, p: float) -> float:
    """max ‖v‖_p over the unit 2-ball of R^k, i.e. k^{max(0, 1/p − 1/2)}."""
    return float(k) ** max(0.0, 1.0 / p - 0.5)


def entrywise_p_norm(t: torch.Tensor, p: float, start_dim: int = 1) -> torch.Tensor:
    """(Σ |t|^p)^{1/p} over every dim from ``start_dim`` on; one value per leading index."""
    flat = t.flatten(start_dim=start_dim)
    if p == 2.0:
        return torch.linalg.vector_norm(flat, ord=2, dim=-1)
    return torch.linalg.vector_norm(flat, ord=p, dim=-1)
