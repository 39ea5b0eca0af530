"""The three trained models, built from loopbound.constructions.blocks with a training initialisation.

All three share an embedding e = L₁(X) (token-wise linear), pre-norm blocks
(:class:`~loopbound.constructions.blocks.ResidualBlock` with softmax attention), one RMSNorm with
learned gain after the last block and a token-wise linear readout L₂ (Xu & Sato 2024, §2):

- ``standard``: L distinct blocks, each Z ← Z + Attn(RMSNorm(Z)); Z ← Z + FF(RMSNorm(Z)), applied once;
- ``looped``: one body (``layers`` blocks, default 1) applied r times with input injection
  z_0 = 0, z_t = Body(z_{t−1} + e) (Yang et al. 2024, arXiv 2311.12424, §3), the same pre-norm;
- ``timestep``: the body modulated per loop (Xu & Sato 2024, arXiv 2410.01405, the authors'
  public code): TE(t) = Linear(SiLU(Linear(sinusoid(t)))), (gate_attn, gate_ff, scale_attn,
  scale_ff) = Linear(SiLU(TE(t))) with that last Linear zero-initialised, and
  x ← x + gate_attn(t)·Attn(RMSNorm(x)·(1 + scale_attn(t))), x ← x + gate_ff(t)·FF(RMSNorm(x)·(1 + scale_ff(t)));
  no input injection by default, so at initialisation every loop is exactly the identity.

For in-context regression a learned positional embedding is added to e (GPT-2's, as in Garg et
al. 2022 and Yang et al. 2024): without it causal attention cannot pair x_i with y_i. The RMSNorms
inside the blocks carry no learned gain (the gain is redundant: the linear maps that
read the normalised stream absorb it exactly). The authors' looped baseline applies attention's
value map to the un-normalised stream and has no norm before the feed-forward; here both sublayers
of every model read RMSNorm(z), so the looped and timestep models differ only in the modulation
(docs/training.md). Weights: N(0, 0.02²), residual projections N(0, (0.02/√(2·applications))²)
(:func:`~loopbound.constructions.blocks.init_for_training`); every draw comes from one seeded
generator, so the same seed gives the same model on every run.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import cast

import torch
from torch import nn

from loopbound.constructions.blocks import (
    FeedForward,
    Modulation,
    MultiHeadAttention,
    ResidualBlock,
    SinusoidalTimestepModulation,
    init_for_training,
)
from loopbound.training.config import TrainConfig

__all__ = ["TrainedTransformer", "build_model", "parameter_count", "parameters_of", "matched_width"]

PRE_NORM = Modulation(normalise=True)
"""The modulation of an unmodulated pre-norm block: both sublayers read RMSNorm(z)."""

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class TrainedTransformer(nn.Module):
    """L₂ ∘ RMSNorm ∘ Body^r ∘ L₁ for the three model kinds (module docstring).

    ``forward(X, loops=None, *, key_mask=None, last=1, no_grad_loops=0)`` returns the readout of the
    last ``last`` loops, [last, B, N, d_out] (index −1: after loop r); the first ``no_grad_loops``
    loops run without recording gradients (truncated backpropagation)."""

    def __init__(self, config: TrainConfig, d_in: int, d_out: int, *, generator: torch.Generator | None) -> None:
        super().__init__()
        dtype = DTYPES[config.dtype]
        width, layers = config.width, int(config.layers or 1)
        self.kind, self.loops, self.inject = config.model, config.loops, bool(config.inject)
        self.embed = nn.Linear(d_in, width, dtype=dtype)
        self.body = nn.ModuleList(
            ResidualBlock(
                MultiHeadAttention(width, config.heads, config.head_dim, "softmax", dtype=dtype),
                FeedForward(width, config.ff_mult * width, dtype=dtype),
            )
            for _ in range(layers)
        )
        self.modulations = nn.ModuleList(
            SinusoidalTimestepModulation(width, dtype=dtype) for _ in range(layers if self.kind == "timestep" else 0)
        )
        self.norm = nn.RMSNorm(width, eps=1e-6, dtype=dtype)
        self.readout = nn.Linear(width, d_out, dtype=dtype)
        tokens = int(config.N or 1) * (2 if config.is_icl else 1)
        self.positions = nn.Parameter(torch.zeros(tokens, width, dtype=dtype)) if config.positions else None
        if generator is not None:  # None: parameters left as allocated (counting on the meta device)
            self._initialise(config.applications, generator)

    def _initialise(self, applications: int, generator: torch.Generator) -> None:
        with torch.no_grad():
            for linear in (self.embed, self.readout):
                linear.weight.normal_(0.0, 0.02, generator=generator)
                linear.bias.zero_()
            for block in self.body:
                init_for_training(cast(ResidualBlock, block), depth=applications, generator=generator)
            for modulation in self.modulations:  # the timestep embedding; its gate head stays zero
                for layer in cast(SinusoidalTimestepModulation, modulation).embed:
                    if isinstance(layer, nn.Linear):
                        layer.weight.normal_(0.0, 0.02, generator=generator)
                        layer.bias.zero_()
            if self.positions is not None:
                self.positions.normal_(0.0, 0.02, generator=generator)

    def _modulation(self, t: int, index: int) -> Modulation:
        return self.modulations[index](t) if self.kind == "timestep" else PRE_NORM

    def _apply_body(self, Z: torch.Tensor, t: int, key_mask: torch.Tensor | None) -> torch.Tensor:
        for index, block in enumerate(self.body):
            Z = block(Z, self._modulation(t, index), key_mask)
        return Z

    def forward(
        self,
        X: torch.Tensor,
        loops: int | None = None,
        *,
        key_mask: torch.Tensor | None = None,
        last: int = 1,
        no_grad_loops: int = 0,
    ) -> torch.Tensor:
        loops = 1 if self.kind == "standard" else (self.loops if loops is None else int(loops))
        last = min(max(1, last), loops)
        e = self.embed(X) if self.positions is None else self.embed(X) + self.positions[: X.shape[1]]
        Z = torch.zeros_like(e) if self.inject else e
        outputs = []
        for t in range(1, loops + 1):
            with torch.no_grad() if t <= no_grad_loops else nullcontext():
                Z = self._apply_body(Z + e if self.inject else Z, t, key_mask)
            if t > loops - last:
                outputs.append(self.readout(self.norm(Z)))
        return torch.stack(outputs)


def build_model(
    config: TrainConfig, d_in: int, d_out: int, *, device: torch.device | None = None
) -> TrainedTransformer:
    """The model of ``config`` for inputs of d_in and outputs of d_out features per token,
    initialised from ``config.seed`` (the same seed, the same weights), moved to ``device``."""
    generator = torch.Generator().manual_seed(config.seed)
    model = TrainedTransformer(config, d_in, d_out, generator=generator)
    return model if device is None else model.to(device)


def parameter_count(model: nn.Module) -> int:
    """Every trainable parameter, the timestep network included."""
    return sum(parameter.numel() for parameter in model.parameters())


def matched_width(config: TrainConfig, d_in: int, d_out: int, params: int) -> int:
    """The width (a multiple of the head count) whose model of ``config``'s kind has the parameter
    count nearest to ``params``: the matched-parameter comparison (a standard model of r layers
    against a looped one of width W gets width ≈ W/√r)."""
    import dataclasses

    best, best_gap = config.heads, None
    for width in range(config.heads, 8 * config.width + 1, config.heads):
        count = parameters_of(dataclasses.replace(config, width=width), d_in, d_out)
        gap = abs(count - params)
        if best_gap is None or gap < best_gap:
            best, best_gap = width, gap
        if count > params:
            break
    return best


def parameters_of(config: TrainConfig, d_in: int, d_out: int) -> int:
    """The parameter count of ``config``'s model, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return parameter_count(TrainedTransformer(config, d_in, d_out, generator=None))
