"""The building blocks of every construction and of trained looped models.

Code notation: the residual stream is ``Z: [B, N, width]``, tokens on dim 1; the
papers' d×N matrix is its transpose. One transformer block (Yun et al. 2020, arXiv 1912.10077,
eq. (1); Xu & Sato 2024, §2) is

    Z ← Z + Attn(Z),       Attn(Z)_n = Σ_h W_O^h Σ_k σ(s^h_{n,·})_k W_V^h z_k,
    Z ← Z + FF(Z),         FF(z) = W_out ReLU(W_in z + b_in) + b_out   (token-wise),

with scores s^h_{n,k} = λ (W_Q^h z_n)·(W_K^h z_k) and σ one of

- ``hardmax``: uniform weight on the keys of maximal score, 0 elsewhere. **Tie rule:** every key
  whose score equals the row maximum exactly shares the weight equally (Yun et al.'s σ_H);
- ``softmax``: softmax over keys of the scores (λ: inverse temperature; λ → ∞ tends to hardmax);
- ``sigmoid``: σ(s + b) per key, no normalisation over keys (Ramapuram et al. 2024, b ≈ −log N);
- ``linear``: the raw scores, no normalisation (von Oswald et al. 2023).

An optional ``key_mask`` [B, N] (True = may serve as a key) restricts the keys, e.g. to the
in-context examples; a [B, N, N] mask restricts them per query (a causal mask for training). :class:`LoopedTransformer` is L₂ ∘ block^r ∘ L₁ with the same block object in
every loop, an optional per-loop modulation (timestep scaling, Xu & Sato Thm 4.2), and an optional
trace of the per-loop states.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import torch
from torch import nn

from loopbound.theory.errors import InputError
from loopbound.theory.numerics import require_bits

AttentionKind = Literal["hardmax", "softmax", "sigmoid", "linear"]
ATTENTION_KINDS: tuple[str, ...] = ("hardmax", "softmax", "sigmoid", "linear")


def hardmax(scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Weights over the last dim: equal shares on the exact row maxima (ties split), 0 elsewhere.
    ``mask`` (broadcastable to ``scores``, True = allowed) removes keys before the max."""
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    top = scores.amax(dim=-1, keepdim=True)
    winners = (scores == top).to(scores.dtype)
    return winners / winners.sum(dim=-1, keepdim=True)


def _head_mask(key_mask: torch.Tensor) -> torch.Tensor:
    """A key mask broadcast over heads: [B, N_keys] (the same keys for every query) →
    [B, 1, 1, N_keys]; [B, N_queries, N_keys] (per query, e.g. causal) → [B, 1, N_queries, N_keys]."""
    return key_mask[:, None, None, :] if key_mask.dim() == 2 else key_mask[:, None, :, :]


class MultiHeadAttention(nn.Module):
    """Attention with per-head projections W_Q^h, W_K^h, W_V^h: [head_dim, width] and
    W_O^h: [width, head_dim] (parameters stacked over heads). Returns the update Attn(Z), not Z + Attn(Z)."""

    def __init__(
        self,
        width: int,
        heads: int,
        head_dim: int,
        kind: AttentionKind = "softmax",
        *,
        inverse_temperature: float | None = None,
        sigmoid_bias: float = 0.0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | None = None,
    ) -> None:
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise InputError(f"attention kind must be one of {', '.join(ATTENTION_KINDS)}, got {kind!r}")
        for name, value in (("width", width), ("heads", heads), ("head_dim", head_dim)):
            if value < 1:
                raise InputError(f"{name} must be >= 1, got {value}")
        self.kind = kind
        self.width, self.heads, self.head_dim = width, heads, head_dim
        default = 1.0 / math.sqrt(head_dim) if kind in ("softmax", "sigmoid") else 1.0
        self.inverse_temperature = default if inverse_temperature is None else float(inverse_temperature)
        self.sigmoid_bias = float(sigmoid_bias)
        self.W_Q = nn.Parameter(torch.zeros(heads, head_dim, width, dtype=dtype, device=device))
        self.W_K = nn.Parameter(torch.zeros(heads, head_dim, width, dtype=dtype, device=device))
        self.W_V = nn.Parameter(torch.zeros(heads, head_dim, width, dtype=dtype, device=device))
        self.W_O = nn.Parameter(torch.zeros(heads, width, head_dim, dtype=dtype, device=device))

    def weights(self, Z: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attention weights [B, heads, N (queries), N (keys)]."""
        Q = torch.einsum("hdw,bnw->bhnd", self.W_Q, Z)
        K = torch.einsum("hdw,bnw->bhnd", self.W_K, Z)
        scores = self.inverse_temperature * Q @ K.transpose(-1, -2)
        mask = None if key_mask is None else _head_mask(key_mask)
        if self.kind == "hardmax":
            return hardmax(scores, mask)
        if self.kind == "softmax":
            if mask is not None:
                scores = scores.masked_fill(~mask, -math.inf)
            return torch.softmax(scores, dim=-1)
        weights = torch.sigmoid(scores + self.sigmoid_bias) if self.kind == "sigmoid" else scores
        return weights if mask is None else weights * mask.to(weights.dtype)

    def forward(self, Z: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        V = torch.einsum("hdw,bnw->bhnd", self.W_V, Z)
        heads = self.weights(Z, key_mask) @ V  # [B, H, N, head_dim]
        return torch.einsum("hwd,bhnd->bnw", self.W_O, heads)


class FeedForward(nn.Module):
    """Token-wise FF(z) = W_out ReLU(W_in z + b_in) + b_out; W_in: [hidden, width], W_out: [width, hidden]."""

    def __init__(
        self, width: int, hidden: int, *, dtype: torch.dtype = torch.float64, device: torch.device | None = None
    ) -> None:
        super().__init__()
        if width < 1 or hidden < 1:
            raise InputError(f"feed-forward widths must be >= 1, got width={width}, hidden={hidden}")
        self.W_in = nn.Parameter(torch.zeros(hidden, width, dtype=dtype, device=device))
        self.b_in = nn.Parameter(torch.zeros(hidden, dtype=dtype, device=device))
        self.W_out = nn.Parameter(torch.zeros(width, hidden, dtype=dtype, device=device))
        self.b_out = nn.Parameter(torch.zeros(width, dtype=dtype, device=device))

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        # Flattened tokens, one addmm per layer: `Z @ W.T` (and F.linear) on a 3-D float64 Z take a
        # batched path that is ~1000× slower on CPU (measured with torch 2.13: 47 ms against 50 µs).
        flat = Z.reshape(-1, Z.shape[-1])
        hidden = torch.relu(torch.addmm(self.b_in, flat, self.W_in.T))
        return torch.addmm(self.b_out, hidden, self.W_out.T).view(Z.shape)


@dataclass(frozen=True)
class Modulation:
    """Per-loop factors for one block application; None means 1 (no modulation).

    ``gate_attn``, ``gate_ff``: multiply the attention / feed-forward update, per coordinate
    (timestep scaling η(t) ⊙ FF is ``gate_ff``); ``scale_attn``, ``scale_ff``: the input to each
    sublayer is RMSNorm(z) ⊙ (1 + scale) when ``normalise`` is True (the trained-practice form).
    """

    gate_attn: torch.Tensor | None = None
    gate_ff: torch.Tensor | None = None
    scale_attn: torch.Tensor | None = None
    scale_ff: torch.Tensor | None = None
    normalise: bool = False


class LoopModulation(Protocol):
    """Anything that gives the :class:`Modulation` of loop t (t = 1, 2, …)."""

    def __call__(self, t: int) -> Modulation: ...


def rms_norm(Z: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """RMSNorm without learned gain: z / sqrt(mean(z²) + eps), per token."""
    return Z * torch.rsqrt(Z.pow(2).mean(dim=-1, keepdim=True) + eps)


class ResidualBlock(nn.Module):
    """One transformer block: Z ← Z + Attn(Z); Z ← Z + FF(Z), with an optional modulation."""

    def __init__(self, attention: MultiHeadAttention, feed_forward: FeedForward) -> None:
        super().__init__()
        if attention.width != feed_forward.W_in.shape[1]:
            raise InputError(f"attention width {attention.width} != feed-forward width {feed_forward.W_in.shape[1]}")
        self.attention = attention
        self.feed_forward = feed_forward

    @property
    def width(self) -> int:
        return self.attention.width

    def forward(
        self, Z: torch.Tensor, modulation: Modulation | None = None, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if modulation is None:
            Z = Z + self.attention(Z, key_mask)
            return Z + self.feed_forward(Z)
        attn_in = Z
        if modulation.normalise:
            attn_in = rms_norm(Z) * (1 + (modulation.scale_attn if modulation.scale_attn is not None else 0))
        update = self.attention(attn_in, key_mask)
        Z = Z + (update if modulation.gate_attn is None else modulation.gate_attn * update)
        ff_in = Z
        if modulation.normalise:
            ff_in = rms_norm(Z) * (1 + (modulation.scale_ff if modulation.scale_ff is not None else 0))
        update = self.feed_forward(ff_in)
        return Z + (update if modulation.gate_ff is None else modulation.gate_ff * update)


class TableModulation(nn.Module):
    """Timestep scaling from a table (Xu & Sato Thm 4.2): loop t multiplies the feed-forward update
    by η(t) = ``table[t − 1]`` ∈ R^width; loops past the table's end use ``after`` (ones if None)."""

    table: torch.Tensor  # [loops, width], a registered buffer
    after: torch.Tensor  # [width], a registered buffer

    def __init__(self, table: torch.Tensor, after: torch.Tensor | None = None) -> None:
        super().__init__()
        if table.dim() != 2:
            raise InputError(f"a modulation table is [loops, width], got {list(table.shape)}")
        self.register_buffer("table", table)
        self.register_buffer("after", torch.ones_like(table[0]) if after is None else after)

    def forward(self, t: int) -> Modulation:
        if 1 <= t <= self.table.shape[0]:
            return Modulation(gate_ff=self.table[t - 1])
        return Modulation(gate_ff=self.after)


class SinusoidalTimestepModulation(nn.Module):
    """Timestep-modulated looping as trained in practice (docs/theory.md §4, the authors' public code):
    a sinusoidal embedding of t (``frequencies`` of them, max period 10⁴) → Linear → SiLU → Linear
    gives TE(t); SiLU → Linear(width → 4·width), zero-initialised, gives gate_attn, gate_ff,
    scale_attn, scale_ff; both sublayers see RMSNorm(z) ⊙ (1 + scale). Zero-initialised gates mean
    the block starts as the identity map."""

    def __init__(
        self, width: int, *, frequencies: int = 256, max_period: float = 1e4, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        self.frequencies, self.max_period = frequencies, max_period
        self.embed = nn.Sequential(
            nn.Linear(frequencies, width, dtype=dtype), nn.SiLU(), nn.Linear(width, width, dtype=dtype)
        )
        gates = nn.Linear(width, 4 * width, dtype=dtype)
        self.project = nn.Sequential(nn.SiLU(), gates)
        nn.init.zeros_(gates.weight)
        nn.init.zeros_(gates.bias)

    def sinusoid(self, t: int) -> torch.Tensor:
        half = self.frequencies // 2
        weight = cast(nn.Linear, self.embed[0]).weight  # embed[0] is the Linear built in __init__
        dtype, device = weight.dtype, weight.device
        freqs = torch.exp(-math.log(self.max_period) * torch.arange(half, dtype=dtype, device=device) / half)
        angles = t * freqs
        embedding = torch.cat([torch.cos(angles), torch.sin(angles)])
        if self.frequencies % 2:
            embedding = torch.cat([embedding, torch.zeros(1, dtype=dtype, device=device)])
        return embedding

    def forward(self, t: int) -> Modulation:
        gate_attn, gate_ff, scale_attn, scale_ff = self.project(self.embed(self.sinusoid(t))).chunk(4)
        return Modulation(
            gate_attn=gate_attn, gate_ff=gate_ff, scale_attn=scale_attn, scale_ff=scale_ff, normalise=True
        )


Capture = Callable[[int, torch.Tensor], None]


class LoopedTransformer(nn.Module):
    """L₂ ∘ block^r ∘ L₁ (Xu & Sato 2024, §2): token-wise linear maps outside the loop and one
    block applied ``loops`` times with the same weights.

    forward(X, loops=None, *, trace=False, capture=None, key_mask=None):
    X [B, N, d_in] → [B, N, d_out]. ``loops`` defaults to ``self.loops``. ``trace=True`` also
    returns the residual stream after each loop, [loops + 1, B, N, width] (index 0: after L₁);
    ``capture(t, Z)`` is called after every loop t (index 0 after L₁) without storing anything, so
    error against loop count costs one pass.

    ``precision_bits``: the significand bits the weights' values need (a construction's own
    statement, :func:`loopbound.constructions.spec.to_module`). Every forward checks it against the dtype the
    model holds *now*, so a model cast after it was built (``model.to(torch.float32)``) refuses with
    :class:`PrecisionError` instead of computing silently wrong values; an input of another dtype than
    the weights is an :class:`InputError` naming both. Both checks are one dtype comparison per
    forward (not per loop).
    """

    def __init__(
        self,
        embed: nn.Linear,
        block: ResidualBlock,
        readout: nn.Linear,
        *,
        loops: int,
        modulation: nn.Module | None = None,
        precision_bits: int | None = None,
    ) -> None:
        super().__init__()
        if embed.out_features != block.width or readout.in_features != block.width:
            raise InputError(
                f"embedding {embed.out_features} → block {block.width} → readout {readout.in_features}: widths differ"
            )
        if loops < 0:
            raise InputError(f"loops must be >= 0, got {loops}")
        self.embed, self.block, self.readout = embed, block, readout
        self.loops = int(loops)
        self.modulation = modulation
        self.precision_bits = precision_bits
        self._checked_dtype: torch.dtype | None = None

    @property
    def width(self) -> int:
        return self.block.width

    def forward(
        self,
        X: torch.Tensor,
        loops: int | None = None,
        *,
        trace: bool = False,
        capture: Capture | None = None,
        key_mask: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        loops = self.loops if loops is None else int(loops)
        if loops < 0:
            raise InputError(f"loops must be >= 0, got {loops}")
        if X.dim() != 3 or X.shape[-1] != self.embed.in_features:
            raise InputError(f"input must be [B, N, {self.embed.in_features}], got {list(X.shape)}")
        self._check_dtype(X)
        Z = self.embed(X)
        states: list[torch.Tensor] = [Z] if trace else []
        if capture is not None:
            capture(0, Z)
        for t in range(1, loops + 1):
            modulation = None if self.modulation is None else self.modulation(t)
            Z = self.block(Z, modulation, key_mask)
            if trace:
                states.append(Z)
            if capture is not None:
                capture(t, Z)
        out = self.readout(Z)
        return (out, torch.stack(states)) if trace else out

    def _check_dtype(self, X: torch.Tensor) -> None:
        """The input's dtype against the weights', and the weights' against ``precision_bits``."""
        dtype = self.embed.weight.dtype
        if X.dtype != dtype:
            name, wanted = str(X.dtype).replace("torch.", ""), str(dtype).replace("torch.", "")
            raise InputError(f"input is {name} but the model computes in {wanted}: pass X.to(torch.{wanted})")
        if self.precision_bits is not None and dtype != self._checked_dtype:
            require_bits(self.precision_bits, dtype, f"this model (now in {str(dtype).replace('torch.', '')})")
            self._checked_dtype = dtype

    def compile_block(self, mode: str = "default") -> LoopedTransformer:
        """Opt-in: put the block (one loop body) under ``torch.compile``; the loop stays in Python,
        so compiling does not unroll r loops. Measured on 2 CPU cores (benchmarks/loops.py): 60% of
        the matmul-bound limit against 28–39% eager, outputs bit-identical. Returns self."""
        self.block = torch.compile(self.block, dynamic=False, mode=mode)  # type: ignore[assignment]
        return self

    def parameter_count(self) -> int:
        """Parameters of L₁, the block and L₂ (the modulation's table or network not included)."""
        return sum(p.numel() for module in (self.embed, self.block, self.readout) for p in module.parameters())


def init_for_training(block: ResidualBlock, *, depth: int, generator: torch.Generator | None = None) -> None:
    """The training initialisation of one block (GPT-2, Radford et al. 2019; the scheme the
    timestep-modulated looped transformer's authors use): W_Q, W_K, W_V, W_in ~ N(0, 0.02²); the
    projections back into the residual stream W_O, W_out ~ N(0, (0.02/√(2·depth))²), ``depth`` the
    number of block applications on one path; biases 0. Constructions set every weight by hand and
    never call this; their blocks start at zero."""
    if depth < 1:
        raise InputError(f"depth must be >= 1, got {depth}")
    residual = 0.02 / math.sqrt(2 * depth)
    attention, feed_forward = block.attention, block.feed_forward
    with torch.no_grad():
        for weight in (attention.W_Q, attention.W_K, attention.W_V, feed_forward.W_in):
            weight.normal_(0.0, 0.02, generator=generator)
        for weight in (attention.W_O, feed_forward.W_out):
            weight.normal_(0.0, residual, generator=generator)
        feed_forward.b_in.zero_()
        feed_forward.b_out.zero_()
