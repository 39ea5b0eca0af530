"""Quantisation to the grid G_δ by a weight-tied looped block, and Yun's layer-by-layer reference.

Mathematical object (docs/theory.md §5, §9; Yun et al. 2020, arXiv 1912.10077, §4.1). For δ = 1/m,
the quantiser maps each coordinate t ∈ [0,1) to its grid index ⌊t/δ⌋ ∈ {0, …, m−1} (the cell's
lower corner is δ⌊t/δ⌋).

**Looped quantiser (one block, m − 1 loops, "stops by itself").** Coordinates: ``one``, ``count``
(see :mod:`loopbound.constructions.phases`: loop t sees c = t − 1), and per input coordinate i the copy
``x{i}`` and the index ``g{i}`` (starting at 0). In loop t the feed-forward adds

    s_M(x_i − tδ) = ReLU(M(x_i − (c + 1)δ) + 1) − ReLU(M(x_i − (c + 1)δ)),

which is 1 when x_i ≥ tδ and 0 when x_i ≤ tδ − 1/M. After loops 1 … m−1,
g_i = #{k ≤ m−1 : x_i ≥ kδ} = ⌊x_i/δ⌋ for every x_i outside the **transition bands**
(kδ − 1/M, kδ), k = 1 … m (the band at k = m guards x_i close to 1). Later loops add 0 without a
gate: their thresholds tδ ≥ 1 exceed x_i + 1/M. Per coordinate the bands have measure m/M (for
M > m), so for a uniform input X ∈ [0,1)^{N×d} the probability that some entry is in a band is
exactly 1 − (1 − m/M)^{Nd}.

Float arithmetic: M x_i is exact for M a power of two; the thresholds Mδt are rounded when m is
not a power of two, which moves each band edge by at most 2⁻⁴⁰ for the sizes used here; the
reported band measure adds that margin (:func:`band_measure`). Exact rational evaluation
(:mod:`loopbound.constructions.exact`) has no such margin.

**Yun's layer-by-layer reference.** The same steps, one per layer with its own threshold: layer k
adds s_M(x_i − kδ) to g_i (k = 1 … m−1), a stack of m − 1 distinct blocks (Yun et al. use d/δ + d
width-1 layers; here each layer handles all d coordinates at once with 2d units). It has the same
exactness off the bands and serves as the layer-by-layer counterpart of the looped block.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn

from loopbound.constructions import gadgets, phases
from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.constructions.spec import Affine, BlockSpec, LoopedSpec, Unit, block_module, to_module, var
from loopbound.theory.deltas import grid_steps
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import bits_for_integer

DEFAULT_SHARPNESS = 2**30
ROUNDING_MARGIN = 2.0**-40


def grid_size(delta: float | Fraction) -> int:
    """m = 1/δ, which must be an integer ≥ 2 (:func:`loopbound.theory.deltas.grid_steps`)."""
    return grid_steps(delta)


def x_name(i: int) -> str:
    return f"x{i}"


def g_name(i: int) -> str:
    return f"g{i}"


def quantisation_units(d: int, m: int, sharpness: int) -> list[Unit]:
    """Loop t adds s_M(x_i − tδ) to g_i for every i (2d units); see the module docstring."""
    delta, M = Fraction(1, m), Fraction(sharpness)
    units: list[Unit] = []
    for i in range(d):
        threshold_gap = var(x_name(i)) - (var(phases.COUNT) + 1) * delta
        units += gadgets.step(threshold_gap, {g_name(i): 1}, sharpness=M, label=f"quantise x{i}")
    return units


def band_measure(m: int, sharpness: int, entries: int, *, rounding_margin: float = ROUNDING_MARGIN) -> float:
    """P(some of ``entries`` uniform coordinates lies in a transition band, or within the rounding
    margin of a band edge): 1 − (1 − m(1/M + 2·margin))^entries."""
    per_entry = min(1.0, m * (1.0 / sharpness + 2 * rounding_margin))
    return float(1.0 - (1.0 - per_entry) ** entries)


@dataclass(frozen=True)
class QuantiserGuarantee:
    """What the looped quantiser claims: grid indices ⌊x/δ⌋ exactly off the bands (no attention:
    ``heads`` = 0; the float block stores one zero head of size 1, counted in ``parameter_count``)."""

    delta: Fraction
    grid_size: int
    d: int
    loops: int
    sharpness: int
    band_width: float
    band_measure_per_token: float
    precision_bits: int
    embedding_width: int
    ff_width: int
    heads: int
    head_size: int
    parameter_count: int


def looped_quantiser_spec(d: int, delta: float | Fraction, *, sharpness: int = DEFAULT_SHARPNESS) -> LoopedSpec:
    """The weight-tied quantiser as an exact spec: input [B, N, d], output the grid indices [B, N, d]."""
    m = grid_size(delta)
    _check_sharpness(sharpness, m)
    coordinates = (phases.ONE, phases.COUNT, *(x_name(i) for i in range(d)), *(g_name(i) for i in range(d)))
    units = [*phases.counter_units(), *quantisation_units(d, m, sharpness)]
    block = BlockSpec(coordinates, heads=(), units=tuple(units), attention="hardmax")
    embed = {phases.ONE: Affine(constant=1), **{x_name(i): var(f"in{i}") for i in range(d)}}
    readout = tuple(var(g_name(i)) for i in range(d))
    return LoopedSpec(block, d_in=d, embed=embed, readout=readout, loops=m - 1)


def _check_sharpness(sharpness: int, m: int) -> None:
    if not isinstance(sharpness, int) or sharpness <= m:
        raise InputError(f"sharpness M must be an integer > 1/delta = {m}, got {sharpness!r}")


def quantiser_precision_bits(m: int, sharpness: int, loops: int) -> int:
    """Bits the looped quantiser needs.

    Rounding matters only near a threshold, where |M(x − tδ)| ≲ M: there a relative precision of
    2^−42 keeps every band edge within the 2^−40 margin of :func:`band_measure`, and ulp(M) ≤ ½ keeps
    ReLU(v + 1) − ReLU(v) = 1 exactly for 0 ≤ v ≤ M (log₂M + 2 bits). Far from a threshold the
    pre-activation is hugely negative and only its sign matters. The counter must stay an exact
    integer up to ``loops``.
    """
    return max(42, bits_for_integer(sharpness) + 2, bits_for_integer(loops + 1))


def build_looped_quantiser(
    d: int, delta: float | Fraction, *, sharpness: int = DEFAULT_SHARPNESS, dtype: torch.dtype = torch.float64
) -> Built[LoopedTransformer, QuantiserGuarantee]:
    """The looped quantiser as a float module with its guarantee."""
    spec = looped_quantiser_spec(d, delta, sharpness=sharpness)
    m = grid_size(delta)
    bits = quantiser_precision_bits(m, sharpness, spec.loops)
    model = to_module(spec, dtype=dtype, precision_bits=bits)
    guarantee = QuantiserGuarantee(
        delta=Fraction(1, m),
        grid_size=m,
        d=d,
        loops=spec.loops,
        sharpness=sharpness,
        band_width=1.0 / sharpness,
        band_measure_per_token=band_measure(m, sharpness, d),
        precision_bits=bits,
        embedding_width=spec.block.width,
        ff_width=len(spec.block.units),
        heads=len(spec.block.heads),
        head_size=spec.block.head_size,
        parameter_count=spec.parameter_count(),
    )
    return Built(model, guarantee)


class LayerwiseQuantiser(nn.Module):
    """Yun's layer-by-layer quantiser: m − 1 distinct blocks, layer k adds s_M(x_i − kδ) to g_i.

    Input [B, N, d] → grid indices [B, N, d]. Each layer's weights come from an exact
    :class:`BlockSpec` (``self.specs``), so the same layers can be evaluated exactly.
    """

    def __init__(
        self, d: int, delta: float | Fraction, *, sharpness: int = DEFAULT_SHARPNESS, dtype: torch.dtype = torch.float64
    ) -> None:
        super().__init__()
        m = grid_size(delta)
        _check_sharpness(sharpness, m)
        self.d, self.m = d, m
        coordinates = (phases.ONE, *(x_name(i) for i in range(d)), *(g_name(i) for i in range(d)))
        self.specs: list[BlockSpec] = []
        for k in range(1, m):
            units = []
            for i in range(d):
                units += gadgets.step(
                    var(x_name(i)) - var(phases.ONE) * Fraction(k, m), {g_name(i): 1}, sharpness=sharpness
                )
            self.specs.append(BlockSpec(coordinates, heads=(), units=tuple(units), attention="hardmax"))
        self.layers = nn.ModuleList(block_module(spec, dtype=dtype) for spec in self.specs)
        self.dtype = dtype

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() != 3 or X.shape[-1] != self.d:
            raise InputError(f"input must be [B, N, {self.d}], got {list(X.shape)}")
        B, N, _ = X.shape
        Z = torch.cat(
            [torch.ones(B, N, 1, dtype=self.dtype), X.to(self.dtype), torch.zeros(B, N, self.d, dtype=self.dtype)],
            dim=-1,
        )
        for layer in self.layers:
            Z = layer(Z)
        return Z[..., 1 + self.d :]
