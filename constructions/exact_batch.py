"""Exact evaluation of a :class:`~loopbound.constructions.spec.LoopedSpec` on a batch, vectorised.

Mathematical object: the real-number network L₂ ∘ block^r ∘ L₁ of the spec (one block: attention,
then the feed-forward with its timestep gate, :mod:`loopbound.constructions.blocks`), on an input
batch X ∈ Q^{B×N×d} of float64 values (dyadic rationals, converted exactly). The hardmax and linear
blocks are piecewise linear with rational weights, so every intermediate value is rational and the
output is computed with no rounding at all; :meth:`ExactEvaluator.forward` then rounds each output
entry once, to the nearest float64 (ties to even). It computes the same numbers as
:func:`loopbound.constructions.exact.exact_forward` (one sequence at a time, in
:class:`fractions.Fraction`), at batch speed.

Representation (:mod:`loopbound.constructions.exact_columns`): the state is one column of
rationals per named coordinate, over the B·N tokens, each column integer numerators with one
common denominator — machine integers while they fit, Python big integers when they do not. The
spec is compiled once: every affine form becomes a list of (coefficient, column) terms, units
with the same linear part share it (a step gadget's two units differ by a constant), and per loop
the evaluator does

1. attention per head: query, key and value forms; scores s_{n,k} = λ Σ_a q_a(z_n) k_a(z_k) per
   sequence. Hardmax: the winners are the keys whose score equals the row maximum exactly, and the
   head's output is their mean value; with c winners the mean has the denominator c·D_v, so the
   output column takes the denominator L·D_v with L the lcm of the winner counts in the batch and
   each row is scaled by L / c (exact; the tie rule of :func:`loopbound.constructions.blocks.hardmax`).
   Linear: Σ_k s_{n,k} v(z_k);
2. the residual update by the heads' routes, then the feed-forward: every unit's pre-activation,
   ReLU on the numerators, the routed sum plus the bias, times the loop's gate η(t);
3. a column whose denominator grew is gcd-reduced, and every column's bound is made exact, so a
   column goes back to machine integers when its values fit.

Only hardmax and linear attention are exact; softmax and sigmoid are refused, as in
:mod:`loopbound.constructions.exact`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from loopbound.constructions.exact_columns import (
    Column,
    combine,
    from_floats,
    product,
    reduce,
    relu,
    tighten,
    to_floats,
)
from loopbound.constructions.spec import Affine, LoopedSpec, check_input_width, head_rows
from loopbound.theory.errors import InputError

Terms = tuple[tuple[Fraction, int], ...]  # (coefficient, column index)


@dataclass(frozen=True)
class _Form:
    """An affine form compiled to (coefficient, column index) terms and a constant."""

    terms: Terms
    offset: Fraction


@dataclass(frozen=True)
class _Head:
    """A head's query, key and value forms and its routes: (coordinate, coefficient, component)."""

    queries: tuple[_Form, ...]
    keys: tuple[_Form, ...]
    values: tuple[_Form, ...]
    routes: tuple[tuple[int, Fraction, int], ...]


@dataclass(frozen=True)
class _FeedForward:
    """Units grouped by their linear part: ``bases`` are the distinct linear parts, ``units`` the
    (base index, constant) of each unit; ``outputs[c]`` the (coefficient, unit) terms routed to
    coordinate c and ``bias[c]`` its bias."""

    bases: tuple[_Form, ...]
    units: tuple[tuple[int, Fraction], ...]
    outputs: tuple[tuple[tuple[Fraction, int], ...], ...]
    bias: tuple[Fraction, ...]


def _compile_form(form: Affine, index: Mapping[str, int]) -> _Form:
    return _Form(tuple((c, index[name]) for name, c in form.terms.items()), form.constant)


def _compile_feed_forward(spec: LoopedSpec, index: Mapping[str, int]) -> _FeedForward:
    block = spec.block
    bases: dict[Terms, int] = {}
    units = []
    outputs: list[list[tuple[Fraction, int]]] = [[] for _ in block.coordinates]
    for u, unit in enumerate(block.units):
        terms = tuple(sorted((index[name], c) for name, c in unit.pre.terms.items()))
        key = tuple((c, i) for i, c in terms)
        units.append((bases.setdefault(key, len(bases)), unit.pre.constant))
        for name, c in unit.out.items():
            if c != 0:
                outputs[index[name]].append((c, u))
    bias = tuple(block.ff_bias.get(name, Fraction(0)) for name in block.coordinates)
    return _FeedForward(
        bases=tuple(_Form(key, Fraction(0)) for key in bases),
        units=tuple(units),
        outputs=tuple(tuple(terms) for terms in outputs),
        bias=bias,
    )


class ExactEvaluator:
    """L₂ ∘ block^r ∘ L₁ of ``spec`` in exact rational arithmetic on batches (module docstring).

    ``forward(X, loops)`` returns float64 [B, N, d_out], each entry the exact output rounded to the
    nearest float64 (ties to even; ±inf past the largest finite float); ``exact(X, loops)`` the
    exact outputs as nested lists of :class:`~fractions.Fraction`."""

    def __init__(self, spec: LoopedSpec) -> None:
        block = spec.block
        if block.heads and block.attention not in ("hardmax", "linear"):
            raise InputError(f"exact evaluation supports hardmax and linear attention, not {block.attention}")
        self.spec = spec
        index = {name: i for i, name in enumerate(block.coordinates)}
        self._index = index
        inputs = {name: i for i, name in enumerate(spec.input_names())}
        self._embed = tuple(_compile_form(spec.embed.get(name, Affine()), inputs) for name in block.coordinates)
        self._readout = tuple(_compile_form(form, index) for form in spec.readout)
        self._heads = tuple(self._compile_head(head, index) for head in block.heads)
        self._feed_forward = _compile_feed_forward(spec, index)
        self._hardmax = block.attention == "hardmax"
        self._temperature = block.inverse_temperature

    @staticmethod
    def _compile_head(head: object, index: Mapping[str, int]) -> _Head:
        queries, keys, values, routes = head_rows(head)  # type: ignore[arg-type]
        return _Head(
            queries=tuple(_compile_form(form, index) for form in queries),
            keys=tuple(_compile_form(form, index) for form in keys),
            values=tuple(_compile_form(form, index) for form in values),
            routes=tuple((index[name], c, b) for b, route in enumerate(routes) for name, c in route.items() if c != 0),
        )

    # ------------------------------------------------------------------ public interface
    def forward(self, X: torch.Tensor, loops: int | None = None) -> torch.Tensor:
        """The outputs [B, N, d_out], each the exact value rounded to the nearest float64."""
        columns, (B, N) = self._run(X, loops)
        if not columns:
            return torch.zeros(B, N, 0, dtype=torch.float64, device=X.device)
        out = np.stack([to_floats(column) for column in columns], axis=-1).reshape(B, N, len(columns))
        return torch.from_numpy(out).to(X.device)

    def exact(self, X: torch.Tensor, loops: int | None = None) -> list[list[list[Fraction]]]:
        """The exact outputs: [B][N][d_out] fractions."""
        columns, (B, N) = self._run(X, loops)
        entries = [column.fractions() for column in columns]
        return [[[entry[b * N + n] for entry in entries] for n in range(N)] for b in range(B)]

    __call__ = forward

    # ------------------------------------------------------------------ evaluation
    def _run(self, X: torch.Tensor, loops: int | None) -> tuple[list[Column], tuple[int, int]]:
        check_input_width(self.spec, X)
        loops = self.spec.loops if loops is None else loops
        if not isinstance(loops, int) or loops < 0:
            raise InputError(f"loops must be a non-negative integer, got {loops!r}")
        x = X.detach().to("cpu", torch.float64).numpy()
        if not np.isfinite(x).all():
            raise InputError("exact evaluation needs finite inputs (no NaN or inf)")
        B, N, _ = x.shape
        rows = B * N
        inputs = [from_floats(np.ascontiguousarray(x[:, :, i]).reshape(rows)) for i in range(x.shape[2])]
        state = [self._apply(form, inputs, rows) for form in self._embed]
        for t in range(1, loops + 1):
            state = self._block(state, B, N, self.spec.gate(t))
        return [self._apply(form, state, rows) for form in self._readout], (B, N)

    @staticmethod
    def _apply(form: _Form, columns: list[Column], rows: int) -> Column:
        return combine([(c, columns[i]) for c, i in form.terms], form.offset, rows)

    def _block(self, state: list[Column], B: int, N: int, gate: Mapping[str, Fraction] | None) -> list[Column]:
        """One loop: Z ← Z + Attn(Z); Z ← Z + η(t)⊙FF(Z); then reduce and tighten what changed."""
        rows = B * N
        updates: list[list[tuple[Fraction, Column]]] = [[] for _ in state]
        for head in self._heads:
            outputs = self._attend(head, state, B, N)
            for c, coefficient, b in head.routes:
                updates[c].append((coefficient, outputs[b]))
        attended = [
            combine([(Fraction(1), column), *extra], Fraction(0), rows) if extra else column
            for column, extra in zip(state, updates)
        ]
        ff = self._feed_forward
        bases = [self._apply(form, attended, rows) for form in ff.bases]
        hidden = [relu(combine([(Fraction(1), bases[base])], offset, rows)) for base, offset in ff.units]
        factors = self._gate_factors(gate)
        new_state = []
        for c, column in enumerate(attended):
            terms, bias, factor = ff.outputs[c], ff.bias[c], factors[c]
            if factor == 0 or (not terms and bias == 0):
                new = column
            else:
                delta = combine([(coefficient * factor, hidden[u]) for coefficient, u in terms], bias * factor, rows)
                new = combine([(Fraction(1), column), (Fraction(1), delta)], Fraction(0), rows)
            if new is not state[c]:
                new = tighten(reduce(new) if new.den > state[c].den or new.small else new)
            new_state.append(new)
        return new_state

    def _gate_factors(self, gate: Mapping[str, Fraction] | None) -> list[Fraction]:
        factors = [Fraction(1)] * len(self._index)
        for name, factor in (gate or {}).items():
            factors[self._index[name]] = Fraction(factor)
        return factors

    def _attend(self, head: _Head, state: list[Column], B: int, N: int) -> list[Column]:
        """The head's output components, one column each (before the routes)."""
        rows = B * N
        values = [self._apply(form, state, rows) for form in head.values]
        if self._hardmax and N == 1:  # one key: it always wins
            return values
        queries = [self._apply(form, state, rows) for form in head.queries]
        keys = [self._apply(form, state, rows) for form in head.keys]
        if N == 1:  # linear, one key: λ·(q·k)·v
            score = combine([(self._temperature, product(q, k)) for q, k in zip(queries, keys)], Fraction(0), rows)
            return [product(score, v) for v in values]
        scores, den = _pairwise_scores(queries, keys, B, N)
        if self._hardmax:
            return _hardmax_means(scores, values, B, N, self._temperature)
        return _linear_sums(scores, den, values, B, N, self._temperature)


def _grid(column: Column, B: int, N: int) -> np.ndarray:
    return column.objects().reshape(B, N)


def _pairwise_scores(queries: list[Column], keys: list[Column], B: int, N: int) -> tuple[np.ndarray, int]:
    """Numerators of Σ_a q_a(z_n)·k_a(z_k) per sequence, [B, N, N] Python integers, and their
    common denominator."""
    den = math.lcm(*(q.den * k.den for q, k in zip(queries, keys)))
    total = np.zeros((B, N, N), dtype=object)
    for q, k in zip(queries, keys):
        scale = den // (q.den * k.den)
        pairs = _grid(q, B, N)[:, :, None] * _grid(k, B, N)[:, None, :]
        total = total + (pairs if scale == 1 else pairs * scale)
    return total, den


def _hardmax_means(scores: np.ndarray, values: list[Column], B: int, N: int, temperature: Fraction) -> list[Column]:
    """Mean value over the keys of maximal λ·score per query (ties averaged exactly)."""
    if temperature < 0:
        scores = -scores
    elif temperature == 0:
        scores = np.zeros_like(scores)
    top = scores.max(axis=2, keepdims=True)
    winners = scores == top
    counts = winners.sum(axis=2).reshape(B * N)
    common = math.lcm(*(int(c) for c in np.unique(counts))) if counts.size else 1
    out = []
    for v in values:
        sums = np.where(winners, _grid(v, B, N)[:, None, :], 0).sum(axis=2).reshape(B * N)
        if common != 1:
            sums = sums * (common // counts).astype(object)
        out.append(tighten(Column(sums, v.den * common, v.bound * common)))
    return out


def _linear_sums(
    scores: np.ndarray, den: int, values: list[Column], B: int, N: int, temperature: Fraction
) -> list[Column]:
    """Σ_k λ·s_{n,k}·v(z_k) per query."""
    out = []
    for v in values:
        sums = (scores * _grid(v, B, N)[:, None, :]).sum(axis=2).reshape(B * N) * temperature.numerator
        out.append(tighten(Column(sums, den * v.den * temperature.denominator, 0)))
    return out


__all__ = ["ExactEvaluator"]
