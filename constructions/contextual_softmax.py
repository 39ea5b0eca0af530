"""A contextual mapping by one softmax attention layer with rank-1 weights (the Boltzmann operator).

Source: Kajitsuka & Sato 2024, "Are Transformers with One Layer Self-Attention Using Low-Rank
Weight Matrices Universal Approximators?" (ICLR 2024, arXiv 2307.14023), the Boltzmann-operator
view of softmax attention; docs/theory.md §5. The construction follows the paper's structure (one
softmax layer, W_Q, W_K, W_V, W_O of rank 1, the token's value moved by a small multiple of a
Boltzmann average). **Its constants — the scalar token id, the output scale 1/D, the separation
bound and the inverse temperature λ₀ from which it holds — are derived here, not taken from the
paper**, whose own statement was not checked against its text.

**The map.** Grid G_δ, D := δ^{−d} cells; a token x in cell m (x_i = k_i δ, m = Σ k_i δ^{−i})
gets the scalar id a = 1 + m = vᵀ(1, x) ∈ {1, …, D} with v = (1, δ^{−1}, …, δ^{−d}) (the constant
coordinate keeps a ≥ 1: the paper's tokens are bounded away from 0, the grid holds the zero
token). One softmax head with query = key = value = a and inverse temperature λ gives token k

    s_k = Σ_i a_i e^{λ a_k a_i} / Σ_j e^{λ a_k a_j} = boltz(λ a_k·a)/(λ a_k),
    boltz(b) := Σ_i b_i e^{b_i} / Σ_j e^{b_j}     (the Boltzmann operator),

a weighted mean of the ids, and W_O = (1/D)·e_ctx writes it to a fresh coordinate; the contextual
value is c_k = a_k + s_k/D (readout vᵀz + ctx). Rank 1: W_Qᵀ W_K = λ v vᵀ, W_O W_V = (1/D) e_ctx vᵀ.

**Derivation of the guarantee.** Fix a query id α, let A ∋ α be the set of ids of an input (distinct
tokens), M = max A, G = {M − a : a ∈ A, a ≠ M} its gaps, β = λα ≥ λ, r = e^{−β}. Then
s(α, A) = M − T(G) with T(G) = Σ_{g∈G} g e^{−βg} / (1 + Σ_{g∈G} e^{−βg}) ≤ τ(r) := r/(1 − r)².

- Different tokens: s ∈ [1, D] gives |c − c'| ≥ |a − a'| − (D − 1)/D ≥ 1/D. So (i) always holds,
  and (ii) reduces to: s(α, ·) is injective on the sets containing α.
- Case 1, M > M': s(A) − s(A') ≥ M − τ − M' ≥ 1 − τ(r).
- Case 2, M = M', G ≠ G': let k = min(G Δ G'), say k ∈ G; C = G ∩ [1, k) = G' ∩ [1, k). Writing
  T(G) − T(G') = Nₖ/(Q Q') with Q, Q' ≤ 1/(1 − r), the numerator is rᵏ(k + Σ_{g∈C}(k − g)e^{−βg})
  ≥ k rᵏ plus four terms whose sum is at most k rᵏ·ρ(r),
      ρ(r) = r·τ + (r + r²)/(1 − r)·[2/(1 − r) + r/(1 − r)²] + τ·r/(1 − r),
  (each bounded by geometric sums over gaps > k). Hence T(G) − T(G') ≥ k rᵏ(1 − ρ(r))(1 − r)² > 0
  when ρ(r) < 1: the set holding the larger element at the first difference (in decreasing order)
  has the smaller s. As k ≤ M − 2 ≤ D − 2, α ≤ D and ρ, τ increase with r ≤ e^{−λ}:
- **Claim.** For λ > λ₀ := inf{λ : ρ(e^{−λ}) < 1} ≈ 1.601 the map is a contextual mapping with
  separation at least (1/D)·min(1, 1 − τ(e^{−λ}), e^{−λD(D−2)}(1 − ρ(e^{−λ}))(1 − e^{−λ})²) (the
  last two terms only when 2 ≤ N ≤ D − 1, where two different sets can share a query token).
  It is exponentially small in D² — float64 holds it only for D ≤ 4 (δ^{−d} ≤ 4).
- **Order.** Above λ₀ the values for one query token are ordered by the key
  (M, −a₍₂₎, −a₍₃₎, …) of the sorted ids, the hardmax (λ → ∞) order.
  :func:`loopbound.constructions.contextual_onset.softmax_onset` finds,
  by a downward scan and bisection in high-precision arithmetic, where this order last breaks:
  there two non-permutation inputs share a value (a sign change of a continuous difference), and
  for every larger λ the property holds. Below that point the map fails only at isolated λ (and
  at λ = 0 where s is the mean, e.g. {1, 2, 5} and {1, 3, 4} collide), so the onset is the last
  failure, not the edge of an interval of failures.

**Precision.** Each float value is within C·2^{−t} of the exact one, C = 2λD² + 2N + 2D + 6 (a
first-order bound: relative error of the scores ≤ λD²·2^{−t} carried through exp, the sum and
the division; the tests compare it with high-precision values), so a dtype needs
t ≥ log₂(4C/separation) + 1 bits to resolve the claimed separation; :func:`build_boltzmann`
refuses a dtype with fewer. High-precision evaluation of the same weights: :meth:`BoltzmannSpec.ids_mp`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import mpmath
import torch
from torch import nn

from loopbound.constructions.built import Built
from loopbound.constructions.contextual_check import ContextualGuarantee
from loopbound.constructions.contextual_grid import check_shape
from loopbound.constructions.exact import apply_softmax_block_mp, to_mp
from loopbound.constructions.spec import Affine, BlockSpec, Head, block_module, var
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import require_bits

SOURCE = "Kajitsuka & Sato 2024 (arXiv 2307.14023), Boltzmann operator; constants derived in constructions/contextual_softmax.py"
DEFAULT_INVERSE_TEMPERATURE = 2.0  # the first integer above λ₀ ≈ 1.601


def boltzmann_operator(b: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """boltz(b) = Σ_i b_i e^{b_i} / Σ_j e^{b_j} along ``dim`` (the softmax-weighted mean of b)."""
    return (torch.softmax(b, dim=dim) * b).sum(dim=dim)


def _tau(r: float) -> float:
    return r / (1 - r) ** 2


def _rho(r: float) -> float:
    tau = _tau(r)
    return r * tau + (r + r * r) / (1 - r) * (2 / (1 - r) + r / (1 - r) ** 2) + tau * r / (1 - r)


@lru_cache(maxsize=1)
def sufficient_inverse_temperature() -> float:
    """λ₀ = inf{λ : ρ(e^{−λ}) < 1} (module docstring), by bisection to 1e-12."""
    low, high = 0.1, 10.0  # ρ(e^{−0.1}) ≫ 1, ρ(e^{−10}) ≪ 1
    while high - low > 1e-12:
        mid = (low + high) / 2
        low, high = (mid, high) if _rho(math.exp(-mid)) >= 1 else (low, mid)
    return high


def boltzmann_separation_bound(delta: float | Fraction, *, d: int, N: int, inverse_temperature: float) -> Any:
    """The claimed separation at inverse temperature λ (module docstring), as an mpmath number
    (it falls far below the smallest float64 for D ≥ 16); None for λ ≤ λ₀."""
    _, D = check_shape(delta, d, N)
    lam = float(inverse_temperature)
    if not lam > 0:
        return None
    r = math.exp(-lam)
    if _rho(r) >= 1:
        return None
    terms = [mpmath.mpf(1)]
    if 2 <= N <= D - 1:
        terms.append(mpmath.mpf(1 - _tau(r)))
        terms.append(mpmath.exp(-mpmath.mpf(lam) * D * (D - 2)) * (1 - _rho(r)) * (1 - r) ** 2)
    return min(terms) / D


def roundoff_factor(D: int, N: int, inverse_temperature: float) -> float:
    """C with |c_float − c| ≤ C·2^{−t} in a dtype with t significand bits (first order)."""
    return 2 * float(inverse_temperature) * D * D + 2 * N + 2 * D + 6


def boltzmann_block(delta: float | Fraction, *, d: int, inverse_temperature: float | Fraction) -> BlockSpec:
    """The softmax layer over coordinates (one, x0, …, x{d−1}, ctx): one head, query = key = value
    = a = one + Σ_i δ^{−(i+1)} x_i, inverse temperature λ, output (1/D)·s into ``ctx``."""
    steps = check_shape(delta, d, 1)[0]
    D = steps**d
    lam = Fraction(inverse_temperature)
    if lam <= 0:
        raise InputError(f"inverse_temperature must be > 0, got {inverse_temperature}")
    coordinates = ("one", *(f"x{i}" for i in range(d)), "ctx")
    a = var("one") + sum((var(f"x{i}") * Fraction(steps) ** (i + 1) for i in range(d)), Affine())
    head = Head(query=a, key=a, value=a, out={"ctx": Fraction(1, D)}, label="Boltzmann average")
    return BlockSpec(coordinates, (head,), (), attention="softmax", inverse_temperature=lam)


@dataclass(frozen=True)
class BoltzmannSpec:
    """The exact weights of the one-layer softmax contextual mapping and its guarantee."""

    delta: Fraction
    d: int
    N: int
    inverse_temperature: float
    block: BlockSpec
    guarantee: ContextualGuarantee

    def __post_init__(self) -> None:
        if not self.inverse_temperature > 0:
            raise ValueError(f"inverse_temperature must be > 0, got {self.inverse_temperature!r}")

    @property
    def cells(self) -> int:
        return self.delta.denominator**self.d

    def default_dps(self) -> int:
        """Decimal digits that resolve separations down to e^{−λD(D−2)}/D, with 30 to spare."""
        D = self.cells
        return 30 + math.ceil((self.inverse_temperature * D * max(D - 2, 1) + math.log(D)) / math.log(10))

    def ids_mp(self, batch: Sequence[Sequence[Sequence[Fraction]]], *, dps: int | None = None) -> list[list[Any]]:
        """The contextual values c = a + ctx of every token, in mpmath with ``dps`` digits (default
        :meth:`default_dps`); ``batch`` is [B][N][d] grid points as fractions."""
        steps = self.delta.denominator
        out = []
        with mpmath.workdps(dps or self.default_dps()):
            for X in batch:
                if len(X) != self.N or any(len(token) != self.d for token in X):
                    raise InputError(f"each input must be [N, d] = [{self.N}, {self.d}]")
                state = [
                    {"one": Fraction(1), "ctx": Fraction(0), **{f"x{i}": Fraction(x) for i, x in enumerate(token)}}
                    for token in X
                ]
                state = apply_softmax_block_mp(self.block, state)
                out.append(
                    [
                        to_mp(1 + sum((z[f"x{i}"] * steps ** (i + 1) for i in range(self.d)), Fraction(0)))
                        + to_mp(z["ctx"])
                        for z in state
                    ]
                )
        return out


def boltzmann_spec(
    delta: float | Fraction, *, d: int, N: int, inverse_temperature: float | Fraction = DEFAULT_INVERSE_TEMPERATURE
) -> BoltzmannSpec:
    """The one-layer softmax contextual mapping for G_δ, N tokens of dimension d, at inverse
    temperature λ, with its guarantee (no separation claimed for λ ≤ λ₀)."""
    steps, D = check_shape(delta, d, N)
    lam = float(inverse_temperature)
    if not lam > 0 or not math.isfinite(lam):
        raise InputError(f"inverse_temperature must be a finite number > 0, got {inverse_temperature}")
    separation = boltzmann_separation_bound(delta, d=d, N=N, inverse_temperature=lam)
    C = roundoff_factor(D, N, lam)
    bits = None if separation is None else int(mpmath.ceil(mpmath.log(4 * C / separation, 2))) + 1
    block = boltzmann_block(delta, d=d, inverse_temperature=inverse_temperature)  # exact λ for a Fraction
    guarantee = ContextualGuarantee(
        construction="one-layer softmax contextual mapping (Boltzmann operator, rank-1 weights)",
        source=SOURCE,
        delta=Fraction(1, steps),
        d=d,
        N=N,
        claimed_separation=separation,
        band=None,
        layers=1,
        width=d + 2,
        heads=1,
        head_dim=1,
        ff_width=0,
        precision_bits=bits,
        roundoff_factor=C,
        inverse_temperature=lam,
        parameter_count=block.parameter_count(),  # L₁ and L₂ are fixed maps, not parameters
    )
    return BoltzmannSpec(Fraction(1, steps), d, N, lam, block, guarantee)


class BoltzmannContextualMapping(nn.Module):
    """X [B, N, d] → c [B, N]: embed (1, x, 0), one softmax block, read out a + ctx."""

    readout_weights: torch.Tensor  # [d + 2], a + ctx over (1, x, 0), a registered buffer

    def __init__(self, spec: BoltzmannSpec, *, dtype: torch.dtype) -> None:
        super().__init__()
        self.spec = spec
        self.block = block_module(spec.block, dtype=dtype)
        steps = spec.delta.denominator
        weights = [1.0] + [float(steps ** (i + 1)) for i in range(spec.d)] + [1.0]  # a + ctx
        self.register_buffer("readout_weights", torch.tensor(weights, dtype=dtype))

    @property
    def guarantee(self) -> ContextualGuarantee:
        return self.spec.guarantee

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() != 3 or X.shape[1] != self.spec.N or X.shape[2] != self.spec.d:
            raise InputError(f"input must be [B, N, d] = [B, {self.spec.N}, {self.spec.d}], got {list(X.shape)}")
        X = X.to(self.readout_weights)
        ones = torch.ones_like(X[..., :1])
        Z = self.block(torch.cat([ones, X, torch.zeros_like(ones)], dim=-1))
        return Z @ self.readout_weights


def build_boltzmann(
    delta: float | Fraction,
    *,
    d: int,
    N: int,
    inverse_temperature: float = DEFAULT_INVERSE_TEMPERATURE,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Built[BoltzmannContextualMapping, ContextualGuarantee]:
    """The float module of :func:`boltzmann_spec` and its guarantee; raises
    :class:`~loopbound.theory.errors.PrecisionError` when ``dtype`` cannot resolve the claimed separation
    (then use :meth:`BoltzmannSpec.ids_mp`). Below λ₀ nothing is claimed and nothing is refused."""
    spec = boltzmann_spec(delta, d=d, N=N, inverse_temperature=inverse_temperature)
    if spec.guarantee.precision_bits is not None:
        require_bits(
            spec.guarantee.precision_bits,
            dtype,
            f"the softmax contextual mapping (delta={spec.delta}, d={d}, N={N}, λ={spec.inverse_temperature})",
        )
    module = BoltzmannContextualMapping(spec, dtype=dtype).requires_grad_(False)
    return Built(module.to(device) if device is not None else module, spec.guarantee)
