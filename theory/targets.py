"""Sequence-to-sequence targets with their domain and, where known, exact moduli of continuity.

A target is a callable ``[B, N, d] → [B, N, d_out]`` on torch tensors over the cube [0,1]^{N×d}
(docs/theory.md §0–§1). The built-ins are frozen dataclasses whose fields are their parameters; six of
them are registered under the names used on the command line (``holder:alpha=0.5``).

Exact moduli (derivations in each class's docstring) use c_p(k) = max{‖v‖_p : ‖v‖_2 ≤ 1, v ∈ R^k}
= k^{max(0, 1/p − 1/2)} (:func:`loopbound.theory.norms.ball_2_to_p`). Each formula is exact on the range of δ
stated with it (the maximising pair must fit inside the cube); beyond that range the same formula is
still an upper bound (the cube only removes pairs), so ``exact_modulus`` returns ``None`` there
while ``upper_modulus`` keeps the formula.

Each built-in also knows its output over the cube exactly (:meth:`Target.output_range`, :meth:`Target.output_sup`,
each derived in one line beside it); a target that does not know them returns None, and the callers
sample them instead.

This module is one idea, the catalogue of built-in targets: each target sits beside the derivation
of its own moduli and output range, and splitting the catalogue would part a formula from its proof.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import torch

from loopbound.theory.errors import InputError, TargetError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.norms import ball_2_to_p, check_p, entrywise_p_norm

DOMAIN = (0.0, 1.0)
"""Every target here is defined on the unit cube [0,1]^{N×d}."""


@dataclass(frozen=True)
class Target:
    """Base of all targets: shape checking, the domain, and (optionally) analytic moduli.

    Subclasses implement :meth:`forward` on a ``[B, N, d]`` tensor; ``__call__`` checks the shape
    first. ``d_out`` defaults to ``d``.
    """

    d: int
    N: int

    name: ClassVar[str] = "target"
    permutation_equivariant: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for name in ("d", "N"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be an integer >= 1, got {value!r}")

    @property
    def d_out(self) -> int:
        return self.d

    @property
    def domain(self) -> tuple[float, float]:
        return DOMAIN

    @property
    def params(self) -> dict[str, Any]:
        """The target's parameters other than d and N (what follows ``name:`` on the command line)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("d", "N")}

    @property
    def spec(self) -> str:
        """The command-line spelling of this target, e.g. ``holder:alpha=0.5,scale=1.0``."""
        params = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}:{params}" if params else self.name

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() != 3 or X.shape[1] != self.N or X.shape[2] != self.d:
            raise InputError(f"target {self.name} takes inputs of shape [B, {self.N}, {self.d}], got {list(X.shape)}")
        return self.forward(X)

    def forward(self, X: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def exact_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        """The exact modulus of ``kind`` at δ in output p-norm, or None where it is not known."""
        return None

    def upper_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        """An analytic upper bound on the modulus (the exact value where known), or None."""
        return self.exact_modulus(kind, delta, p)

    def output_range(self) -> tuple[float, float] | None:
        """(inf, sup) over the cube of the output entries f(X)_{n,i}, exact (derived by each built-in);
        None where it is not known (:func:`loopbound.theory.bounds.hypotheses.target_range` then
        samples it)."""
        return None

    def output_sup(self) -> float | None:
        """sup over the cube of max_{n,i} |f(X)_{n,i}|, exact (derived by each built-in); None where
        it is not known (:func:`loopbound.theory.target_sup.target_sup` then samples it)."""
        return None


def _check_delta(delta: float) -> float:
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta >= 0):
        raise InputError(f"delta must be a finite number >= 0, got {delta!r}")
    return float(delta)


def _vertex_extremes(M: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_j M_j⁻, Σ_j M_j⁺) along ``dim``: the linear form x ↦ Σ_j x_j M_j on the box [0, 1]^k takes its
    least value −Σ_j M_j⁻ and its largest Σ_j M_j⁺, at vertices."""
    return (-M).clamp_min(0).sum(dim), M.clamp_min(0).sum(dim)


def _seeded_normal(seed: int, *shape: int, std: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(*shape, generator=generator, dtype=torch.float64) * std


# --------------------------------------------------------------------------- linear token mixing
@dataclass(frozen=True)
class _LinearMixingBase(Target):
    """f(X) = A X: every output token a fixed linear combination of the input tokens.

    Exact moduli, with a_n = (A_{nm})_{m≠n} and c_p as in the module docstring:

    - token: only token n moves, by v with ‖v‖_2 ≤ δ, so f(X)_n moves by A_nn v and
      ω^tok(δ) = max_n |A_nn| · δ · c_p(d).
    - contextual: token n fixed, the others move by Δ_m (Σ‖Δ_m‖² ≤ δ²); f(X)_n moves by
      Σ_m A_nm Δ_m = Δᵀa_n, whose 2-norm is at most ‖a_n‖_2 δ (Cauchy–Schwarz) with equality for
      Δ = δ a_n uᵀ/‖a_n‖; so ω^cont(δ) = max_n ‖a_n‖_2 · δ · c_p(d) (0 when N = 1).
    - sequence: Σ_j ‖AΔ_{:,j}‖_p^p ≤ ‖A‖_{2→p}^p Σ_j c_j^p with Σ_j c_j² ≤ δ² (c_j the column
      norms); the last sum is at most δ^p for p ≥ 2 and d^{1−p/2}δ^p for p < 2, both attained. So
      ω(δ) = ‖A‖_{2→p} · δ · d^{max(0, 1/p−1/2)}. ‖A‖_{2→2} = σ_max(A) and
      ‖A‖_{2→1} = max_{s∈{±1}^N} ‖Aᵀs‖_2 (enumerated, N ≤ 20) are exact; for other p the sequence
      modulus has only the upper bound σ_max(A) · δ · c_p(N d).

    Range: each maximising Δ has entries of size at most δ, so the pair X = ½ − Δ/2, X' = ½ + Δ/2
    lies in the cube for δ ≤ 1: the formulas are exact for 0 ≤ δ ≤ 1.
    """

    EXACT_DELTA_MAX: ClassVar[float] = 1.0

    @property
    def matrix(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.matrix.to(dtype=X.dtype, device=X.device), X)

    @cached_property
    def _spectral_norm(self) -> float:
        return float(torch.linalg.matrix_norm(self.matrix, ord=2))

    @cached_property
    def _norm_2_to_1(self) -> float | None:
        if self.N > 20:
            return None
        signs = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=self.N)), dtype=torch.float64)
        return float(entrywise_p_norm(signs @ self.matrix, 2.0).max())  # with scaling: any scale

    def _lipschitz(self, kind: ModulusKind, p: float) -> tuple[float, bool]:
        """(L, exact): ω(δ) = L·δ when exact is True, else L·δ is only an upper bound."""
        A = self.matrix
        if kind is ModulusKind.TOKEN:
            return float(A.diagonal().abs().max()) * ball_2_to_p(self.d, p), True
        if kind is ModulusKind.CONTEXTUAL:
            off = A - torch.diag(A.diagonal())
            return float(entrywise_p_norm(off, 2.0).max()) * ball_2_to_p(self.d, p), True
        column_factor = ball_2_to_p(self.d, p)
        if p == 2.0:
            return self._spectral_norm, True
        if p == 1.0 and self._norm_2_to_1 is not None:
            return self._norm_2_to_1 * column_factor, True
        return self._spectral_norm * ball_2_to_p(self.N * self.d, p), False

    def exact_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        delta, p = _check_delta(delta), check_p(p)
        lipschitz, exact = self._lipschitz(ModulusKind(kind), p)
        return lipschitz * delta if exact and delta <= self.EXACT_DELTA_MAX else None

    def upper_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        delta, p = _check_delta(delta), check_p(p)
        return self._lipschitz(ModulusKind(kind), p)[0] * delta


@dataclass(frozen=True)
class LinearMixing(_LinearMixingBase):
    """Linear token mixing f(X) = scale · A X with A ~ N(0, 1/N) seeded (exact moduli: see base)."""

    seed: int = 0
    scale: float = 1.0
    name: ClassVar[str] = "linear"

    @cached_property
    def matrix(self) -> torch.Tensor:
        return self.scale * _seeded_normal(self.seed, self.N, self.N, std=1.0 / math.sqrt(self.N))

    def output_range(self) -> tuple[float, float] | None:
        """Entry (n, i) is Σ_m A_nm x_mi, a linear form on a box: [−Σ_m A_nm⁻, Σ_m A_nm⁺], then min/max over n."""
        negative, positive = _vertex_extremes(self.matrix, 1)
        return float(-negative.max()), float(positive.max())

    def output_sup(self) -> float | None:
        """max_n max(Σ_m A_nm⁺, Σ_m A_nm⁻): the largest |Σ_m A_nm x_m| on the box, at a vertex."""
        negative, positive = _vertex_extremes(self.matrix, 1)
        return float(torch.maximum(positive, negative).max())


@dataclass(frozen=True)
class PrefixMean(_LinearMixingBase):
    """Causal prefix mean f(X)_n = (1/n) Σ_{m≤n} X_m (tokens 1-indexed): linear mixing with the
    Cesàro matrix. From the base formulas: ω^tok(δ) = δ c_p(d) (n = 1) and, for N ≥ 2,
    ω^cont(δ) = max_{n≥2} √(n−1)/n · δ c_p(d) = δ c_p(d)/2 (n = 2)."""

    name: ClassVar[str] = "prefix_mean"

    @cached_property
    def matrix(self) -> torch.Tensor:
        counts = torch.arange(1, self.N + 1, dtype=torch.float64)
        return torch.tril(torch.ones(self.N, self.N, dtype=torch.float64)) / counts[:, None]

    def output_range(self) -> tuple[float, float] | None:
        """Means of entries in [0, 1] lie in [0, 1], both ends attained (X = 0, X = 1)."""
        return 0.0, 1.0

    def output_sup(self) -> float | None:
        """A mean of entries in [0, 1] is at most 1, attained at X = 1."""
        return 1.0


# --------------------------------------------------------------------------- token-wise Hölder
@dataclass(frozen=True)
class TokenwiseHolder(Target):
    """Token-wise Hölder map f(X) = scale · X^α entrywise, 0 < α ≤ 1.

    Derivation. |s^α − t^α| ≤ |s − t|^α on [0,1] (t ↦ t^α is concave with 0^α = 0, hence
    subadditive), with equality at t = 0. A pair whose K moving entries differ by h_e (Σh_e² ≤ δ²)
    therefore has ‖f(X) − f(X')‖_p^p ≤ scale^p Σ_e h_e^{αp}, attained at X = 0. With u_e = h_e²,
    Σ u_e^{αp/2} over the simplex Σu_e ≤ δ² is convex when αp ≥ 2 (maximum at a vertex: δ^{αp})
    and concave when αp < 2 (maximum at the centre: K^{1−αp/2} δ^{αp}). Hence

        ω(δ) = scale · δ^α · K^{max(0, 1/p − α/2)},

    with K = N d for the sequence modulus and K = d for the token modulus (output at token n only),
    and ω^cont ≡ 0 (token n's output depends on token n alone). Range: the maximiser has entries δ
    (αp ≥ 2) or δ/√K (αp < 2), which must be ≤ 1.
    """

    alpha: float = 0.5
    scale: float = 1.0
    name: ClassVar[str] = "holder"
    permutation_equivariant: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.alpha <= 1.0:
            raise InputError(f"holder: alpha must satisfy 0 < alpha <= 1, got {self.alpha!r}")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.scale * X.clamp_min(0.0).pow(self.alpha)

    def output_range(self) -> tuple[float, float] | None:
        """x^α ranges over [0, 1], so scale·x^α over [min(0, scale), max(0, scale)]."""
        return min(0.0, self.scale), max(0.0, self.scale)

    def output_sup(self) -> float | None:
        """|scale|·x^α ≤ |scale|, attained at x = 1."""
        return abs(self.scale)

    def _formula(self, kind: ModulusKind, delta: float, p: float) -> tuple[float, float]:
        """(value, largest δ where it is exact)."""
        if kind is ModulusKind.CONTEXTUAL:
            return 0.0, math.inf
        moving = self.N * self.d if kind is ModulusKind.SEQUENCE else self.d
        exponent = max(0.0, 1.0 / p - self.alpha / 2.0)
        value = abs(self.scale) * delta**self.alpha * moving**exponent
        delta_max = 1.0 if self.alpha * p >= 2.0 else math.sqrt(moving)
        return value, delta_max

    def exact_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        delta, p = _check_delta(delta), check_p(p)
        value, delta_max = self._formula(ModulusKind(kind), delta, p)
        return value if delta <= delta_max else None

    def upper_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        delta, p = _check_delta(delta), check_p(p)
        return self._formula(ModulusKind(kind), delta, p)[0]


# --------------------------------------------------------------------------- contextual max
@dataclass(frozen=True)
class ContextualMax(Target):
    """Contextual max: every token receives the coordinate-wise max over the sequence,
    f(X)_n = scale · max_m X_m.

    Derivation. Per coordinate i, |max_m X_mi − max_m X'_mi| ≤ max_m |Δ_mi| =: h_i, and
    Σ_i h_i² ≤ ‖Δ‖_2² ≤ δ². So each output token moves by at most (Σ_i h_i^p)^{1/p} ≤ δ c_p(d).
    - sequence: all N output tokens carry the same row: ω(δ) = scale · N^{1/p} · δ · c_p(d);
    - token: only token n moves (h_i = |Δ_ni|): ω^tok(δ) = scale · δ · c_p(d);
    - contextual: another token moves (N ≥ 2): ω^cont(δ) = scale · δ · c_p(d), and 0 when N = 1.
    Each is attained at X = 0 with one token (n, or another for ω^cont) raised by the maximiser h
    of c_p(d) scaled to δ, whose entries are ≤ δ: exact for 0 ≤ δ ≤ 1.
    """

    scale: float = 1.0
    name: ClassVar[str] = "contextual_max"
    permutation_equivariant: ClassVar[bool] = True

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.scale * X.amax(dim=1, keepdim=True).expand(-1, self.N, -1)

    def output_range(self) -> tuple[float, float] | None:
        """max_m x_mi ranges over [0, 1], so scale·max over [min(0, scale), max(0, scale)]."""
        return min(0.0, self.scale), max(0.0, self.scale)

    def output_sup(self) -> float | None:
        """|scale|·max_m x_mi ≤ |scale|, attained at X = 1."""
        return abs(self.scale)

    def upper_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        delta, p = _check_delta(delta), check_p(p)
        kind = ModulusKind(kind)
        if kind is ModulusKind.CONTEXTUAL and self.N == 1:
            return 0.0
        rows = self.N ** (1.0 / p) if kind is ModulusKind.SEQUENCE else 1.0
        return abs(self.scale) * rows * delta * ball_2_to_p(self.d, p)

    def exact_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        value = self.upper_modulus(kind, delta, p)
        return value if float(delta) <= 1.0 else None


# --------------------------------------------------------------------------- softmax attention
@dataclass(frozen=True)
class SoftmaxAttentionTarget(Target):
    """One softmax self-attention layer with seeded weights (no residual, no positional encoding):
    f(X) = softmax(β (X W_Q)(X W_K)ᵀ / √d) X W_V, with W_Q, W_K, W_V ~ N(0, 1/d) from ``seed``.

    Permutation-equivariant. No closed-form moduli: the estimator's lower bounds are all there is.
    """

    seed: int = 0
    beta: float = 1.0
    name: ClassVar[str] = "attention"
    permutation_equivariant: ClassVar[bool] = True

    @cached_property
    def weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        std = 1.0 / math.sqrt(self.d)
        stacked = _seeded_normal(self.seed, 3, self.d, self.d, std=std)
        return stacked[0], stacked[1], stacked[2]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        W_Q, W_K, W_V = (w.to(dtype=X.dtype, device=X.device) for w in self.weights)
        scores = self.beta * (X @ W_Q) @ (X @ W_K).transpose(1, 2) / math.sqrt(self.d)
        return torch.softmax(scores, dim=-1) @ (X @ W_V)

    def output_range(self) -> tuple[float, float] | None:
        """Each output row is a convex combination of the rows x_k W_V, so entry i lies in
        [−Σ_j W_V[j,i]⁻, Σ_j W_V[j,i]⁺], attained with every token at the extreme vertex."""
        negative, positive = _vertex_extremes(self.weights[2], 0)
        return float(-negative.max()), float(positive.max())

    def output_sup(self) -> float | None:
        """max_i max(Σ_j W_V[j,i]⁺, Σ_j W_V[j,i]⁻): the largest |x W_V[:, i]| on the box (convex
        combinations do not exceed it), attained with every token at the maximising vertex."""
        negative, positive = _vertex_extremes(self.weights[2], 0)
        return float(torch.maximum(positive, negative).max())


# --------------------------------------------------------------------------- smooth token + mean
@dataclass(frozen=True)
class SmoothTokenMean(Target):
    """A smooth map of each token and the sequence mean:
    f(X)_n = tanh(X_n W_1 + mean_m(X_m) W_2 + b), W_1, W_2 ~ N(0, 1/d), b ~ N(0, 1) from ``seed``.

    Upper bounds (tanh is 1-Lipschitz entrywise, and ‖w‖_p ≤ c_p(k)‖w‖_2 on R^k):
    - token: the pre-activation of token n moves by v (W_1 + W_2/N): ω^tok ≤ c_p(d) σ(W_1 + W_2/N) δ;
    - contextual: the mean moves by at most δ √(N−1)/N: ω^cont ≤ c_p(d) σ(W_2) δ √(N−1)/N;
    - sequence: X ↦ X W_1 + P X W_2 with P = 11ᵀ/N splits over P X and (I − P) X, so its norm is
      max(σ(W_1 + W_2), σ(W_1)): ω ≤ c_p(N d) max(σ(W_1 + W_2), σ(W_1)) δ.
    Each is also capped by the output range: entries differ by less than 2.
    """

    seed: int = 0
    name: ClassVar[str] = "smooth"
    permutation_equivariant: ClassVar[bool] = True

    @cached_property
    def weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stacked = _seeded_normal(self.seed, 2 * self.d + 1, self.d)
        W_1 = stacked[: self.d] / math.sqrt(self.d)
        W_2 = stacked[self.d : 2 * self.d] / math.sqrt(self.d)
        return W_1, W_2, stacked[-1]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        W_1, W_2, b = (w.to(dtype=X.dtype, device=X.device) for w in self.weights)
        return torch.tanh(X @ W_1 + X.mean(dim=1, keepdim=True) @ W_2 + b)

    def _preactivation_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(low_i, high_i), the range over the cube of the pre-activation of coordinate i: for token n
        it is x_n·u + Σ_{m≠n} x_m·W_2[:, i]/N + b_i with u = W_1[:, i] + W_2[:, i]/N, a linear form
        on a box, so its ends are b_i − Σu⁻ − Σv⁻ and b_i + Σu⁺ + Σv⁺ with v = W_2[:, i]·(N − 1)/N
        (the other N − 1 tokens at one vertex together)."""
        W_1, W_2, b = self.weights
        u = W_1 + W_2 / self.N
        v = W_2 * (self.N - 1) / self.N
        high = b + u.clamp_min(0).sum(0) + v.clamp_min(0).sum(0)
        low = b - (-u).clamp_min(0).sum(0) - (-v).clamp_min(0).sum(0)
        return low, high

    def output_range(self) -> tuple[float, float] | None:
        """tanh is increasing: [min_i tanh low_i, max_i tanh high_i] (:meth:`_preactivation_range`)."""
        low, high = self._preactivation_range()
        return float(torch.tanh(low).min()), float(torch.tanh(high).max())

    def output_sup(self) -> float | None:
        """|tanh| is increasing in |·|: max_i tanh(max(|low_i|, |high_i|)), at a vertex."""
        low, high = self._preactivation_range()
        return float(torch.tanh(torch.maximum(high.abs(), low.abs())).max())

    def upper_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        delta, p = _check_delta(delta), check_p(p)
        kind = ModulusKind(kind)
        W_1, W_2, _ = self.weights

        def sigma(M: torch.Tensor) -> float:
            return float(torch.linalg.matrix_norm(M, ord=2))

        if kind is ModulusKind.TOKEN:
            value, entries = sigma(W_1 + W_2 / self.N) * delta * ball_2_to_p(self.d, p), self.d
        elif kind is ModulusKind.CONTEXTUAL:
            factor = math.sqrt(self.N - 1) / self.N
            value, entries = sigma(W_2) * factor * delta * ball_2_to_p(self.d, p), self.d
        else:
            lipschitz = max(sigma(W_1 + W_2), sigma(W_1))
            value, entries = lipschitz * delta * ball_2_to_p(self.N * self.d, p), self.N * self.d
        return min(value, 2.0 * entries ** (1.0 / p))


# --------------------------------------------------------------------------- a user's callable
@dataclass(frozen=True)
class CallableTarget(Target):
    """A user's function ``[B, N, d] → [B, N, d_out]`` wrapped with output checks.

    Each call checks that the output is a tensor of shape ``[B, N, d_out]`` with finite entries and
    raises :class:`TargetError` with one line otherwise; ``d_out`` is read off a first probe call.
    """

    function: Callable[[torch.Tensor], Any] = field(default=None, compare=False)  # type: ignore[assignment]
    label: str = "callable"
    name: ClassVar[str] = "callable"

    @property
    def spec(self) -> str:
        return self.label

    @property
    def params(self) -> dict[str, Any]:
        return {}

    @cached_property
    def d_out(self) -> int:
        probe = torch.full((1, self.N, self.d), 0.5, dtype=torch.float64)
        return int(self._checked(probe).shape[-1])

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        out = self._checked(X)
        if "d_out" in self.__dict__ and out.shape[-1] != self.d_out:
            raise TargetError(f"target {self.label} changed its output width from {self.d_out} to {out.shape[-1]}")
        return out

    def _checked(self, X: torch.Tensor) -> torch.Tensor:
        try:
            out = self.function(X)
        except InputError:
            raise
        except Exception as error:  # a user's function may raise anything: report it in one line
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise TargetError(f"target {self.label} raised {type(error).__name__}: {message}") from error
        except SystemExit as stop:  # sys.exit() inside the user's function ends the target, not loopbound
            raise TargetError(
                f"target {self.label} called sys.exit({'' if stop.code is None else repr(stop.code)}) "
                "instead of returning a tensor"
            ) from None
        if isinstance(out, torch.Tensor):
            kind = "c" if out.is_complex() else "f" if out.is_floating_point() else "i"
            dtype_name = str(out.dtype).replace("torch.", "")
        else:  # an array or nested lists: its values must be real floats too (never cast silently)
            try:
                array = np.asarray(out)
            except Exception:
                array = np.asarray(None, dtype=object)
            kind, dtype_name = array.dtype.kind, str(array.dtype)
            if kind not in "fciub":
                raise TargetError(f"target {self.label} must return a tensor, got {type(out).__name__}")
            if kind == "f":
                out = torch.as_tensor(array, dtype=X.dtype, device=X.device)
        if kind != "f":  # ints, booleans, complex numbers: not values in R^{d_out}
            raise TargetError(
                f"target {self.label} must return real floating-point values, got {dtype_name} "
                f"({'complex' if kind == 'c' else 'integer or boolean'}); return a float tensor like its input"
            )
        B = X.shape[0]
        if out.dim() != 3 or out.shape[0] != B or out.shape[1] != self.N or out.shape[2] < 1:
            raise TargetError(
                f"target {self.label} must return shape [B, N, d_out] = [{B}, {self.N}, d_out] "
                f"for input [{B}, {self.N}, {self.d}], got {list(out.shape)}"
            )
        if not bool(torch.isfinite(out).all()):
            bad = int((~torch.isfinite(out)).flatten(1).any(dim=1).nonzero()[0, 0])
            raise TargetError(f"target {self.label} returned NaN or inf at input {X[bad].detach().cpu().tolist()}")
        return out


# --------------------------------------------------------------------------- the registry
BUILTIN_TARGETS: dict[str, type[Target]] = {
    cls.name: cls
    for cls in (LinearMixing, TokenwiseHolder, ContextualMax, PrefixMean, SoftmaxAttentionTarget, SmoothTokenMean)
}
"""Built-in targets by command-line name."""


def builtin_target(name: str, *, d: int, N: int, **params: Any) -> Target:
    """Construct the built-in ``name`` with parameters; unknown names or parameters are InputErrors."""
    if name not in BUILTIN_TARGETS:
        raise InputError(f"unknown target {name!r}; built-ins are {', '.join(sorted(BUILTIN_TARGETS))}")
    cls = BUILTIN_TARGETS[name]
    allowed = {f.name: f for f in fields(cls) if f.name not in ("d", "N")}
    for key in params:
        if key not in allowed:
            choices = ", ".join(allowed) or "none"
            raise InputError(f"target {name} has no parameter {key!r} (parameters: {choices})")
    converted: dict[str, Any] = {}
    for key, value in params.items():
        kind = allowed[key].type
        try:
            converted[key] = int(value) if kind in ("int", int) else float(value)
        except (TypeError, ValueError):
            raise InputError(f"target {name}: parameter {key} must be a number, got {value!r}") from None
        if isinstance(converted[key], float) and not math.isfinite(converted[key]):
            raise InputError(f"target {name}: parameter {key} must be finite, got {value!r}")
    return cls(d=d, N=N, **converted)
