"""Layer and loop budgets: the theorem's sizes against the universal construction's own.

The theorem's (Xu & Sato 2024, arXiv 2410.01405, Theorem 3.6; docs/theory.md §3, *reconstructed*):
one block with 2 heads of size 1, feed-forward width 49d + 25, embedding width 17d + 9
(:data:`THEORY_EMBEDDING_WIDTH`, :data:`THEORY_FF_WIDTH`, :data:`THEORY_HEADS`), and the loop budget
(δ^{−1} − 1) + N + (2δ^{−(N+1)d} − 1) (:data:`loopbound.theory.bounds.approximation.THEORY_LOOPS`).

The construction's (``loopbound.constructions.universal``, *derived here*), as functions of the grid
m = 1/δ, d, N and the output dimension d_out:

- loops (:data:`CONSTRUCTION_LOOPS`): (m − 1) quantisation loops, N + d − 1 contextual loops (d − 1
  that settle each cell's reflected rank, then one token taken per loop) and K = q^{N+1} − 1 − [N ≥ 2]
  value loops with q = m^d: the value walk visits every reflected contextual id 0 … K (every digit
  tuple of (own cell, N context cells) has one, collisions included). For N ≥ 2 the last id
  q^{N+1} − 1 is never valid: its first context cell has rank 0 or q − 1 (all its reflected digits
  are m − 1), and rank 0 leaves no smaller second cell, while rank q − 1 forces the second to be
  q − 1 again (parities of q − 1 and of the own cell q − 1 cancel), a collision. Within the
  theorem's (δ^{−1} − 1) + N + (2δ^{−(N+1)d} − 1) since d − 1 ≤ q^{N+1}.
- widths (:data:`CONSTRUCTION_EMBEDDING_WIDTH`, :data:`CONSTRUCTION_FF_WIDTH`, per variant),
  counted from the block ``loopbound.constructions.universal`` builds, with [d ≥ 2] = min(1, d − 1).
  A token's state: the constant 1, the loop counter, the input x (d), the grid indices g (d), their
  parities h (d), the suffix parities Q (d − 1), the cell's rank ([d ≥ 2]; it is g₀ for d = 1), the
  contextual registers taken, received rank, received parity, sequence and τ, the contextual-phase
  flag, and the output y (d_out): 4d + [d ≥ 2] + d_out + 7; without timestep scaling also the
  value-phase flag and, per output coordinate, the released bit and the bit register:
  4d + [d ≥ 2] + 3d_out + 8. The feed-forward: 1 unit for the counter, 2 ramps per quantised
  coordinate (2d), 4 per parity (4d), 3 per suffix parity (3(d − 1)), 2d·[d ≥ 2] for the rank, 5 for
  the contextual-phase flag, 13 for the contextual step, and 2 value units whose output the per-loop
  scale η(s) multiplies (one pair serves every output coordinate): 9d + 2d·[d ≥ 2] + 18; without
  timestep scaling, instead of those 2, 5 for the value-phase flag and 8 per output coordinate for
  the bit release and the ±ε step: 9d + 2d·[d ≥ 2] + 8d_out + 21. The tests check each count
  against the built block.
- heads: two hardmax heads of size 1 (:data:`CONSTRUCTION_HEADS`), the received rank and its parity.

These expressions are the single source of the construction's sizes: the builder, its
``loops_for_grid`` / ``grid_for_loops`` and ``loopbound build`` evaluate them exactly in integers
(:func:`exact_integer`); :meth:`Bound.evaluate` gives float64, exact while the loop count stays
below 2^53.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from loopbound.theory.bounds.approximation import ARXIV, SOURCE, THEORY_LOOPS, N, d
from loopbound.theory.bounds.core import Bound, Provenance

__all__ = [
    "THEORY_EMBEDDING_WIDTH",
    "THEORY_FF_WIDTH",
    "THEORY_HEADS",
    "CONSTRUCTION_QUANTISATION_LOOPS",
    "CONSTRUCTION_CONTEXTUAL_LOOPS",
    "CONSTRUCTION_VALUE_LOOPS",
    "CONSTRUCTION_LOOPS",
    "CONSTRUCTION_EMBEDDING_WIDTH",
    "CONSTRUCTION_FF_WIDTH",
    "CONSTRUCTION_HEADS",
    "BUDGETS",
    "exact_integer",
]

m = sympy.Symbol("m", positive=True)
d_out = sympy.Symbol("d_out", positive=True)

_THEORY = Provenance(
    source=SOURCE, statement="Theorem 3.6, size of the looped block", arxiv=ARXIV, status="reconstructed"
)
_HERE = Provenance(
    source="loopbound, loopbound.constructions.universal",
    statement="sizes of the fused universal block",
    status="derived here",
)


def _size(
    name: str, expression: sympy.Expr, symbols: tuple[sympy.Symbol, ...], provenance: Provenance, derivation: str
) -> Bound:
    return Bound(
        name=name, expression=sympy.sympify(expression), symbols=symbols, provenance=provenance, derivation=derivation
    )


THEORY_EMBEDDING_WIDTH = _size("embedding width of Theorem 3.6", 17 * d + 9, (d,), _THEORY, "docs/theory.md §3")
THEORY_FF_WIDTH = _size("feed-forward width of Theorem 3.6", 49 * d + 25, (d,), _THEORY, "docs/theory.md §3")
THEORY_HEADS = _size(
    "attention heads of Theorem 3.6 (size 1 each)", sympy.Integer(2) + 0 * d, (d,), _THEORY, "docs/theory.md §3"
)

_q = m**d
CONSTRUCTION_QUANTISATION_LOOPS = _size(
    "quantisation loops of the universal construction",
    m - 1 + 0 * d * N,
    (m, d, N),
    _HERE,
    "one threshold of the grid {1/m, …, (m − 1)/m} per loop",
)
CONSTRUCTION_CONTEXTUAL_LOOPS = _size(
    "contextual loops of the universal construction",
    N + d - 1 + 0 * m,
    (m, d, N),
    _HERE,
    "d − 1 loops settle each cell's reflected rank, then one token taken per loop of the hardmax heads",
)
CONSTRUCTION_VALUE_LOOPS = _size(
    "value loops of the universal construction (the last reflected contextual id K)",
    _q ** (N + 1) - 1 - sympy.Min(1, N - 1),
    (m, d, N),
    _HERE,
    "K = q^{N+1} − 1 − [N ≥ 2] with q = m^d: the walk visits every reflected id of (own cell, N context "
    "cells) up to the last one that can be valid (module docstring).",
)
CONSTRUCTION_LOOPS = _size(
    "loops of the universal construction",
    CONSTRUCTION_QUANTISATION_LOOPS.expression
    + CONSTRUCTION_CONTEXTUAL_LOOPS.expression
    + CONSTRUCTION_VALUE_LOOPS.expression,
    (m, d, N),
    _HERE,
    "(m − 1) + (N + d − 1) + K, K = q^{N+1} − 1 − [N ≥ 2] with q = m^d (module docstring).",
)

_rank = sympy.Min(1, d - 1)
CONSTRUCTION_EMBEDDING_WIDTH = {
    True: _size(
        "embedding width, timestep scaling",
        4 * d + _rank + d_out + 7,
        (d, d_out),
        _HERE,
        "1, counter, x, g, h, Q, rank (d >= 2), taken, received rank and parity, sequence, tau, contextual flag, y",
    ),
    False: _size(
        "embedding width, no timestep scaling",
        4 * d + _rank + 3 * d_out + 8,
        (d, d_out),
        _HERE,
        "as with timestep scaling, plus the value flag and a bit and a register per output coordinate",
    ),
}
"""By variant (``timestep``): 4d + [d ≥ 2] + d_out + 7 with timestep scaling, 4d + [d ≥ 2] + 3d_out + 8
without."""

CONSTRUCTION_FF_WIDTH = {
    True: _size(
        "feed-forward width, timestep scaling",
        9 * d + 2 * d * _rank + 18 + 0 * d_out,
        (d, d_out),
        _HERE,
        "counter 1, quantisation 2d, parities 4d, suffix parities 3(d-1), rank 2d (d >= 2), contextual flag 5, "
        "contextual step 13, value 2 (scaled by eta(s))",
    ),
    False: _size(
        "feed-forward width, no timestep scaling",
        9 * d + 2 * d * _rank + 8 * d_out + 21,
        (d, d_out),
        _HERE,
        "counter 1, quantisation 2d, parities 4d, suffix parities 3(d-1), rank 2d (d >= 2), contextual flag 5, "
        "contextual step 13, value flag 5, bit release 8 per output",
    ),
}
"""By variant (``timestep``): 9d + 2d[d ≥ 2] + 18 with timestep scaling, 9d + 2d[d ≥ 2] + 8d_out + 21
without."""

CONSTRUCTION_HEADS = _size(
    "attention heads of the construction (size 1)",
    sympy.Integer(2) + 0 * d,
    (d,),
    _HERE,
    "two hardmax heads (rank and its parity) serve the contextual mapping; the other phases use none",
)

BUDGETS: tuple[Bound, ...] = (
    THEORY_LOOPS,
    THEORY_EMBEDDING_WIDTH,
    THEORY_FF_WIDTH,
    THEORY_HEADS,
    CONSTRUCTION_LOOPS,
    *CONSTRUCTION_EMBEDDING_WIDTH.values(),
    *CONSTRUCTION_FF_WIDTH.values(),
    CONSTRUCTION_HEADS,
)
"""Every budget, the theorem's first, for reports (:func:`loopbound.bounds_report.bounds_latex`)."""


def exact_integer(bound: Bound, **values: int | Fraction) -> int:
    """``bound`` at integer or rational ``values`` (one per symbol) in exact arithmetic, as an int.

    Raises ValueError when the value is not an integer (a size must be one) or a symbol is missing.
    """
    names = [symbol.name for symbol in bound.symbols]
    if set(values) != set(names):
        raise ValueError(f"{bound.name} takes {', '.join(names)}, got {', '.join(sorted(values))}")
    value = sympy.sympify(bound.exact_function(*(sympy.Rational(values[name]) for name in names)))
    if not isinstance(value, sympy.Integer):
        raise ValueError(f"{bound.name} is not an integer at {values}: {value}")
    return int(value)
