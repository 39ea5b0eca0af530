"""Layer and loop budgets: the theorem's sizes against the universal construction's own.

The theorem's (Xu & Sato 2024, arXiv 2410.01405, Theorem 3.6; docs/theory.md §3, *reconstructed*):
one block with 2 heads of size 1, feed-forward width 49d + 25, embedding width 17d + 9
(:data:`THEORY_EMBEDDING_WIDTH`, :data:`THEORY_FF_WIDTH`, :data:`THEORY_HEADS`), and the loop budget
(δ^{−1} − 1) + N + (2δ^{−(N+1)d} − 1) (:data:`loopbound.theory.bounds.approximation.THEORY_LOOPS`).

The construction's (``loopbound.constructions.universal``, *derived here*), as functions of the grid
m = 1/δ, d, N and the output dimension d_out:

- loops (:data:`CONSTRUCTION_LOOPS`): (m − 1) quantisation loops + N contextual loops + K value
  loops, K the largest valid contextual id. With q = m^d cells, K = (q − 1)q^N + Σ_{j=1}^{N}
  (q − j)q^{N−j} (own token in the top cell, the others in the next N − 1 cells). Substituting
  i = N − j, the sum is Σ_{i=0}^{N−1} (q − N + i)q^i = (q − N)(q^N − 1)/(q − 1) +
  Σ_{i=0}^{N−1} i q^i, and Σ_{i=0}^{N−1} i q^i = (q − N q^N + (N − 1)q^{N+1})/(q − 1)² (the
  derivative of the geometric sum, times q); q ≥ 2, so no division by zero.
- widths (:data:`CONSTRUCTION_EMBEDDING_WIDTH`, :data:`CONSTRUCTION_FF_WIDTH`, per variant),
  counted from the block ``loopbound.constructions.universal`` builds. A token's state: the constant 1, the
  loop counter, the input x (d), the grid indices g (d), the contextual registers taken, received
  and sequence, the contextual-phase flag, and the output y (d_out): 2d + d_out + 6; without
  timestep scaling also the value-phase flag and, per output coordinate, the released bit and the
  bit register: 2d + 3d_out + 7. The feed-forward: 1 unit for the counter, 2 ramps per quantised
  coordinate (2d), 5 for the contextual-phase flag, 5 for the contextual step, and 2 value units
  whose output the per-loop scale η(s) multiplies (one pair serves every output coordinate):
  2d + 13; without timestep scaling, instead of those 2, 5 for the value-phase flag and 8 per
  output coordinate for the bit release and the ±ε step: 2d + 8d_out + 16. The tests check each
  count against the built block.
- heads: one hardmax head of size 1 (:data:`CONSTRUCTION_HEADS`).

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
    N + 0 * m * d,
    (m, d, N),
    _HERE,
    "one token id taken per loop of the hardmax head",
)
CONSTRUCTION_VALUE_LOOPS = _size(
    "value loops of the universal construction (the largest valid contextual id K)",
    (_q - 1) * _q**N + (_q - N) * (_q**N - 1) / (_q - 1) + (_q - N * _q**N + (N - 1) * _q ** (N + 1)) / (_q - 1) ** 2,
    (m, d, N),
    _HERE,
    "K = (q − 1)q^N + Σ_{j=1}^{N}(q − j)q^{N−j} with q = m^d (own token in the top cell, the others in the "
    "next N − 1 cells), summed in closed form (module docstring).",
)
CONSTRUCTION_LOOPS = _size(
    "loops of the universal construction",
    CONSTRUCTION_QUANTISATION_LOOPS.expression
    + CONSTRUCTION_CONTEXTUAL_LOOPS.expression
    + CONSTRUCTION_VALUE_LOOPS.expression,
    (m, d, N),
    _HERE,
    "(m − 1) + N + K, K = (q − 1)q^N + Σ_{j=1}^{N}(q − j)q^{N−j} with q = m^d, summed in closed form (module docstring).",
)

CONSTRUCTION_EMBEDDING_WIDTH = {
    True: _size(
        "embedding width, timestep scaling",
        2 * d + d_out + 6,
        (d, d_out),
        _HERE,
        "1, counter, x, g, taken, received, sequence, contextual flag, y",
    ),
    False: _size(
        "embedding width, no timestep scaling",
        2 * d + 3 * d_out + 7,
        (d, d_out),
        _HERE,
        "as with timestep scaling, plus the value flag and a bit and a register per output coordinate",
    ),
}
"""By variant (``timestep``): 2d + d_out + 6 with timestep scaling, 2d + 3d_out + 7 without."""

CONSTRUCTION_FF_WIDTH = {
    True: _size(
        "feed-forward width, timestep scaling",
        2 * d + 13 + 0 * d_out,
        (d, d_out),
        _HERE,
        "counter 1, quantisation 2d, contextual flag 5, contextual step 5, value 2 (scaled by eta(s))",
    ),
    False: _size(
        "feed-forward width, no timestep scaling",
        2 * d + 8 * d_out + 16,
        (d, d_out),
        _HERE,
        "counter 1, quantisation 2d, contextual flag 5, contextual step 5, value flag 5, bit release 8 per output",
    ),
}
"""By variant (``timestep``): 2d + 13 with timestep scaling, 2d + 8d_out + 16 without."""

CONSTRUCTION_HEADS = _size(
    "attention heads of the construction (size 1)",
    sympy.Integer(1) + 0 * d,
    (d,),
    _HERE,
    "one hardmax head serves the contextual mapping; the other phases use none",
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
