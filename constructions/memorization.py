"""Value mapping: a weight-tied residual feed-forward that memorises labels of integer ids, with and
without timestep scaling (Xu & Sato 2024, Lemma 4.1 and Theorem 4.2, reconstructed in
docs/theory.md §4; the construction below is derived here, after §9).

Setting. Ids k ∈ {k_first, …, K} (integers) with labels ŷ_k ∈ R^{d_out} on the *valid* ids (others
unconstrained). In value step s = 1, 2, … the block moves the output of the tokens with k ≥ s.

**With timestep scaling (Theorem 4.2).** The feed-forward adds 1[k ≥ s] (an integer step, exact) to
each output coordinate and the loop's scale η(s) = ŷ'_s − ŷ'_{s−1} multiplies it, where ŷ' carries
each valid label forward over the invalid ids. After K steps the output is
ŷ'_0 + Σ_{s ≤ k} η(s) = ŷ'_k = ŷ_k for every valid k: **exact**. Every weight needs O(log K) bits;
η is a table of K values.

**Without it (Lemma 4.1).** The weights are the same in every loop, so the labels must live in
them: a bit string β (one parameter per output coordinate) releases one bit b per loop
(an integer register, :func:`bit_value_units`), and step s moves the tokens with k ≥ s by +ε if b = 1, −ε if
not. The bits come from the **greedy walk**: from y_0, each step moves toward the next valid label.
If ε ≥ |ŷ_{k₂} − ŷ_{k₁}| / (k₂ − k₁) for all consecutive valid ids k₁ < k₂, then
|y_k − ŷ_k| ≤ ε at every valid k. Proof: at a valid k₁ the walk is within ε of ŷ_{k₁}, so its
distance to ŷ_{k₂} is at most ε + (k₂ − k₁)ε; each step shortens it by ε until it is within ε,
after which it stays within ε. With all ids valid (k₂ − k₁ = 1) this is Lemma 4.1's bound, the
largest consecutive jump, and it is attained (labels 0, 1, 1 with ε = 1 end at 0 or 2).
The register holds one bit per value step, so this variant needs about K bits of precision:
float64 refuses it beyond ~50 steps (:class:`loopbound.theory.errors.PrecisionError`) and
:mod:`loopbound.constructions.exact` evaluates it in rational arithmetic. Timestep scaling removes exactly
this precision wall.

**Fixed point.** Labels, ε and η are rounded to multiples of 2^−F (F ≤ 40, chosen so every partial
sum is an integer multiple of 2^−F below 2^52): all float64 arithmetic on them is then exact, and
the rounding (≤ 2^−F−1 per label) is reported with the guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch

from loopbound.constructions import gadgets, phases
from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.constructions.spec import Affine, BlockSpec, LoopedSpec, Unit, to_module, var
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import bits_for_integer

MAX_FRACTION_BITS = 40


def y_name(j: int) -> str:
    return f"y{j}"


def bit_name(j: int) -> str:
    return f"bit{j}"


def register_name(j: int) -> str:
    return f"reg{j}"


def fraction_bits(magnitude: float) -> int:
    """F such that magnitudes up to ``magnitude`` in steps of 2^−F stay below 2^51."""
    return max(0, min(MAX_FRACTION_BITS, 51 - bits_for_integer(math.ceil(magnitude) + 1)))


def to_fixed_point(value: float | Fraction, bits: int) -> Fraction:
    """The nearest multiple of 2^−bits (exact, a dyadic rational)."""
    return Fraction(round(Fraction(value) * 2**bits), 2**bits)


def carried_forward(labels: Mapping[int, Fraction], first: int, last: int) -> list[Fraction]:
    """ŷ'_k for k = first … last: the label at valid ids, the previous label elsewhere (the first
    valid label before the first valid id)."""
    if not labels:
        raise InputError("the value table has no valid id")
    current = labels[min(labels)]
    out = []
    for k in range(first, last + 1):
        current = labels.get(k, current)
        out.append(current)
    return out


def required_step(labels: Mapping[int, Fraction]) -> Fraction:
    """The smallest ε with |ŷ_{k₂} − ŷ_{k₁}| ≤ (k₂ − k₁)ε for consecutive valid ids."""
    ids = sorted(labels)
    step = Fraction(0)
    for k1, k2 in zip(ids, ids[1:]):
        step = max(step, abs(labels[k2] - labels[k1]) / (k2 - k1))
    return step


def greedy_walk(labels: Mapping[int, Fraction], first: int, last: int, start: Fraction, step: Fraction) -> list[int]:
    """Signs σ_s ∈ {+1, −1} for s = first+1 … last: move toward the next valid label (ties: +1)."""
    ids = sorted(labels)
    next_valid: dict[int, Fraction] = {}
    upcoming = labels[ids[-1]]
    for k in range(last, first, -1):
        upcoming = labels.get(k, upcoming)
        next_valid[k] = upcoming
    signs, y = [], start
    for s in range(first + 1, last + 1):
        sign = 1 if next_valid[s] >= y else -1
        y += sign * step
        signs.append(sign)
    return signs


def timestep_value_units(u: Affine, outputs: Sequence[str], flag: Affine | None = None, bound: int = 0) -> list[Unit]:
    """Adds 1[u ≥ 0] (u an integer form, e.g. k − s) to every output coordinate (2 units); the
    per-loop scale η(s) comes from the timestep gate. With ``flag``, the step is 0 when flag = 0
    (needs |u| ≤ bound − 2)."""
    out = {name: 1 for name in outputs}
    if flag is None:
        return gadgets.step(u, out, label="value step 1[k ≥ s]")
    return gadgets.gated_step(u, flag, bound, out, label="value step 1[k ≥ s]")


def bit_register(bits: Sequence[int], first_bit: int = 0) -> tuple[int, int, int]:
    """(initial register B₀, initial bit, L) for releasing ``bits`` one per loop after ``first_bit``.

    The register holds R = B − 2^L·bit, the bits still to come as an L-bit integer, plus the last
    released bit not yet shifted out (see :func:`bit_value_units`)."""
    L = max(1, len(bits))
    R = 0
    for bit in bits:
        if bit not in (0, 1):
            raise ValueError(f"bits must be 0 or 1, got {bit}")
        R = 2 * R + bit
    R <<= L - len(bits)
    return R + 2**L * first_bit, first_bit, L


def bit_value_units(
    u: Affine, j: int, step: Fraction, flag: Affine | None, bound: int, register_bits: int
) -> list[Unit]:
    """Output y_j moves by ε(2·1[u ≥ 0 ∧ b_j] − 1[u ≥ 0]) (gated by ``flag`` if given) using the bit
    b_j in the state, and the next bit leaves the register (8 units; see the module docstring).

    Register arithmetic, exact with L + 1 significand bits in any order of summation: with
    R = B − 2^L·b (the bits to come, R < 2^L, so B < 2^{L+1}), the next bit is 1[R ≥ 2^{L−1}] (an
    integer step whose pre-activation partial sums B − 2^L·b, B − 2^{L−1}, … are integers below
    2^{L+1}), and B ← 2B − 2^{L+1}·b, b ← next bit, which keeps R' = 2R − 2^L·b_next. The partial
    sums of that update are B − 2^{L+1}·b and 2B − 2^{L+1}·b (integers of magnitude below 2^{L+1})
    or 2B (an even integer below 2^{L+2}): each has at most L + 1 significant bits, so L + 1 bits
    hold them exactly. The count is tight: with L bits a float evaluation of the unscaled
    universal construction disagrees with exact evaluation (tested by emulating L-bit floats). (Storing the bits as a
    fraction β and shifting β ← 2β − b would add terms of size 2^L to the coordinate that holds 2^−L:
    float64 would need 2L bits.) ``bound`` must exceed |u| + 1 so a shift by it switches a step off.
    """
    L = register_bits
    gate = Affine() if flag is None else (1 - flag)
    bit, register, y = var(bit_name(j)), var(register_name(j)), y_name(j)
    return [
        *gadgets.step(u - gate * bound - (1 - bit) * bound, {y: 2 * step}, label=f"y{j}: +2ε on k ≥ s with bit 1"),
        *gadgets.step(u - gate * bound, {y: -step}, label=f"y{j}: −ε on k ≥ s"),
        *gadgets.step(register - bit * 2**L - 2 ** (L - 1), {bit_name(j): 1}, label=f"b{j} ← 1[R ≥ 2^(L−1)]"),
        *gadgets.nonnegative(register, {register_name(j): 1}, label=f"B{j} ← 2B"),
        *gadgets.nonnegative(
            bit, {register_name(j): -(2 ** (L + 1)), bit_name(j): -1}, label=f"B{j} −= 2^(L+1)·b, clear b{j}"
        ),
    ]


@dataclass(frozen=True)
class MemoriserGuarantee:
    """What a memoriser claims for ids 1 … K: exact labels (timestep) or within ``error_bound``
    per coordinate (Lemma 4.1), after ``loops`` = K − 1 loops."""

    K: int
    d_out: int
    timestep: bool
    loops: int
    error_bound: tuple[float, ...]
    label_rounding: float
    precision_bits: int
    embedding_width: int
    ff_width: int
    heads: int
    head_size: int
    parameter_count: int


def memoriser_spec(labels: Sequence[Sequence[float]], *, timestep: bool) -> Built[LoopedSpec, MemoriserGuarantee]:
    """Memorise ``labels`` [K][d_out] for ids 1 … K (the input of each token is its id).

    Loop t (c = t − 1) performs the transition to id s = t + 1 on the tokens with id ≥ s:
    u = id − c − 2. Without timestep scaling the bit for loop 1 comes from L₁ and β releases the
    bits for loops 2, 3, … (K − 2 bits).
    """
    K = len(labels)
    if K < 2:
        raise InputError(f"memorise at least 2 labels, got {K}")
    d_out = len(labels[0])
    if d_out < 1 or any(len(row) != d_out for row in labels):
        raise InputError("labels must be a [K, d_out] table with d_out >= 1")
    if any(not math.isfinite(float(v)) for row in labels for v in row):
        raise InputError("labels must be finite")
    magnitude = max(abs(float(v)) for row in labels for v in row) * (1 if timestep else K + 1) + 1
    F = fraction_bits(2 * K * magnitude)
    table = [{k: to_fixed_point(labels[k - 1][j], F) for k in range(1, K + 1)} for j in range(d_out)]
    u = var("id") - var(phases.COUNT) - 2
    coordinates = [phases.ONE, phases.COUNT, "id", *(y_name(j) for j in range(d_out))]
    units: list[Unit] = [*phases.counter_units()]
    embed: dict[str, Affine] = {phases.ONE: Affine(constant=1), "id": var("in0")}
    ff_gate = None
    if timestep:
        units += timestep_value_units(u, [y_name(j) for j in range(d_out)])
        ff_gate = [{y_name(j): table[j][t + 1] - table[j][t] for j in range(d_out)} for t in range(1, K)]
        bounds = tuple(0.0 for _ in range(d_out))
        bits = bits_for_integer(int(2 * K * magnitude * 2**F)) + 1
        for j in range(d_out):
            embed[y_name(j)] = Affine(constant=table[j][1])
    else:
        bound = K + 3
        steps = []
        for j in range(d_out):
            coordinates += [bit_name(j), register_name(j)]
            step = Fraction(math.ceil(required_step(table[j]) * 2**F), 2**F)
            signs = greedy_walk(table[j], 1, K, table[j][1], step)
            bit_values = [(sign + 1) // 2 for sign in signs]
            register, first_bit, L = bit_register(bit_values[1:], bit_values[0])
            embed[y_name(j)] = Affine(constant=table[j][1])
            embed[bit_name(j)] = Affine(constant=first_bit)
            embed[register_name(j)] = Affine(constant=register)
            units += bit_value_units(u, j, step, None, bound, L)
            steps.append(float(step))
        bounds = tuple(steps)
        bits = max(L + 1, bits_for_integer(int(2 * K * magnitude * 2**F)) + 1)
    block = BlockSpec(tuple(coordinates), heads=(), units=tuple(units), attention="hardmax")
    readout = tuple(var(y_name(j)) for j in range(d_out))
    spec = LoopedSpec(
        block,
        d_in=1,
        embed=embed,
        readout=readout,
        loops=K - 1,
        ff_gate=ff_gate,
        ff_gate_after={y_name(j): Fraction(0) for j in range(d_out)} if timestep else None,
    )
    guarantee = MemoriserGuarantee(
        K=K,
        d_out=d_out,
        timestep=timestep,
        loops=K - 1,
        error_bound=bounds,
        label_rounding=2.0 ** (-F - 1),
        precision_bits=bits,
        embedding_width=block.width,
        ff_width=len(block.units),
        heads=len(block.heads),
        head_size=block.head_size,
        parameter_count=spec.parameter_count(),
    )
    return Built(spec, guarantee)


def build_memoriser(
    labels: Sequence[Sequence[float]], *, timestep: bool, dtype: torch.dtype = torch.float64
) -> Built[LoopedTransformer, MemoriserGuarantee]:
    """The memoriser as a float module; refuses a dtype without the bits (the unscaled variant
    needs ~K bits: use :func:`loopbound.constructions.exact.exact_forward` on :func:`memoriser_spec` then)."""
    specified = memoriser_spec(labels, timestep=timestep)
    guarantee = specified.guarantee
    return Built(to_module(specified.model, dtype=dtype, precision_bits=guarantee.precision_bits), guarantee)
