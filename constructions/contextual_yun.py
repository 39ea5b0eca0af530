"""Yun et al.'s selective-shift contextual mapping: δ^{−d} + 1 hardmax attention layers.

Source: Yun, Bhojanapalli, Rawat, Reddi, Kumar 2020, "Are Transformers universal approximators of
sequence-to-sequence functions?" (arXiv 1912.10077), §4.2 and Appendix B.5 (Lemma 6);
docs/theory.md §5. The constants below are derived here (and tested), not copied.

Notation (code: tensors [B, N, d], tokens on dim 1). Grid G_δ = {0, δ, …, 1 − δ}^{N×d}, 1/δ an
integer; D := δ^{−d} cells; a token x has the id l = uᵀx with u = (1, δ^{−1}, …, δ^{−(d−1)}), so
l = δ·m with m ∈ {0, …, D − 1} its cell number; distinct tokens have ids at least δ apart.

**The selective shift.** ψ(Z; b) is one hardmax head of size 1 with query l_j − b, key l_k and
value l_k: column j receives max_k l_k if l_j > b and min_k l_k if l_j < b (keys with equal
scores have equal values, so the tie rule does not matter). Two heads give
Ψ(Z; b, b') = ψ(Z; b) − ψ(Z; b'), which is max − min on the columns with id in (b, b') and 0 on
the others. Layer ``l`` (one per grid id, in increasing order) is

    Z ← Z + D·e₁·Ψ(Z; l − δ/2, l + δ/2),

and since u₁ = 1, moving the first feature moves the id by the same amount. Ids stay multiples of
δ, so no id ever equals a threshold l ± δ/2. A last (global) layer adds K·e₁·ψ(Z; 0) with
K := δ^{−(N+1)d} = D^{N+1}.

**Derivation.** Let a valid input (distinct tokens) have sorted ids l_1 < … < l_N, cells
m_1 < … < m_N. Layer l_1 moves column 1 to l̃_1 = l_1 + D(l_N − l_1) ≥ l_1 + Dδ > (D − 1)δ, above
every grid id: a moved column is never inside a later window, and it is the new maximum. Layer l_i
(i ≥ 2) then sees min l_i and max l̃_{i−1}: l̃_i = l_i + D(l̃_{i−1} − l_i); windows of absent ids
move nothing. Unrolling,

    (E1)  l̃_N/δ = D^N m_N − (D − 1)·T,   T = Σ_i D^{N−i} m_i   (the base-D number m_1 m_2 … m_N),
    (E2)  l̃_N/δ = Σ_{i=1}^{N−1} (D^N − D^{N−i}) g_i + m_N,   g_i = m_{i+1} − m_i ≥ 1,

and l̃_i − l̃_{i−1} = (D − 1)(l̃_{i−1} − l_i) > 0, so l̃_1 < … < l̃_N.

- *Injective.* Equal l̃_N for two inputs gives D^N(m_N − m'_N) = (D − 1)(T − T') by (E1); as
  gcd(D^N, D − 1) = 1, D^N divides T − T', but 0 ≤ T, T' < D^N, so T = T': the same digits, the
  same multiset of tokens.
- *Range.* The coefficients in (E2) increase with i, so over valid inputs l̃_N runs from
  A_min = δ[(N − 1)(D^N + 1) − (D^N − D)/(D − 1)] (all g_i = 1, m_1 = 0) to
  A_max = δ[Σ_{i=1}^{N−2}(D^N − D^{N−i}) + (D^N − D)(D − N + 1) + D − 1] (m_1 = 0, m_N = D − 1,
  the slack in g_{N−1}); A_max ≤ δ[D^N(D − 1) + D − 1] < D^{N+1}δ = Kδ. Both ends are attained.
- *Global layer.* For N ≥ 2 every id is positive after the shifts, so every column receives the
  maximum l̃_N: q_i = l̃_i + K·l̃_N ∈ [K l̃_N, (K + 1) l̃_N].
- *(i)* the l̃_i are distinct. *(ii)* if l̃_N < l̃'_N then l̃'_N ≥ l̃_N + δ and
  K l̃'_N ≥ K l̃_N + Kδ > (K + 1) l̃_N: the value intervals of different multisets are disjoint.
  *(iii)* attention without positions is permutation-equivariant.
- **Separation.** Every value is an integer multiple of δ (D and K are integers), so distinct
  values differ by at least **δ** (the claim; the measured one is far larger).
- **Band.** [t_l, t_r] = [K·A_min, (K + 1)·A_max] holds every value of a valid input. An input with
  a duplicated token has k < N distinct ids; equal tokens move together, so its largest id is
  ṽ_k, by (E2) with k for N at most δ[D^k(D − 1) + D − 1] < D^{k+1}δ ≤ D^N δ ≤ A_min for N ≥ 3
  (A_min ≥ δ(D^N + 2)), and ṽ_1 ≤ (D − 1)δ < (D² − D + 1)δ = A_min for N = 2. Hence every value is
  ≤ (K + 1)(A_min − δ) < K·A_min = t_l: **outside the band**. (All tokens equal: nothing moves; an
  all-zero input has query 0, every score ties, and its value is 0.)
- *N = 1*: nothing moves, q = (K + 1)·l_1, band [0, (K + 1)(D − 1)δ].

**Precision.** Every id is a multiple of δ, every query a multiple of δ/2 and every score a multiple
of δ²/2; when 1/δ is a power of two, a binary float with t significand bits computes all of them
exactly as long as the largest one, counted in those units, is below 2^t (hardmax weights are
one-hot on valid inputs). :func:`selective_shift_precision_bits` counts them; the largest is about
δ^{−2(N+1)d}, so float32 is refused from d·(N + 1)·log₂(1/δ) ≈ 12 on, and float64 from ≈ 27.

**Deviation from the paper.** The residual stream carries a constant coordinate ``one`` (width
d + 1) because attention forms here take no bias: the query l_j − b is uᵀz − b·one. The
feed-forward part of each block is zero (the contextual-mapping layers are attention-only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn

from loopbound.constructions.blocks import ResidualBlock
from loopbound.constructions.built import Built
from loopbound.constructions.contextual_check import ContextualGuarantee
from loopbound.constructions.contextual_grid import check_shape
from loopbound.constructions.exact import apply_block
from loopbound.constructions.spec import Affine, BlockSpec, Head, block_module, var
from loopbound.theory.errors import InputError, PrecisionError
from loopbound.theory.numerics import bits_for_integer, require_bits

SOURCE = "Yun et al. 2020 (arXiv 1912.10077), §4.2 and App. B.5, Lemma 6; docs/theory.md §5"


def last_id_range(steps: int, d: int, N: int) -> tuple[int, int]:
    """(A_min/δ, A_max/δ): the range of l̃_N/δ over valid inputs (module docstring, (E2))."""
    D = steps**d
    if N == 1:
        return 0, D - 1
    A_min = (N - 1) * (D**N + 1) - (D**N - D) // (D - 1)
    A_max = sum(D**N - D ** (N - i) for i in range(1, N - 1)) + (D**N - D) * (D - N + 1) + D - 1
    return A_min, A_max


def selective_shift_band(delta: float | Fraction, *, d: int, N: int) -> tuple[Fraction, Fraction]:
    """[t_l, t_r] = [K·A_min, (K + 1)·A_max]: every value of a valid input lies inside, every value
    of an input with a duplicated token below t_l (N ≥ 2)."""
    steps, _ = check_shape(delta, d, N)
    delta = Fraction(1, steps)
    K = steps ** ((N + 1) * d)
    A_min, A_max = last_id_range(steps, d, N)
    return K * A_min * delta, (K + 1) * A_max * delta


def selective_shift_precision_bits(delta: float | Fraction, *, d: int, N: int) -> int:
    """Significand bits for an exact float evaluation: the largest id (units of δ), query (units of
    δ/2) and score (units of δ²/2 in the shift layers, δ² in the global one)."""
    steps, cells = check_shape(delta, d, N)
    K = steps ** ((N + 1) * d)
    _, A_max = last_id_range(steps, d, N)
    largest_query = A_max + cells  # |l − b| ≤ A_max·δ + Dδ, in units of δ
    counts = (
        (K + 1) * A_max,  # final ids, units of δ
        2 * largest_query,  # shift-layer queries, units of δ/2
        2 * largest_query * A_max,  # shift-layer scores, units of δ²/2
        A_max * A_max,  # global scores, units of δ²
    )
    return max(bits_for_integer(count) for count in counts)


def _token_id(steps: int, d: int) -> Affine:
    """uᵀx over the residual coordinates x0 … x{d−1}."""
    return sum((var(f"x{i}") * Fraction(steps) ** i for i in range(d)), Affine())


def selective_shift_layers(delta: float | Fraction, *, d: int, N: int) -> tuple[BlockSpec, ...]:
    """The δ^{−d} selective-shift layers (grid ids in increasing order) and the global layer, as
    exact :class:`~loopbound.constructions.spec.BlockSpec` over coordinates (one, x0, …, x{d−1})."""
    steps, cells = check_shape(delta, d, N)
    delta = Fraction(1, steps)
    coordinates = ("one", *(f"x{i}" for i in range(d)))
    token_id, one = _token_id(steps, d), var("one")
    layers = []
    for m in range(cells):
        low, high = m * delta - delta / 2, m * delta + delta / 2
        heads = (
            Head(
                query=token_id - one * low,
                key=token_id,
                value=token_id,
                out={"x0": Fraction(cells)},
                label=f"ψ(Z; {low})",
            ),
            Head(
                query=token_id - one * high,
                key=token_id,
                value=token_id,
                out={"x0": -Fraction(cells)},
                label=f"ψ(Z; {high})",
            ),
        )
        layers.append(BlockSpec(coordinates, heads, (), attention="hardmax"))
    K = Fraction(steps) ** ((N + 1) * d)
    global_head = Head(query=token_id, key=token_id, value=token_id, out={"x0": K}, label="ψ(Z; 0)")
    layers.append(BlockSpec(coordinates, (global_head,), (), attention="hardmax"))
    return tuple(layers)


@dataclass(frozen=True)
class SelectiveShiftSpec:
    """The exact weights of the construction (one source of truth) and its guarantee."""

    delta: Fraction
    d: int
    N: int
    layers: tuple[BlockSpec, ...]
    guarantee: ContextualGuarantee

    def __post_init__(self) -> None:
        if len(self.layers) != (self.delta.denominator) ** self.d + 1:
            raise ValueError(
                f"layers must hold δ^(-d) + 1 = {self.delta.denominator**self.d + 1} blocks, got {len(self.layers)}"
            )

    def exact_ids(
        self, batch: Sequence[Sequence[Sequence[Fraction]]], *, layers: int | None = None
    ) -> list[list[Fraction]]:
        """uᵀz of every token after the first ``layers`` layers (default all), evaluated in exact
        rational arithmetic with :func:`loopbound.constructions.exact.apply_block`; ``batch`` is [B][N][d]."""
        steps = self.delta.denominator
        out = []
        for X in batch:
            if len(X) != self.N or any(len(token) != self.d for token in X):
                raise InputError(f"each input must be [N, d] = [{self.N}, {self.d}]")
            state = [{"one": Fraction(1), **{f"x{i}": Fraction(x) for i, x in enumerate(token)}} for token in X]
            for block in self.layers[:layers]:
                state = apply_block(block, state)
            out.append(
                [sum((z.get(f"x{i}", Fraction(0)) * steps**i for i in range(self.d)), Fraction(0)) for z in state]
            )
        return out


def selective_shift_spec(delta: float | Fraction, *, d: int, N: int) -> SelectiveShiftSpec:
    """Yun's selective-shift contextual mapping for G_δ, N tokens of dimension d, with its guarantee."""
    steps, cells = check_shape(delta, d, N)
    delta = Fraction(1, steps)
    layers = selective_shift_layers(delta, d=d, N=N)
    guarantee = ContextualGuarantee(
        construction="selective-shift contextual mapping (hardmax)",
        source=SOURCE,
        delta=delta,
        d=d,
        N=N,
        claimed_separation=delta,
        band=selective_shift_band(delta, d=d, N=N),
        layers=cells + 1,
        width=d + 1,
        heads=2,
        head_dim=1,
        ff_width=0,
        precision_bits=selective_shift_precision_bits(delta, d=d, N=N),
        parameter_count=sum(layer.parameter_count() for layer in layers),  # L₁ and L₂ are fixed maps, not parameters
    )
    return SelectiveShiftSpec(delta, d, N, layers, guarantee)


class SelectiveShiftContextualMapping(nn.Module):
    """The stack of distinct hardmax layers: X [B, N, d] → ids [B, N] (uᵀz after the last layer).

    ``forward(X, trace=True)`` also returns the residual states [layers + 1, B, N, d + 1] (index 0:
    the embedding (1, x)). ``.spec`` holds the exact weights; inputs are cast to the module's dtype.
    """

    id_weights: torch.Tensor  # [d + 1], u over (one, x0, …), a registered buffer

    def __init__(self, spec: SelectiveShiftSpec, layers: Sequence[ResidualBlock], *, dtype: torch.dtype) -> None:
        super().__init__()
        self.spec = spec
        self.layers = nn.ModuleList(layers)
        steps = spec.delta.denominator
        weights = [0.0] + [float(steps**i) for i in range(spec.d)]  # over (one, x0, …): uᵀx
        self.register_buffer("id_weights", torch.tensor(weights, dtype=dtype))

    @property
    def guarantee(self) -> ContextualGuarantee:
        return self.spec.guarantee

    def forward(self, X: torch.Tensor, *, trace: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if X.dim() != 3 or X.shape[1] != self.spec.N or X.shape[2] != self.spec.d:
            raise InputError(f"input must be [B, N, d] = [B, {self.spec.N}, {self.spec.d}], got {list(X.shape)}")
        X = X.to(self.id_weights)
        Z = torch.cat([torch.ones_like(X[..., :1]), X], dim=-1)
        states: list[torch.Tensor] = [Z] if trace else []
        for layer in self.layers:
            Z = layer(Z)
            if trace:
                states.append(Z)
        ids = Z @ self.id_weights
        return (ids, torch.stack(states)) if trace else ids


def build_selective_shift(
    delta: float | Fraction,
    *,
    d: int,
    N: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Built[SelectiveShiftContextualMapping, ContextualGuarantee]:
    """The float module of :func:`selective_shift_spec` and its guarantee.

    Raises :class:`PrecisionError` when ``dtype`` has fewer significand bits than the construction
    needs for an exact evaluation, or when 1/δ is not a power of two (no binary float holds the
    grid and the thresholds exactly); :meth:`SelectiveShiftSpec.exact_ids` evaluates any case.
    """
    spec = selective_shift_spec(delta, d=d, N=N)
    steps = spec.delta.denominator
    if steps & (steps - 1):
        raise PrecisionError(
            f"the selective-shift mapping with delta=1/{steps} has no exact binary-float evaluation "
            "(1/delta is not a power of two); use selective_shift_spec(...).exact_ids"
        )
    bits = spec.guarantee.precision_bits
    assert bits is not None  # selective_shift_spec always states its bits
    require_bits(bits, dtype, f"the selective-shift mapping (delta=1/{steps}, d={d}, N={N})")
    module = SelectiveShiftContextualMapping(
        spec, [block_module(layer, dtype=dtype) for layer in spec.layers], dtype=dtype
    )
    module.requires_grad_(False)
    return Built(module.to(device) if device is not None else module, spec.guarantee)
