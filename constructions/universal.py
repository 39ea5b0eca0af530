"""The looped universal approximator: one fused block, the same in every loop
(Xu & Sato 2024, arXiv 2410.01405, Theorem 3.6 and Theorem 4.2; the fusion is derived here after
docs/theory.md §9).

For a permutation-equivariant continuous f: [0,1]^{N×d} → R^{N×d_out} and δ = 1/m,
``build_universal(f, δ)`` returns L₂ ∘ TF^{∘r} ∘ L₁ with two hardmax heads of size 1 and one ReLU
feed-forward, whose output on every input away from the failure set below equals

    f(δ⌊X/δ⌋)_n  (the value at the cell's lower corner)           with timestep scaling,
    within ε_j of it in output coordinate j                      without (Lemma 4.1's bound),

with ε_j ≤ ω^tok_f(δ) + ω^cont_f(δ) + 2^{1−F} for every N and d (derived below).

**Phases of one block, by loop t** (a counter in the state; inside loop t the feed-forward sees
c = t − 1; flags are computed one loop ahead, :mod:`loopbound.constructions.phases`):

1. quantisation, loops 1 … m − 1 (:mod:`loopbound.constructions.quantization`): g_{n,i} ← ⌊x_{n,i}/δ⌋, exact
   off the transition bands of width 1/M; it stops by itself. Beside it the parity of each g_{n,i}
   toggles with its steps (:mod:`loopbound.constructions.snake`);
2. contextual mapping, loops m … m + d + N − 2 (:mod:`loopbound.constructions.contextual_looped`): in the
   first d − 1 the cell's reflected (boustrophedon) rank r_n ∈ {0, …, K₀ − 1} and its parity ρ_n
   settle (K₀ = m^d; consecutive ranks are neighbouring cells); in the next N the two heads hand
   every token the largest untaken rank and its parity, and the reflected Horner rule gives the
   contextual id k_n, the reflected rank of the digit string (own cell, c₁, …, c_N) with the
   context sorted by rank, distinct per token and per input up to permutation;
3. value mapping, loops t_v = m + d + N − 1 … t_v + K − 1 (:mod:`loopbound.constructions.universal_values`),
   value step s = t − t_v + 1 acting on the tokens with k_n ≥ s: with timestep scaling the loop's
   scale η(s) = ŷ'_s − ŷ'_{s−1} makes the output exactly ŷ_{k_n}; without it an integer register
   releases one bit per loop and the output moves ±ε_j, ending within ε_j = max |Δŷ_j|/Δk over
   consecutive valid ids (the greedy walk).

Here ŷ_k is f at the lower corners of the cells of k's multiset, read at its own token, for the
*valid* ids (N distinct cells, own cell among them); the walk runs over the ids 0 … K,
K = K₀^{N+1} − 1 − [N ≥ 2] (for N ≥ 2 the last id is a collision, :mod:`loopbound.theory.bounds.budgets`).
**Loop budget:** r = (m − 1) + (N + d − 1) + K, within the theory's
(δ^{−1} − 1) + N + (2δ^{−(N+1)d} − 1) (d − 1 ≤ δ^{−(N+1)d}).

**Why ε is bounded by the moduli at δ (every N and d).** The greedy walk spends one loop per id,
valid or not, so ε_j = max |Δŷ_j|/L over consecutive valid ids k₁ < k₂, L = k₂ − k₁ (plus the
fixed-point rounding, below). Consecutive ids are digit tuples one grid step apart
(:mod:`loopbound.constructions.snake`), so the path k₁ → k₂ is L unit steps: a of the own cell's
coordinates, b of the context slots' (a + b = L). Let v₁ = (z, C₁) and v₂ = (z′, C₂) (own cell,
sorted context; z ∈ C₁, z′ ∈ C₂), so |z − z′|₁ ≤ a and matching slot j to slot j moves the context
by Σ_j |c_j − c′_j|₁ ≤ b grid steps. Remove the own tokens: if z sits in slot p₁ and z′ in slot
p₂ ≠ p₁, pair the other two entries of those slots, x = c_{p₂} and y = c′_{p₁}, whose distance is
at most |x − z′|₁ + |z′ − z|₁ + |z − y|₁; so the other N − 1 tokens move by at most b + a = L grid
steps in all. Read f at the own token (permutation equivariance makes the order of the others
irrelevant): first move the others (own token fixed; Frobenius distance ≤ Lδ), then the own token
(distance ≤ aδ):

    |ŷ_{k₂} − ŷ_{k₁}| ≤ ω^cont_f(Lδ) + ω^tok_f(aδ) ≤ L·ω^cont_f(δ) + a·ω^tok_f(δ)

(subadditivity, docs/theory.md §1), and a ≤ L, so ε_j ≤ ω^tok_f(δ) + ω^cont_f(δ) in every output
coordinate (|Δŷ_j| ≤ ‖Δŷ‖_p). The construction carries the fixed-point rounding on top: labels move
by ≤ 2^{−F} more per pair and ε is rounded up to the 2^{−F} grid, so ε_j ≤ ω^tok_f(δ) +
ω^cont_f(δ) + 2^{1−F}: O(δ) for a Lipschitz f, ω(δ)-small for any continuous f. (In Horner's order a
digit wraps from K₀ − 1 to 0 between neighbouring ids, a carry that puts two far-apart inputs
next to each other, and ε stays of the order of the oscillation of f.) The construction reports its ε
exactly (``value_error_bound``).

**Failure set.** Inputs with an entry in a transition band (measure 1 − (1 − m(1/M + 2·2⁻⁴⁰))^{Nd})
or two tokens in one cell (measure 1 − Π_{j<N}(1 − j/K₀)). In a band every step stays in [0, 1],
so each output entry stays within ``output_bound`` = |ŷ'_0| + Σ_s|η(s)| (timestep) or |ŷ'_0| + Kε
(without). On a collision away from the bands all arithmetic stays in integers (equal ranks tie in
the hardmax with equal values, both tokens are taken in one loop, the spare loop reads the maximum
again), so k is an integer in 0 … K₀^{N+1} − 1 and the output is a stored value ŷ'_k (ŷ'_K for
k > K), or the walk's value within ε of it (the walk ends within ε of the last valid label): each
entry within ``collision_output_bound`` = max|ŷ'| (+ ε without timestep scaling).

**Widths** (compare the theorem's embedding 17d + 9, feed-forward 49d + 25, 2 heads of size 1),
with [d ≥ 2] = min(1, d − 1): embedding 4d + [d ≥ 2] + d_out + 7 with timestep scaling
(4d + [d ≥ 2] + 3d_out + 8 without); feed-forward 9d + 2d[d ≥ 2] + 18 (9d + 2d[d ≥ 2] + 8d_out + 21
without); two heads of size 1 — independent of N and δ (:mod:`loopbound.theory.bounds.budgets`).
With timestep scaling the per-loop scales η (one d_out-vector per value loop) come on top, as in
Theorem 4.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn

from loopbound.constructions import phases
from loopbound.constructions.built import Built
from loopbound.constructions.contextual_looped import (
    RECEIVED,
    RECEIVED_PARITY,
    SEQUENCE,
    TAKEN,
    TAU,
    contextual_id,
    contextual_precision_bits,
    reflected_heads,
    reflected_units,
)
from loopbound.constructions.exact_batch import ExactEvaluator
from loopbound.constructions.memorization import carried_forward, y_name
from loopbound.constructions.quantization import (
    DEFAULT_SHARPNESS,
    band_measure,
    g_name,
    grid_size,
    quantisation_units,
    quantiser_precision_bits,
    x_name,
)
from loopbound.constructions.sizes import (
    UniversalSizes,
    grid_for_loops,
    largest_valid_id,
    loops_for_grid,
    theory_sizes,
    universal_sizes,
)
from loopbound.constructions.snake import parity_units, rank_coordinates, rank_loops, rank_units
from loopbound.constructions.spec import Affine, BlockSpec, LoopedSpec, Unit, to_module, var
from loopbound.constructions.universal_values import (
    Labels,
    ValuePhase,
    fixed_point_labels,
    timestep_value_phase,
    walk_value_phase,
)
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import bits_for_integer
from loopbound.theory.targets import Target

CONTEXT_FLAG = "ctx"


@dataclass(frozen=True)
class UniversalGuarantee:
    """What :func:`build_universal` claims, and the sizes it has (compare 17d+9, 49d+25)."""

    delta: Fraction
    grid_size: int
    d: int
    N: int
    d_out: int
    timestep: bool
    loops: int
    quantisation_loops: int
    contextual_loops: int
    value_loops: int
    embedding_width: int
    ff_width: int
    heads: int
    head_size: int
    parameter_count: int
    precision_bits: int
    sharpness: int
    band_measure: float
    collision_measure: float
    value_error_bound: tuple[float, ...]
    label_rounding: float
    output_bound: float
    collision_output_bound: float
    valid_ids: int
    equivariance: str

    @property
    def theory_embedding_width(self) -> int:
        """Theorem 3.6's embedding width 17d + 9 (:func:`loopbound.constructions.sizes.theory_sizes`)."""
        return theory_sizes(self.grid_size, self.d, self.N).embedding_width

    @property
    def theory_ff_width(self) -> int:
        """Theorem 3.6's feed-forward width 49d + 25."""
        return theory_sizes(self.grid_size, self.d, self.N).ff_width

    @property
    def failure_measure(self) -> float:
        """Measure of the inputs where no guarantee is claimed (bands or a collision), union bound."""
        return min(1.0, self.band_measure + self.collision_measure)


def check_equivariance(target: Target, *, samples: int = 32, seed: int = 0) -> str:
    """'declared' if the target says so; else test f(πX) = πf(X) on random inputs and permutations,
    'checked numerically' if it holds, and an InputError naming a counterexample if not."""
    if target.permutation_equivariant:
        return "declared"
    if target.N == 1:
        return "trivial (N = 1)"
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(samples, target.N, target.d, generator=generator, dtype=torch.float64)
    perms = torch.stack([torch.randperm(target.N, generator=generator) for _ in range(samples)])
    out = target(X)
    permuted = target(torch.stack([X[b, perms[b]] for b in range(samples)]))
    expected = torch.stack([out[b, perms[b]] for b in range(samples)])
    gap = (permuted - expected).abs().flatten(1).amax(dim=1)
    scale = expected.abs().flatten(1).amax(dim=1) + 1.0
    worst = int(torch.argmax(gap / scale))
    if gap[worst] > 1e-9 * scale[worst]:
        raise InputError(
            f"target {target.spec} is not permutation-equivariant (f(πX) differs from πf(X) by "
            f"{float(gap[worst]):.3g} at X = {X[worst].tolist()}); Theorem 3.6 and this construction need it"
        )
    return "checked numerically"


def _block(
    d: int, m: int, N: int, d_out: int, sharpness: int, t_context: int, t_value: int, value: ValuePhase
) -> tuple[BlockSpec, dict[str, Affine]]:
    """The fused block (counter, quantisation with the grid indices' parities, the cells' reflected
    ranks, contextual mapping from loop ``t_context``, then the value phase's units) and its
    embedding constants."""
    coordinates = [
        phases.ONE,
        phases.COUNT,
        *(x_name(i) for i in range(d)),
        *(g_name(i) for i in range(d)),
        *rank_coordinates(d),
        TAKEN,
        RECEIVED,
        RECEIVED_PARITY,
        SEQUENCE,
        TAU,
        CONTEXT_FLAG,
        *(y_name(j) for j in range(d_out)),
        *value.coordinates,
    ]
    embed: dict[str, Affine] = {
        phases.ONE: Affine(constant=1),
        **{x_name(i): var(f"in{i}") for i in range(d)},
        CONTEXT_FLAG: Affine(constant=phases.initial_flag(t_context, t_value)),
        **value.embed,
    }
    units: list[Unit] = [
        *phases.counter_units(),
        *quantisation_units(d, m, sharpness),
        *parity_units(d, m, sharpness),
        *rank_units(d, m),
        *phases.flag_units(CONTEXT_FLAG, t_context, t_value),
        *reflected_units(d, m, N, var(CONTEXT_FLAG)),
        *value.units,
    ]
    block = BlockSpec(tuple(coordinates), heads=reflected_heads(d, m), units=tuple(units), attention="hardmax")
    return block, embed


def universal_spec(
    target: Target, delta: float | Fraction, *, timestep: bool = False, sharpness: int = DEFAULT_SHARPNESS
) -> Built[LoopedSpec, UniversalGuarantee]:
    """The fused block as an exact spec (``.model``), and its guarantee (see the module docstring)."""
    m = grid_size(delta)
    if not isinstance(sharpness, int) or sharpness <= m:
        raise InputError(f"sharpness M must be an integer > 1/delta = {m}, got {sharpness!r}")
    d, N, d_out = target.d, target.N, target.d_out
    equivariance = check_equivariance(target)
    sizes = universal_sizes(m, d, N, d_out, timestep=timestep)
    K, loops = sizes.value_loops, sizes.loops
    t_context = sizes.quantisation_loops + 1 + rank_loops(d)  # the first loop that takes a token
    t_value = sizes.quantisation_loops + 1 + sizes.contextual_loops  # the first value loop

    labels = fixed_point_labels(target, m, K)
    # u = k − s with s = c + 2 − t_v the value step of this loop
    u = contextual_id(d, m, N) - var(phases.COUNT) - 2 + t_value
    carried = [carried_forward(labels.labels[j], 0, K) for j in range(d_out)]
    if timestep:
        value = timestep_value_phase(u, carried, t_value, K)
    else:
        value = walk_value_phase(u, labels, carried, t_value, K, loops)
    block, embed = _block(d, m, N, d_out, sharpness, t_context, t_value, value)
    readout = tuple(var(y_name(j)) for j in range(d_out))
    spec = LoopedSpec(
        block,
        d_in=d,
        embed=embed,
        readout=readout,
        loops=loops,
        ff_gate=value.ff_gate,
        ff_gate_after=value.ff_gate_after,
    )
    built = (block.width, len(block.units), len(block.heads), block.head_size)
    if built != (sizes.embedding_width, sizes.ff_width, sizes.heads, sizes.head_size):
        raise RuntimeError(f"the universal block has sizes {built}, its formulas say {sizes}")
    return Built(spec, _guarantee(spec, sizes, m, sharpness, target, labels, value, equivariance, timestep))


def _guarantee(
    spec: LoopedSpec,
    sizes: UniversalSizes,
    m: int,
    sharpness: int,
    target: Target,
    labels: Labels,
    value: ValuePhase,
    equivariance: str,
    timestep: bool,
) -> UniversalGuarantee:
    """The guarantee of the built spec: sizes, the bits its arithmetic needs, the failure set's
    measure and the output bounds on it (module docstring)."""
    d, N, d_out = target.d, target.N, target.d_out
    K, loops = sizes.value_loops, sizes.loops
    F = labels.fraction_bits
    table_bits = bits_for_integer(int((value.output_bound + labels.magnitude) * 2**F)) + 1
    precision = max(
        quantiser_precision_bits(m, sharpness, loops),
        contextual_precision_bits(d, m, N),
        bits_for_integer(K + 2 * loops + 4),
        table_bits,
        value.value_bits,
    )
    errors = value.errors
    return UniversalGuarantee(
        delta=Fraction(1, m),
        grid_size=m,
        d=d,
        N=N,
        d_out=d_out,
        timestep=timestep,
        loops=loops,
        quantisation_loops=sizes.quantisation_loops,
        contextual_loops=sizes.contextual_loops,
        value_loops=K,
        embedding_width=sizes.embedding_width,
        ff_width=sizes.ff_width,
        heads=sizes.heads,
        head_size=sizes.head_size,
        parameter_count=spec.parameter_count(),
        precision_bits=precision,
        sharpness=sharpness,
        band_measure=band_measure(m, sharpness, N * d),
        collision_measure=1.0 - math.prod(1.0 - j / m**d for j in range(N)),
        value_error_bound=errors,
        label_rounding=2.0 ** (-F - 1),
        output_bound=value.output_bound,
        # the carried table holds only label values: its largest magnitude is the labels'
        collision_output_bound=max(float(max(map(abs, labels.labels[j].values()))) + errors[j] for j in range(d_out)),
        valid_ids=len(labels.raw),
        equivariance=equivariance,
    )


class UniversalApproximator(nn.Module):
    """The built construction: ``model`` (a LoopedTransformer, one block for every loop) or, with
    ``exact=True``, exact rational evaluation of ``spec`` (slow; no precision limit)."""

    def __init__(
        self, spec: LoopedSpec, guarantee: UniversalGuarantee, model: nn.Module | None, target: Target
    ) -> None:
        super().__init__()
        self.spec, self.guarantee, self.model = spec, guarantee, model
        self.target_spec = target.spec

    @property
    def loops(self) -> int:
        return self.guarantee.loops

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() != 3 or X.shape[1] != self.guarantee.N or X.shape[2] != self.guarantee.d:
            raise InputError(f"input must be [B, {self.guarantee.N}, {self.guarantee.d}], got {list(X.shape)}")
        if self.model is not None:
            return self.model(X)
        evaluator = getattr(self, "_exact_evaluator", None)  # compiled once, on first use
        if evaluator is None:
            evaluator = self._exact_evaluator = ExactEvaluator(self.spec)
        return evaluator.forward(X)

    def stages(self, X: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named capture points: grid indices after quantisation [B, N, d], contextual ids after the
        contextual phase [B, N], and the output [B, N, d_out]."""
        if self.model is None:
            raise InputError("stages() needs the float module; build without exact=True")
        g = self.guarantee
        names = self.spec.block.coordinates
        grid_index = [names.index(g_name(i)) for i in range(g.d)]
        ids = contextual_id(g.d, g.grid_size, g.N)
        id_weights = torch.zeros(len(names), dtype=torch.float64)
        for name, coefficient in ids.terms.items():
            id_weights[names.index(name)] = float(coefficient)
        captured: dict[str, torch.Tensor] = {}

        def capture(t: int, Z: torch.Tensor) -> None:
            if t == g.quantisation_loops:
                captured["grid"] = Z[..., grid_index].clone()
            if t == g.quantisation_loops + g.contextual_loops:
                captured["contextual_id"] = Z @ id_weights.to(Z)

        captured["output"] = self.model(X, capture=capture)
        return captured


def build_universal(
    target: Target,
    delta: float | Fraction,
    *,
    timestep: bool = False,
    dtype: torch.dtype = torch.float64,
    sharpness: int | None = None,
    device: torch.device | str | None = None,
    exact: bool = False,
) -> Built[UniversalApproximator, UniversalGuarantee]:
    """The looped universal approximator of ``target`` at δ = 1/m (module docstring), and its
    guarantee (also the approximator's ``.guarantee``).

    Refuses (PrecisionError, one line) a dtype without the bits the construction needs — float32
    always, float64 for the unscaled value mapping beyond ~50 value loops; ``exact=True`` evaluates
    the same weights in rational arithmetic instead.
    """
    specified = universal_spec(target, delta, timestep=timestep, sharpness=sharpness or DEFAULT_SHARPNESS)
    spec, guarantee = specified.model, specified.guarantee
    model = None if exact else to_module(spec, dtype=dtype, device=device, precision_bits=guarantee.precision_bits)
    return Built(UniversalApproximator(spec, guarantee, model, target), guarantee)


def cell_representative(X: torch.Tensor, delta: float | Fraction) -> torch.Tensor:
    """δ⌊X/δ⌋: the lower corner of each entry's grid cell."""
    m = grid_size(delta)
    return torch.floor(X * m) / m


__all__ = [
    "UniversalApproximator",
    "UniversalGuarantee",
    "build_universal",
    "universal_spec",
    "loops_for_grid",
    "grid_for_loops",
    "largest_valid_id",
    "cell_representative",
    "check_equivariance",
]
