"""A looped contextual mapping: one hardmax attention block applied N times (designed here, after
docs/theory.md §5 "Xu & Sato's looped version" and §9 "Contextual id in N loops"), in two orders:
Horner's (the standalone mapping) and the reflected order the universal approximator uses.

**Horner order (standalone).** On grid inputs (token indices g_n ∈ {0,…,m−1}^d, no two tokens in
one cell), each token has the id z_n = Σ_i g_{n,i} m^i ∈ {0, …, K₀ − 1}, K₀ = m^d. The map returns

    k_n = z_n · K₀^N + S,     S = Σ_{j=1}^{N} z_(j) K₀^{N−j},   z_(1) > z_(2) > … > z_(N)

(S: the sorted id multiset in base K₀, Horner's rule). It is a contextual mapping (Yun et al.
2020, Def. 3.1): within one input the k_n differ (their z_n do); across inputs that are not
permutations of each other the S differ, and S = k mod K₀^N, so no value is shared; it is
permutation-equivariant; all values are integers, so the separation is ≥ 1.

Construction, one block, coordinates ``taken`` (s_n), ``recv`` (scratch), ``seq`` (S):

- **attention** (one head of size 1, hardmax): query ``one``, key z_k − K₀·s_k, value z_k, added to
  ``recv``. The query is constant, so every token receives the same row-maximum: the largest id not
  yet taken (taken keys are ≤ −1 < untaken keys ≥ 0);
- **feed-forward**, under a phase flag φ ∈ {0,1} (here the coordinate ``one``; inside the
  universal approximator a flag from the loop counter):
  S ← S + φ·((K₀ − 1)S + recv)  (gated: (K₀ − 1)S + recv ∈ [0, K₀^{N+1}]), i.e. S ← K₀S + z_max;
  s_n ← s_n + φ·1[z_n = recv]    (a hat, exact on integers, shifted away by K₀ + 1 when φ = 0);
  recv ← 0.
After N loops every token is taken once, in decreasing order of id, and S is as above. Tokens in
one cell (a collision) tie in the hardmax: both are taken in one loop, and the extra loop reads
the maximum again — the failure set that Theorem 3.6's O(N²δ^d) term pays for.

**Reflected order (universal approximator).** The same loops with the cell's reflected rank r
(:mod:`loopbound.constructions.snake`) in place of z, and the reflected Horner rule: the contextual id is

    k_n = r_n·K₀^N + S_n,   S_n = Horner over j of (r_(j) if π_j = 0 else K₀ − 1 − r_(j)),
    r_(1) > … > r_(N),   π_j = ρ_n ⊕ τ_{j−1},   τ_j = ρ_(1) ⊕ … ⊕ ρ_(j)   (ρ: parity of r),

the reflected rank of the digit string (own cell, c₁, …, c_N), so consecutive ids are tuples one
grid step apart (:mod:`loopbound.constructions.snake`). It is a contextual mapping for the same
reasons (r is a bijection of the cells; S_n is S⁺ or K₀^N − 1 − S⁺ with S⁺ the reflected rank of
the sorted multiset, so S_n and r_n together determine the multiset and the own cell). Two heads of
size 1 with the same query and key r − K₀·taken deliver r_max to ``recv`` and ρ_max to
``recv_parity``; the feed-forward, under φ:

- S ← K₀S + r_max + [π = 1](K₀ − 1 − 2r_max): the gated Horner step (1 unit) and, for the two
  cases (ρ_n, τ) = (1, 0) and (0, 1) of π = 1, a gated product ReLU(v − (K₀−1)·gap) −
  ReLU(−v − (K₀−1)·gap) with gap = (1 − φ) + [ρ_n ≠ case] + [τ ≠ case] ∈ {0, …, 3} (4 units);
- τ ← τ ⊕ ρ_max under φ: ReLU(τ − ρ − (1 − φ)) + ReLU(ρ − τ − (1 − φ)) − ReLU(τ + φ − 1) (3 units);
- s_n ← s_n + φ·1[r_n = recv] (3 units); recv, recv_parity ← 0 (2 units): 13 units.

On a collision the tied tokens share r and ρ, so the heads still deliver integers and k is an
integer below K₀^{N+1}.
"""

from __future__ import annotations

from fractions import Fraction

import torch

from loopbound.constructions import gadgets, phases
from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.constructions.contextual_check import ContextualGuarantee
from loopbound.constructions.quantization import g_name, grid_size
from loopbound.constructions.snake import rank_form, rank_parity_form
from loopbound.constructions.spec import Affine, BlockSpec, Head, LoopedSpec, Unit, to_module, var
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import bits_for_integer

SOURCE = "designed here after docs/theory.md §5 (Xu & Sato's looped version) and §9"
TAKEN = "taken"
RECEIVED = "recv"
RECEIVED_PARITY = "recv_parity"
SEQUENCE = "seq"
TAU = "tau"


def token_id(d: int, m: int) -> Affine:
    """z = Σ_i g_i m^i over the grid-index coordinates."""
    form = Affine()
    for i in range(d):
        form = form + var(g_name(i)) * (m**i)
    return form


def contextual_head(d: int, m: int) -> Head:
    """Every token receives the largest id among the tokens not yet taken."""
    K0 = m**d
    return Head(
        query=var(phases.ONE),
        key=token_id(d, m) - var(TAKEN) * K0,
        value=token_id(d, m),
        out={RECEIVED: Fraction(1)},
        label="largest untaken id",
    )


def contextual_units(d: int, m: int, N: int, flag: Affine) -> list[Unit]:
    """Horner update of ``seq``, marking the received token taken, clearing ``recv`` (5 units)."""
    K0 = m**d
    horner = var(SEQUENCE) * (K0 - 1) + var(RECEIVED)
    return [
        *gadgets.gated(horner, flag, K0 ** (N + 1), {SEQUENCE: 1}, label="S ← K0·S + z_max"),
        *gadgets.hat(
            token_id(d, m) - var(RECEIVED) - (1 - flag) * (K0 + 1), {TAKEN: 1}, label="mark the received token"
        ),
        *gadgets.nonnegative(var(RECEIVED), {RECEIVED: -1}, label="clear recv"),
    ]


def horner_id(d: int, m: int, N: int) -> Affine:
    """k = z·K₀^N + S (Horner order, the standalone mapping)."""
    return token_id(d, m) * (m**d) ** N + var(SEQUENCE)


def reflected_heads(d: int, m: int) -> tuple[Head, Head]:
    """Every token receives the rank r and its parity ρ of the largest-ranked token not yet taken."""
    K0 = m**d
    key = rank_form(d) - var(TAKEN) * K0
    return (
        Head(
            query=var(phases.ONE),
            key=key,
            value=rank_form(d),
            out={RECEIVED: Fraction(1)},
            label="largest untaken rank",
        ),
        Head(
            query=var(phases.ONE),
            key=key,
            value=rank_parity_form(d),
            out={RECEIVED_PARITY: Fraction(1)},
            label="its parity",
        ),
    )


def reflected_units(d: int, m: int, N: int, flag: Affine) -> list[Unit]:
    """The reflected Horner step of ``seq``, τ ← τ ⊕ ρ_max, marking the received token taken, and
    clearing the heads' outputs (13 units; module docstring)."""
    K0 = m**d
    r_max, rho_max, rho, tau = var(RECEIVED), var(RECEIVED_PARITY), rank_parity_form(d), var(TAU)
    v = (K0 - 1) - r_max * 2
    units = gadgets.gated(
        var(SEQUENCE) * (K0 - 1) + r_max, flag, K0 ** (N + 1), {SEQUENCE: 1}, label="S ← K0·S + r_max"
    )
    for gap in ((1 - flag) + (1 - rho) + tau, (1 - flag) + rho + (1 - tau)):  # π = ρ ⊕ τ = 1
        units += [
            Unit(v - gap * (K0 - 1), {SEQUENCE: Fraction(1)}, "reflect r_max when π = 1"),
            Unit(-v - gap * (K0 - 1), {SEQUENCE: Fraction(-1)}, "reflect r_max when π = 1"),
        ]
    units += [
        Unit(tau - rho_max - (1 - flag), {TAU: Fraction(1)}, "τ ← τ ⊕ ρ_max"),
        Unit(rho_max - tau - (1 - flag), {TAU: Fraction(1)}, "τ ← τ ⊕ ρ_max"),
        Unit(tau + flag - 1, {TAU: Fraction(-1)}, "τ ← τ ⊕ ρ_max"),
        *gadgets.hat(rank_form(d) - r_max - (1 - flag) * (K0 + 1), {TAKEN: 1}, label="mark the received token"),
        *gadgets.nonnegative(r_max, {RECEIVED: -1}, label="clear recv"),
        *gadgets.nonnegative(rho_max, {RECEIVED_PARITY: -1}, label="clear recv_parity"),
    ]
    return units


def contextual_id(d: int, m: int, N: int) -> Affine:
    """The universal approximator's id k = r·K₀^N + S (reflected order)."""
    return rank_form(d) * (m**d) ** N + var(SEQUENCE)


def contextual_precision_bits(d: int, m: int, N: int) -> int:
    """The largest intermediate is the contextual id (< K₀^{N+1}) and the gated Horner
    pre-activation (≤ K₀^{N+1} in magnitude), in either order."""
    return bits_for_integer(2 * (m**d) ** (N + 1))


def looped_contextual_spec(d: int, N: int, delta: float | Fraction) -> LoopedSpec:
    """The standalone mapping: input grid points [B, N, d] (multiples of δ), output k_n [B, N, 1]."""
    if d < 1 or N < 1:
        raise InputError(f"d and N must be >= 1, got d={d}, N={N}")
    m = grid_size(delta)
    coordinates = (phases.ONE, *(g_name(i) for i in range(d)), TAKEN, RECEIVED, SEQUENCE)
    block = BlockSpec(
        coordinates,
        heads=(contextual_head(d, m),),
        units=tuple(contextual_units(d, m, N, var(phases.ONE))),
        attention="hardmax",
    )
    embed = {phases.ONE: Affine(constant=1), **{g_name(i): var(f"in{i}") * m for i in range(d)}}
    return LoopedSpec(block, d_in=d, embed=embed, readout=(horner_id(d, m, N),), loops=N)


def build_looped_contextual(
    d: int, N: int, delta: float | Fraction, *, dtype: torch.dtype = torch.float64
) -> Built[LoopedTransformer, ContextualGuarantee]:
    """The looped contextual mapping as a float module (refusing a dtype too narrow) and its guarantee."""
    spec = looped_contextual_spec(d, N, delta)
    m = grid_size(delta)
    bits = contextual_precision_bits(d, m, N)
    model = to_module(spec, dtype=dtype, precision_bits=bits)
    guarantee = ContextualGuarantee(
        construction="looped hardmax (one block, N loops)",
        source=SOURCE,
        delta=Fraction(1, m),
        d=d,
        N=N,
        claimed_separation=1,
        band=None,
        layers=1,
        loops=N,
        width=spec.block.width,
        heads=1,
        head_dim=1,
        ff_width=len(spec.block.units),
        precision_bits=bits,
        parameter_count=spec.parameter_count(),
    )
    return Built(model, guarantee)
