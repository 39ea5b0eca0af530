"""Whether a target meets the hypotheses of Theorem 3.6 (Xu & Sato 2024, reconstructed).

The theorem is stated for continuous permutation-equivariant f: [0,1]^{d×N} → [0,1]^{d×N}: the
output has the input's width (d_out = d) and lies in the unit cube. On a target outside these
hypotheses a check of "the theorem" is a check of loopbound's own extension of it, and the
verdict must say so. :func:`theorem_hypotheses` checks each hypothesis and says how it is known:

- **output width**: d_out = d (read off the target: exact);
- **output range** ⊆ [0, 1]: from :func:`target_range`, exact for the built-ins (each derived in
  its docstring), else the smallest and largest entries on Sobol samples and the cube's corners.
  A sampled entry outside [0, 1] is a certificate that the hypothesis fails (the input is a
  witness); sampled entries inside only *suggest* that it holds;
- **permutation equivariance**: declared by the target, trivial for N = 1, else tested as
  f(πX) = πf(X) on random inputs and permutations (a failure is a certificate; a pass is numerical);
- **continuity** is assumed (no finite test decides it), and said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from loopbound.theory.target_sup import sample_outputs
from loopbound.theory.targets import Target

__all__ = ["Hypothesis", "TheoremHypotheses", "target_range", "theorem_hypotheses"]

OUTSIDE = "outside the theorem's hypotheses"


def target_range(target: Target, *, samples: int = 4096, seed: int = 0) -> tuple[float, float, str]:
    """(inf f, sup f, how) over the cube, entrywise over every output entry. ``how`` is ``"exact"``
    (the target's own :meth:`~loopbound.theory.targets.Target.output_range`, derived by each
    built-in) or, where the target does not know it (None), ``"estimate"``: the extremes on Sobol
    samples and the cube's corners (:func:`loopbound.theory.target_sup.sample_outputs`; the true
    range contains the one returned)."""
    exact = target.output_range()
    if exact is not None:
        return exact[0], exact[1], "exact"
    out = sample_outputs(target, samples=samples, seed=seed)
    return float(out.min()), float(out.max()), "estimate"


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of the theorem: ``holds`` (True / False), ``how`` it is known (``exact``,
    ``certified`` (a counterexample), ``numerical``, ``estimate`` or ``assumed``) and ``detail``."""

    name: str
    holds: bool
    how: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "holds": self.holds, "how": self.how, "detail": self.detail}


@dataclass(frozen=True)
class TheoremHypotheses:
    """Each hypothesis of Theorem 3.6 for one target; ``inside`` when none fails."""

    checks: tuple[Hypothesis, ...]

    @property
    def failed(self) -> tuple[Hypothesis, ...]:
        return tuple(h for h in self.checks if not h.holds)

    @property
    def inside(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        """``"within the theorem's hypotheses (…)"`` or ``"outside the theorem's hypotheses: …"``
        naming each failed hypothesis."""
        if self.inside:
            return "within the theorem's hypotheses (" + "; ".join(f"{h.name}: {h.how}" for h in self.checks) + ")"
        return f"{OUTSIDE}: " + "; ".join(f"{h.name} fails ({h.detail})" for h in self.failed)

    def to_json(self) -> dict[str, Any]:
        return {"inside": self.inside, "summary": self.describe(), "checks": [h.to_json() for h in self.checks]}


def _equivariance(target: Target, *, samples: int = 32, seed: int = 0) -> Hypothesis:
    name = "permutation equivariance"
    if target.permutation_equivariant:
        return Hypothesis(name, True, "declared", "declared by the target")
    if target.N == 1:
        return Hypothesis(name, True, "exact", "trivial for N = 1")
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(samples, target.N, target.d, generator=generator, dtype=torch.float64)
    perms = torch.stack([torch.randperm(target.N, generator=generator) for _ in range(samples)])
    with torch.no_grad():
        out = target(X)
        permuted = target(torch.stack([X[b, perms[b]] for b in range(samples)]))
    expected = torch.stack([out[b, perms[b]] for b in range(samples)])
    gap = (permuted - expected).abs().flatten(1).amax(dim=1)
    scale = expected.abs().flatten(1).amax(dim=1) + 1.0
    worst = int(torch.argmax(gap / scale))
    if gap[worst] > 1e-9 * scale[worst]:
        return Hypothesis(name, False, "certified", f"f(πX) differs from πf(X) by {float(gap[worst]):.3g}")
    return Hypothesis(name, True, "numerical", f"f(πX) = πf(X) on {samples} random inputs")


def theorem_hypotheses(target: Target, *, seed: int = 0) -> TheoremHypotheses:
    """Check the hypotheses of Theorem 3.6 for ``target`` (module docstring)."""
    d_out = int(target.d_out)
    width = Hypothesis(
        "output width",
        d_out == target.d,
        "exact",
        f"d_out = {d_out}" + (" = d" if d_out == target.d else f" ≠ d = {target.d}"),
    )
    low, high, how = target_range(target, seed=seed)
    inside = low >= 0.0 and high <= 1.0
    range_how = how if inside else ("exact" if how == "exact" else "certified")
    output_range = Hypothesis(
        "outputs in [0, 1]", inside, range_how, f"outputs range over [{low:.6g}, {high:.6g}] ({how})"
    )
    continuity = Hypothesis("continuity", True, "assumed", "not testable on finitely many points")
    return TheoremHypotheses((width, output_range, _equivariance(target, seed=seed), continuity))
