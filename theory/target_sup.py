"""S = sup over the cube [0,1]^{N×d} of max_{n,i} |f(X)_{n,i}|, the failure-set term of the
construction's bound (:mod:`loopbound.theory.bounds.construction`): exact for the built-in targets
(each derives it, :meth:`loopbound.theory.targets.Target.output_sup`), a sampled lower estimate for
any other.
"""

from __future__ import annotations

import numpy as np
import torch

from loopbound.theory.targets import Target

__all__ = ["target_sup", "sample_outputs"]


def target_sup(target: Target, *, samples: int = 4096, seed: int = 0) -> tuple[float, str]:
    """S = sup_{X ∈ [0,1]^{N×d}} max_{n,i} |f(X)_{n,i}| and how it is known: ``"exact"`` (the
    target's own :meth:`~loopbound.theory.targets.Target.output_sup`, derived by each built-in) or,
    where the target does not know it (None), ``"estimate"``: the largest value on ``samples``
    scrambled Sobol points from ``seed``, the cube's corners and diagonal grid points
    (:func:`sample_outputs`): a lower estimate, not a bound."""
    exact = target.output_sup()
    if exact is not None:
        return exact, "exact"
    with torch.no_grad():
        return float(sample_outputs(target, samples=samples, seed=seed).abs().max()), "estimate"


def sample_outputs(target: Target, *, samples: int, seed: int) -> torch.Tensor:
    """f(X) on ``samples`` scrambled Sobol points of the cube [0,1]^{N×d} from ``seed``, on the
    cube's 2^{N d} corners when N d ≤ 12 (where a linear form or a max peaks), and on the diagonal
    grid points X = (k/m, …, k/m), 0 ≤ k ≤ m ≤ 16 (the rational points a construction's grid reads
    the target at, where a spike between samples would otherwise go unseen): the points an estimate
    of sup|f| or of f's range is taken over."""
    from scipy.stats import qmc

    dim = target.N * target.d
    points = qmc.Sobol(d=dim, scramble=True, seed=seed).random(samples)
    if dim <= 12:
        corners = np.array(np.meshgrid(*[[0.0, 1.0]] * dim, indexing="ij")).reshape(dim, -1).T
        points = np.concatenate([points, corners])
    diagonal = sorted({k / m for m in range(1, 17) for k in range(m + 1)})
    points = np.concatenate([points, np.repeat(np.array(diagonal)[:, None], dim, axis=1)])
    X = torch.from_numpy(points).reshape(-1, target.N, target.d)
    with torch.no_grad():
        return target(X)
