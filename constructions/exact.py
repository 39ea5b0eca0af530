"""Exact rational evaluation of a :class:`~loopbound.constructions.spec.LoopedSpec`.

The hardmax and linear constructions are piecewise-linear maps with rational weights, so on
rational inputs every intermediate value is rational: evaluating them with
:class:`fractions.Fraction` checks a construction's guarantee with no rounding at all, and
evaluates constructions whose bit content no float holds (the value mapping without timestep
scaling stores ~K bits in one weight).

Softmax attention involves exp, so :func:`exact_forward` refuses it; beside it,
:func:`apply_softmax_block_mp` evaluates a softmax block in mpmath at any working precision, with
scores computed exactly and only exp and the normalisation rounded. Sigmoid attention is refused.

The evaluation is sparse: each unit touches only the coordinates its affine form names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal, overload

import mpmath

from loopbound.constructions.spec import Affine, BlockSpec, Head, LoopedSpec, head_rows
from loopbound.theory.errors import InputError

State = list[dict[str, Fraction]]  # one dict of coordinates per token


def _apply(form: Affine, z: dict[str, Fraction]) -> Fraction:
    total = form.constant
    for name, coefficient in form.terms.items():
        value = z.get(name)
        if value:
            total += coefficient * value
    return total


def to_fractions(X: Sequence[Sequence[float | Fraction]]) -> list[list[Fraction]]:
    """An [N, d] input as exact fractions (floats are converted exactly, binary value and all)."""
    return [[value if isinstance(value, Fraction) else Fraction(value) for value in row] for row in X]


def embed(spec: LoopedSpec, X: Sequence[Sequence[Fraction]]) -> State:
    """L₁ applied token-wise to one input [N, d_in]."""
    names = spec.input_names()
    state = []
    for token in X:
        if len(token) != spec.d_in:
            raise InputError(f"each token must have {spec.d_in} features, got {len(token)}")
        inputs = dict(zip(names, token))
        state.append({name: _apply(form, inputs) for name, form in spec.embed.items()})
    return state


def apply_block(block: BlockSpec, state: State, gate: Mapping[str, Fraction] | None = None) -> State:
    """One application of ``block`` to one sequence; ``gate`` scales the feed-forward update per
    coordinate (timestep scaling)."""
    if block.attention not in ("hardmax", "linear"):
        raise InputError(f"exact evaluation supports hardmax and linear attention, not {block.attention}")
    lam = block.inverse_temperature
    updated = [dict(z) for z in state]
    for head in block.heads:
        queries, key_forms, value_forms, routes = head_rows(head)
        keys = [[_apply(form, z) for form in key_forms] for z in state]
        values = [[_apply(form, z) for form in value_forms] for z in state]
        for n, z in enumerate(state):
            q = [_apply(form, z) for form in queries]
            scores = [lam * sum((a * b for a, b in zip(q, k)), Fraction(0)) for k in keys]
            if block.attention == "hardmax":
                top = max(scores)
                winners = [values[i] for i, s in enumerate(scores) if s == top]
                output = [sum((w[b] for w in winners), Fraction(0)) / len(winners) for b in range(len(value_forms))]
            else:
                output = [sum((s * v[b] for s, v in zip(scores, values)), Fraction(0)) for b in range(len(value_forms))]
            for route, component in zip(routes, output):
                for name, coefficient in route.items():
                    updated[n][name] = updated[n].get(name, Fraction(0)) + coefficient * component
    result = []
    for z in updated:
        delta: dict[str, Fraction] = dict(block.ff_bias)
        for unit in block.units:
            activation = _apply(unit.pre, z)
            if activation > 0:
                for name, coefficient in unit.out.items():
                    delta[name] = delta.get(name, Fraction(0)) + coefficient * activation
        new = dict(z)
        for name, change in delta.items():
            factor = gate.get(name, Fraction(1)) if gate is not None else Fraction(1)
            new[name] = new.get(name, Fraction(0)) + factor * change
        result.append(new)
    return result


def block_step(spec: LoopedSpec, state: State, t: int) -> State:
    """Loop t of a looped spec: its block, with the timestep gate of loop t if it has one."""
    return apply_block(spec.block, state, spec.gate(t))


def readout(spec: LoopedSpec, state: State) -> list[list[Fraction]]:
    """L₂ applied token-wise."""
    return [[_apply(form, z) for form in spec.readout] for z in state]


@overload
def exact_forward(
    spec: LoopedSpec,
    X: Sequence[Sequence[float | Fraction]],
    loops: int | None = None,
    *,
    trace: Literal[False] = False,
) -> list[list[Fraction]]: ...


@overload
def exact_forward(
    spec: LoopedSpec, X: Sequence[Sequence[float | Fraction]], loops: int | None = None, *, trace: Literal[True]
) -> tuple[list[list[Fraction]], list[State]]: ...


@overload
def exact_forward(
    spec: LoopedSpec, X: Sequence[Sequence[float | Fraction]], loops: int | None = None, *, trace: bool
) -> list[list[Fraction]] | tuple[list[list[Fraction]], list[State]]: ...


def exact_forward(
    spec: LoopedSpec, X: Sequence[Sequence[float | Fraction]], loops: int | None = None, *, trace: bool = False
) -> list[list[Fraction]] | tuple[list[list[Fraction]], list[State]]:
    """L₂ ∘ block^loops ∘ L₁ on one input [N, d_in] in exact arithmetic.

    Returns the output [N, d_out] as fractions, and with ``trace=True`` also the list of states
    (index 0 after L₁, index t after loop t) as dicts of named coordinates per token.
    """
    loops = spec.loops if loops is None else loops
    state = embed(spec, to_fractions(X))
    states: list[State] = [state] if trace else []
    for t in range(1, loops + 1):
        state = block_step(spec, state, t)
        if trace:
            states.append(state)
    output = readout(spec, state)
    return (output, states) if trace else output


# --------------------------------------------------------------------------- softmax blocks in mpmath
def _exact_form(form: Affine, z: dict[str, Any]) -> Any:
    total: Any = form.constant
    for name, coefficient in form.terms.items():
        total = total + coefficient * z.get(name, Fraction(0))
    return total


def apply_softmax_block_mp(block: BlockSpec, state: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One application of a softmax ``block`` in mpmath at the current precision (mpmath.mp.dps).

    Queries, keys, values and scores of rational states are computed exactly; only exp and the
    normalisation are rounded, and the sums run over the keys in sorted (score, value) order, so
    permuting the tokens permutes the result bit for bit. Feed-forward units are applied too."""
    if block.attention != "softmax":
        raise InputError(f"apply_softmax_block_mp evaluates softmax blocks, not {block.attention}")
    updated = [dict(z) for z in state]
    for head in block.heads:
        if not isinstance(head, Head):
            raise InputError("apply_softmax_block_mp evaluates heads of size 1")
        keys = [_exact_form(head.key, z) for z in state]
        values = [_exact_form(head.value, z) for z in state]
        for n, z in enumerate(state):
            q = _exact_form(head.query, z)
            scored = sorted(
                ((block.inverse_temperature * q * k, v) for k, v in zip(keys, values)), key=lambda sv: (sv[0], sv[1])
            )
            top = scored[-1][0]
            weights = [mpmath.exp(to_mp(s - top)) for s, _ in scored]
            output = mpmath.fsum(w * to_mp(v) for w, (_, v) in zip(weights, scored)) / mpmath.fsum(weights)
            for name, coefficient in head.out.items():
                updated[n][name] = to_mp(updated[n].get(name, Fraction(0))) + to_mp(coefficient) * output
    result = []
    for z in updated:
        new = dict(z)
        for name, bias in block.ff_bias.items():
            new[name] = to_mp(new.get(name, Fraction(0))) + to_mp(bias)
        z_mp = {k: to_mp(v) for k, v in z.items()}  # once per token, not once per unit
        for unit in block.units:
            activation = to_mp(_exact_form(unit.pre, z_mp))
            if activation > 0:
                for name, coefficient in unit.out.items():
                    new[name] = to_mp(new.get(name, Fraction(0))) + to_mp(coefficient) * activation
        result.append(new)
    return result


def to_mp(value: Any) -> Any:
    """A Fraction as an mpmath number at the working precision; anything else unchanged."""
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return value
