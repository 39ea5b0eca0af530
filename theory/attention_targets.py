"""One softmax and one sigmoid self-attention layer as sequence-to-sequence targets, with analytic
upper bounds on their three moduli of continuity (docs/theory.md §1 for the moduli).

Both layers share their weights, drawn once from ``seed`` and normalised so that the query-key
matrix A = W_Q W_Kᵀ/√d has spectral norm ``qk_norm`` and the value matrix V = W_V has spectral
norm 1. For X ∈ [0,1]^{N×d} with rows x_m, scores s_nm = x_n A x_mᵀ and values v_m = x_m V:

- softmax attention (Vaswani et al. 2017):   f(X)_n = Σ_m softmax_m(s_n·) v_m;
- sigmoid attention (Ramapuram et al. 2024, "Theory, analysis, and best practices for sigmoid
  self-attention", arXiv 2409.04431, with their bias b = −log N):  f(X)_n = Σ_m σ(s_nm + b) v_m.

Upper bounds (derived here; a = ‖A‖₂, ‖V‖₂ = 1, every token has ‖x‖₂ ≤ √d, and two tokens differ
by at most √d). Each modulus is at most L·δ for a Lipschitz constant L of the compared output on
the cube, and at most the diameter D of that output's range; the bound is min(Lδ, D), times
c_p(k) = k^{max(0, 1/p − 1/2)} for an output p-norm (k outputs compared).

Softmax. dπ = (diag π − ππᵀ) ds, so Σ_m dπ_m v_m = Cov_π(ds, v − c) for any centre c; take
c = (½,…,½)V, so ‖v_m − c‖ ≤ √d/2, and bound a covariance by the product of the root second moments.
- token (only x_n moves by u): ds_m = u A (x_m − ½·1)ᵀ + const + [m = n] x_n A uᵀ; the first part
  gives a·(√d/2)·(√d/2)‖u‖, the second π_n(1 − π_n)·a√d·2(√d/2)‖u‖ ≤ a d/4 ‖u‖, and the value
  term π_n ‖uV‖ ≤ π̄‖u‖, with π̄ = 1/(1 + (N − 1)e^{−a d}) the largest weight (scores of one
  query differ by at most a d). L_tok = a d/2 + π̄.
- contextual (x_n fixed, the others move by u_m): |ds_m| ≤ a√d‖u_m‖ gives a√d·(√d/2)·max‖u_m‖, the
  values Σ_m π_m‖u_m‖ ≤ (Σπ_m²)^{1/2}‖u‖ ≤ √π̄‖u‖. L_cont = a d/2 + √π̄.
- D_tok = D_cont = √d (every output lies in the hull of {xV : x ∈ cube}, of diameter ≤ √d).

Sigmoid (weights do not sum to one, so nothing centres). With σ' ≤ σ'_max, the largest σ' on
[b − a d, b + a d], and σ ≤ σ̄ = σ(b + a d):
- token: L_tok = (N + 1)σ'_max a d + σ̄ (N scores move by ≤ a√d‖u‖, the own score by 2a√d‖u‖,
  each value has norm ≤ √d; the own value moves with weight ≤ σ̄);
- contextual: L_cont = √(N − 1)(σ'_max a d + σ̄);
- D_tok = D_cont = N σ̄ √d (f_n = (Σ_m σ_m x_m)V with every entry of Σ_m σ_m x_m in [0, Nσ̄]).

Sequence (both): ‖df‖ ≤ (L_tok + √N L_cont)‖dX‖ (row n moves by L_tok‖dx_n‖ + L_cont‖dX‖), and
D_seq = √N D_tok. These are upper bounds, not exact moduli: ``exact_modulus`` is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import torch

from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.norms import ball_2_to_p, check_p
from loopbound.theory.targets import Target

__all__ = [
    "AttentionLayer",
    "SoftmaxAttention",
    "SigmoidAttention",
    "LAYERS",
    "AttentionModulusPoint",
    "attention_moduli",
    "attention_weights",
]


def attention_weights(seed: int, d: int, qk_norm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, V), float64 [d, d]: A = W_Q W_Kᵀ/√d rescaled to spectral norm ``qk_norm``, V = W_V
    rescaled to spectral norm 1, with W_Q, W_K, W_V ~ N(0, 1) drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    W = torch.randn(3, d, d, generator=generator, dtype=torch.float64)
    A = W[0] @ W[1].T / math.sqrt(d)
    A = A * (qk_norm / float(torch.linalg.matrix_norm(A, ord=2)))
    V = W[2] / float(torch.linalg.matrix_norm(W[2], ord=2))
    return A, V


@dataclass(frozen=True)
class AttentionLayer(Target):
    """Shared fields and the bound min(L·δ, D)·c_p(k) of both layers (module docstring)."""

    seed: int = 0
    qk_norm: float = 1.0
    permutation_equivariant: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.qk_norm, (int, float)) and math.isfinite(self.qk_norm) and self.qk_norm >= 0):
            raise InputError(f"qk_norm must be a finite number >= 0, got {self.qk_norm!r}")

    @cached_property
    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        return attention_weights(self.seed, self.d, float(self.qk_norm))

    def scores(self, X: torch.Tensor) -> torch.Tensor:
        """s_nm = x_n A x_mᵀ, ``[B, N, N]``."""
        A = self.weights[0].to(dtype=X.dtype, device=X.device)
        return (X @ A) @ X.transpose(1, 2)

    def values(self, X: torch.Tensor) -> torch.Tensor:
        return X @ self.weights[1].to(dtype=X.dtype, device=X.device)

    def constants(self) -> tuple[float, float, float]:  # pragma: no cover - abstract
        """(L_tok, L_cont, D_tok) of the module docstring."""
        raise NotImplementedError

    def upper_modulus(self, kind: ModulusKind, delta: float, p: float = 2.0) -> float | None:
        p = check_p(p)
        L_tok, L_cont, D_tok = self.constants()
        if kind is ModulusKind.TOKEN:
            L, D, k = L_tok, D_tok, self.d
        elif kind is ModulusKind.CONTEXTUAL:
            L, D, k = (L_cont, D_tok, self.d) if self.N > 1 else (0.0, 0.0, self.d)
        else:
            L, D, k = L_tok + math.sqrt(self.N) * L_cont, math.sqrt(self.N) * D_tok, self.N * self.d
        return min(L * float(delta), D) * ball_2_to_p(k, p)


@dataclass(frozen=True)
class SoftmaxAttention(AttentionLayer):
    """f(X)_n = Σ_m softmax_m(x_n A x_mᵀ) x_m V (module docstring: weights and bounds)."""

    name: ClassVar[str] = "softmax_attention"

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.scores(X), dim=-1) @ self.values(X)

    def constants(self) -> tuple[float, float, float]:
        a, d, N = float(self.qk_norm), self.d, self.N
        largest_weight = 1.0 / (1.0 + (N - 1) * math.exp(-a * d))
        return a * d / 2 + largest_weight, a * d / 2 + math.sqrt(largest_weight), math.sqrt(d)


@dataclass(frozen=True)
class SigmoidAttention(AttentionLayer):
    """f(X)_n = Σ_m σ(x_n A x_mᵀ − log N) x_m V (module docstring: weights and bounds)."""

    name: ClassVar[str] = "sigmoid_attention"

    @property
    def bias(self) -> float:
        """b = −log N, the bias Ramapuram et al. recommend."""
        return -math.log(self.N)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.scores(X) + self.bias) @ self.values(X)

    def constants(self) -> tuple[float, float, float]:
        a, d, N, b = float(self.qk_norm), self.d, self.N, self.bias
        low, high = b - a * d, b + a * d
        nearest = min(max(0.0, low), high)  # σ' = σ(1 − σ) peaks at 0
        slope = _sigmoid(nearest) * (1.0 - _sigmoid(nearest))
        top = _sigmoid(high)
        L_tok = (N + 1) * slope * a * d + top
        L_cont = math.sqrt(N - 1) * (slope * a * d + top)
        return L_tok, L_cont, N * top * math.sqrt(d)


def _sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))


LAYERS: dict[str, type[AttentionLayer]] = {"softmax": SoftmaxAttention, "sigmoid": SigmoidAttention}
"""The two layers compared, by short name."""


@dataclass(frozen=True)
class AttentionModulusPoint:
    """One δ of one modulus of one layer: ``lower`` is a certified lower bound (attained by a witness
    pair, :func:`loopbound.theory.modulus.estimate_moduli`), ``upper`` the analytic bound of the
    module docstring."""

    layer: str
    d: int
    N: int
    qk_norm: float
    kind: str
    delta: float
    lower: float
    upper: float


def attention_moduli(
    *,
    Ns: tuple[int, ...],
    qk_norms: tuple[float, ...],
    deltas: tuple[float, ...],
    kinds: tuple[str, ...] = ("sequence", "token", "contextual"),
    d: int = 2,
    seed: int = 0,
    p: float = 2.0,
    budget: Any = None,
) -> tuple[AttentionModulusPoint, ...]:
    """The moduli of both layers (same weights from ``seed``) at every N, ‖A‖₂ and δ: certified
    lower bounds from the witness search, analytic upper bounds beside them."""
    from loopbound.theory.modulus import SearchBudget, estimate_moduli

    points = []
    for N in Ns:
        for qk_norm in qk_norms:
            for layer, cls in LAYERS.items():
                target = cls(d=d, N=N, seed=seed, qk_norm=float(qk_norm))
                found = estimate_moduli(target, deltas, kinds, p=p, budget=budget or SearchBudget(), seed=seed)
                for kind, estimates in found.items():
                    points += [
                        AttentionModulusPoint(
                            layer, d, N, float(qk_norm), kind.value, e.delta, e.lower, float(e.upper or math.inf)
                        )
                        for e in estimates
                    ]
    return tuple(points)
