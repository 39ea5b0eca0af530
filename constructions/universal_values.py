"""The value-mapping phase of the looped universal approximator (:mod:`loopbound.constructions.universal`,
phase 3 of its module docstring): the value table ŷ_k over the valid contextual ids, its labels on
the fixed-point grid 2^−F, and what the phase adds to the fused block in either reading — with
timestep scaling (the loop's scale η(s) = ŷ'_s − ŷ'_{s−1} makes the output exactly ŷ_{k_n}) or
without (an integer register releases one bit of the greedy walk per loop, error ε_j).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import torch

from loopbound.constructions import phases
from loopbound.constructions.memorization import (
    bit_name,
    bit_register,
    bit_value_units,
    fraction_bits,
    greedy_walk,
    register_name,
    required_step,
    timestep_value_units,
    to_fixed_point,
    y_name,
)
from loopbound.constructions.snake import cell_digits, contextual_rank
from loopbound.constructions.spec import Affine, Unit, var
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.targets import Target

VALUE_FLAG = "val"


def value_table(target: Target, m: int) -> dict[int, list[float]]:
    """ŷ_k for every valid contextual id k: f at the lower corners of k's cells, read at its own
    token; k the reflected id (:func:`loopbound.constructions.snake.contextual_rank`) of the own
    cell's rank and the context's ranks in decreasing order."""
    d, N = target.d, target.N
    K0 = m**d
    corners = [[g / m for g in cell_digits(r, m, d)] for r in range(K0)]
    sequences, owners = [], []
    for ranks in itertools.combinations(range(K0 - 1, -1, -1), N):  # decreasing: the heads' order
        sequences.append([corners[r] for r in ranks])
        owners.append([(position, contextual_rank(r, ranks, K0)) for position, r in enumerate(ranks)])
    outputs = []
    X = torch.tensor(sequences, dtype=torch.float64)
    for start in range(0, len(X), 8192):
        with torch.no_grad():
            outputs.append(target(X[start : start + 8192]))
    values = torch.cat(outputs)
    table: dict[int, list[float]] = {}
    for b, pairs in enumerate(owners):
        for position, k in pairs:
            table[k] = values[b, position].tolist()
    return table


def moduli_value_error_bound(target: Target, m: int, fraction_bits: int) -> float | None:
    """ω^tok_f(δ) + ω^cont_f(δ) + 2^{1−F} at δ = 1/m, from the target's analytic upper moduli (output
    2-norm, docs/theory.md §1): the bound on every ε_j of the unscaled walk derived in
    :mod:`loopbound.constructions.universal`; None where the target knows no upper modulus."""
    token = target.upper_modulus(ModulusKind.TOKEN, 1.0 / m)
    context = 0.0 if target.N == 1 else target.upper_modulus(ModulusKind.CONTEXTUAL, 1.0 / m)
    if token is None or context is None:
        return None
    return float(token) + float(context) + 2.0 ** (1 - fraction_bits)


@dataclass(frozen=True)
class Labels:
    """The value table ŷ_k (``raw``, floats) and its labels on the 2^−F grid, one mapping per output
    coordinate; ``magnitude`` = max |ŷ| + 1 sets F."""

    raw: dict[int, list[float]]
    magnitude: float
    fraction_bits: int
    labels: list[dict[int, Fraction]]


def fixed_point_labels(target: Target, m: int, K: int) -> Labels:
    """ŷ_k for every valid id, rounded to the fixed-point grid 2^−F that the value phase walks on."""
    raw = value_table(target, m)
    magnitude = max(abs(v) for row in raw.values() for v in row) + 1.0
    F = fraction_bits(magnitude * (K + 2) * 4)
    labels = [{k: to_fixed_point(row[j], F) for k, row in raw.items()} for j in range(target.d_out)]
    return Labels(raw=raw, magnitude=magnitude, fraction_bits=F, labels=labels)


@dataclass(frozen=True)
class ValuePhase:
    """What the value-mapping phase adds to the block: coordinates, embedding constants, units,
    the timestep gate (timestep scaling only), and its claims: the error ε_j per output
    coordinate, ``output_bound`` on the failure set, and the bits its arithmetic needs."""

    coordinates: tuple[str, ...]
    embed: dict[str, Affine]
    units: tuple[Unit, ...]
    ff_gate: list[dict[str, Fraction]] | None
    ff_gate_after: dict[str, Fraction] | None
    errors: tuple[float, ...]
    output_bound: float
    value_bits: int


def timestep_value_phase(u: Affine, carried: list[list[Fraction]], t_value: int, K: int) -> ValuePhase:
    """Value mapping with timestep scaling: loop t_v + s − 1 scales the step by η(s) = ŷ'_s − ŷ'_{s−1}."""
    d_out = len(carried)
    zero_y = {y_name(j): Fraction(0) for j in range(d_out)}
    ff_gate = [dict(zero_y) for _ in range(t_value - 1)]
    for s in range(1, K + 1):
        ff_gate.append({y_name(j): carried[j][s] - carried[j][s - 1] for j in range(d_out)})
    output_bound = max(
        float(abs(carried[j][0]) + sum(abs(carried[j][s] - carried[j][s - 1]) for s in range(1, K + 1)))
        for j in range(d_out)
    )
    return ValuePhase(
        coordinates=(),
        embed={y_name(j): Affine(constant=carried[j][0]) for j in range(d_out)},
        units=tuple(timestep_value_units(u, [y_name(j) for j in range(d_out)])),
        ff_gate=ff_gate,
        ff_gate_after=zero_y,
        errors=tuple(0.0 for _ in range(d_out)),
        output_bound=output_bound,
        value_bits=0,
    )


def walk_value_phase(
    u: Affine, labels: Labels, carried: list[list[Fraction]], t_value: int, K: int, loops: int
) -> ValuePhase:
    """Value mapping without timestep scaling: an integer register per output coordinate releases
    one bit of the greedy walk per loop, and the output moves ±ε_j."""
    F = labels.fraction_bits
    coordinates = [VALUE_FLAG]
    embed: dict[str, Affine] = {VALUE_FLAG: Affine(constant=phases.initial_flag(t_value, t_value + K))}
    units: list[Unit] = list(phases.flag_units(VALUE_FLAG, t_value, t_value + K))
    bound = K + loops + 3
    padding = t_value - 2  # bit i leaves the register in loop i; value step s uses it in loop t_v + s − 1
    steps = []
    register_bits = 0
    for j in range(len(carried)):
        coordinates += [bit_name(j), register_name(j)]
        step = Fraction(math.ceil(required_step(labels.labels[j]) * 2**F), 2**F)
        signs = greedy_walk(labels.labels[j], 0, K, carried[j][0], step)
        register, first_bit, register_bits = bit_register([0] * padding + [(sign + 1) // 2 for sign in signs])
        embed[y_name(j)] = Affine(constant=carried[j][0])
        embed[bit_name(j)] = Affine(constant=first_bit)
        embed[register_name(j)] = Affine(constant=register)
        units += bit_value_units(u, j, step, var(VALUE_FLAG), bound, register_bits)
        steps.append(step)
    return ValuePhase(
        coordinates=tuple(coordinates),
        embed=embed,
        units=tuple(units),
        ff_gate=None,
        ff_gate_after=None,
        errors=tuple(float(step) for step in steps),
        output_bound=max(float(abs(carried[j][0]) + K * steps[j]) for j in range(len(carried))),
        # bit_value_units: every partial sum is an integer < 2^(L+1) or an even one < 2^(L+2)
        value_bits=register_bits + 1,
    )
