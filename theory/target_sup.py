"""S = sup over the cube [0,1]^{N×d} of max_{n,i} |f(X)_{n,i}|, the failure-set term of the
construction's bound (:mod:`loopbound.theory.bounds.construction`): exact for the built-in targets,
a sampled lower estimate for any other.
"""

from __future__ import annotations

import numpy as np
import torch

from loopbound.theory.targets import (
    ContextualMax,
    LinearMixing,
    PrefixMean,
    SmoothTokenMean,
    SoftmaxAttentionTarget,
    Target,
    TokenwiseHolder,
)

__all__ = ["target_sup"]


def target_sup(target: Target, *, samples: int = 4096, seed: int = 0) -> tuple[float, str]:
    """S = sup_{X ∈ [0,1]^{N×d}} max_{n,i} |f(X)_{n,i}| and how it is known: ``"exact"``,
    ``"upper"`` (an analytic upper bound) or ``"estimate"`` (largest value on Sobol samples and the
    cube's corners: a lower estimate, not a bound).

    Derivations for the built-ins (every input entry lies in [0, 1]):
    - holder: |scale|·x^α ≤ |scale|, attained at x = 1 (exact);
    - contextual_max: |scale|·max_m x_mi ≤ |scale|, attained at 1 (exact);
    - prefix_mean: a mean of entries in [0, 1] (exact: 1);
    - linear (f = A X, per coordinate): max over the cube of |Σ_m A_nm x_m| is
      max(Σ_m A_nm⁺, Σ_m A_nm⁻) (a linear form on a box peaks at a vertex; exact);
    - attention: each output row is a convex combination of the rows x_k W_V, so entry i is at most
      max_{x ∈ [0,1]^d} |x W_V[:, i]| = max(Σ_j W_V[j,i]⁺, Σ_j W_V[j,i]⁻), attained with all tokens
      equal to the maximising vertex (exact);
    - smooth: the pre-activation of token n, coordinate i, is x_n·u + Σ_{m≠n} x_m·v + b_i with
      u = W_1[:, i] + W_2[:, i]/N, v = W_2[:, i]/N; its range over the cube is an interval whose ends
      are sums of positive (negative) parts, so sup|tanh| = tanh(max |end|) (exact, at a vertex).
    """
    if isinstance(target, TokenwiseHolder):
        return abs(target.scale), "exact"
    if isinstance(target, ContextualMax):
        return abs(target.scale), "exact"
    if isinstance(target, PrefixMean):
        return 1.0, "exact"
    if isinstance(target, LinearMixing):
        A = target.matrix
        return float(torch.maximum(A.clamp_min(0).sum(1), (-A).clamp_min(0).sum(1)).max()), "exact"
    if isinstance(target, SoftmaxAttentionTarget):
        W_V = target.weights[2]
        return float(torch.maximum(W_V.clamp_min(0).sum(0), (-W_V).clamp_min(0).sum(0)).max()), "exact"
    if isinstance(target, SmoothTokenMean):
        W_1, W_2, b = target.weights
        u = W_1 + W_2 / target.N
        v = W_2 * (target.N - 1) / target.N
        high = b + u.clamp_min(0).sum(0) + v.clamp_min(0).sum(0)
        low = b - (-u).clamp_min(0).sum(0) - (-v).clamp_min(0).sum(0)
        return float(torch.tanh(torch.maximum(high.abs(), low.abs())).max()), "exact"
    return _sampled_sup(target, samples=samples, seed=seed), "estimate"


def _sampled_sup(target: Target, *, samples: int, seed: int) -> float:
    from scipy.stats import qmc

    dim = target.N * target.d
    points = qmc.Sobol(d=dim, scramble=True, seed=seed).random(samples)
    if dim <= 12:
        corners = np.array(np.meshgrid(*[[0.0, 1.0]] * dim, indexing="ij")).reshape(dim, -1).T
        points = np.concatenate([points, corners])
    X = torch.from_numpy(points).reshape(-1, target.N, target.d)
    with torch.no_grad():
        return float(target(X).abs().max())
