"""Entrywise norms and the constant that links the 2-norm ball to the p-norm.

``ball_2_to_p(k, p) = max {‖v‖_p : v ∈ R^k, ‖v‖_2 ≤ 1} = k^{max(0, 1/p − 1/2)}``: for p ≥ 2 the
maximiser is a coordinate vector (‖v‖_p ≤ ‖v‖_2), for p < 2 it is the flat vector k^{−1/2}(1,…,1)
(Hölder's inequality ‖v‖_p ≤ k^{1/p−1/2}‖v‖_2, with equality there). It recurs in every exact
modulus in :mod:`loopbound.theory.targets`.

Every norm here is computed **with scaling**, as LAPACK's ``nrm2`` does: ‖v‖_p = m·‖v/m‖_p with
m = max|v_i|, so the p-th powers lie in [0, 1] with at least one equal to 1. No p-th power then
under- or overflows for any finite v and any p ≥ 1: a nonzero vector never gets norm 0 and a vector
of finite norm never gets inf, whatever its scale (float64's range is [2^−1074, 2^1024)). The
division by m costs at most half an ulp per entry; entries below 2^−1074·m relative to the largest
are lost, which changes the norm by less than its own rounding.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import torch

from loopbound.theory.errors import InputError


def check_p(p: float) -> float:
    """Validate the output exponent: 1 ≤ p < ∞ (docs/theory.md §0)."""
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
    """(Σ |t|^p)^{1/p} over every dim from ``start_dim`` on; one value per leading index.

    Computed as m·‖t/m‖_p with m = max|t| per leading index (module docstring), m held constant for
    autograd: the gradient is that of the norm itself (a norm's gradient is homogeneous of degree
    0). A row with an infinite entry has norm inf; a row of zeros has norm 0.
    """
    flat = t.flatten(start_dim=start_dim)
    largest = flat.detach().abs().amax(dim=-1, keepdim=True)
    usable = (largest > 0) & torch.isfinite(largest)
    m = torch.where(usable, largest, torch.ones_like(largest))
    norm = m.squeeze(-1) * torch.linalg.vector_norm(flat / m, ord=p, dim=-1)
    return torch.where(torch.isinf(largest.squeeze(-1)), torch.full_like(norm, math.inf), norm)


def scaled_norm(v: np.ndarray, p: float = 2.0) -> float:
    """‖v‖_p of a float64 array (all entries), computed with scaling (module docstring)."""
    flat = np.abs(np.asarray(v, dtype=np.float64).ravel())
    if flat.size == 0:
        return 0.0
    largest = float(flat.max())
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(flat / largest, ord=p))


def exact_squared_distance(X: np.ndarray, Y: np.ndarray) -> Fraction:
    """‖X − Y‖_2² of two float64 arrays in exact rational arithmetic (the floats as they are)."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    return sum(((Fraction(float(y)) - Fraction(float(x))) ** 2 for x, y in zip(X.ravel(), Y.ravel())), Fraction(0))


def certified_radius(delta: float) -> Fraction:
    """The radius a witness pair is certified against for a δ given as a float: the smaller of the
    float's exact value and the shortest decimal that prints as it (``repr``). A user who types
    ``0.1`` means 1/10, while float(0.1) = 1/10 + 5.6e-18; a pair within this radius is within δ
    under either reading, so a lower bound certified at "0.1" is a lower bound of ω(1/10)."""
    value = float(delta)
    return min(Fraction(value), Fraction(repr(value)))
