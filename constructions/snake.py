"""Reflected (boustrophedon) ranks of grid cells and of contextual tuples, and the feed-forward units
that compute a cell's rank inside the looped universal approximator (derived here after
docs/theory.md §9; used by :mod:`loopbound.constructions.contextual_looped` and
:mod:`loopbound.constructions.universal`).

**Reflected rank of a digit string.** For digits a₁ … a_n ∈ {0, …, m − 1} (a₁ most significant),
the rank R = Σ b_i m^{n−i} with

    b_i = a_i if a₁ + … + a_{i−1} is even,   b_i = m − 1 − a_i if it is odd.

Consecutive ranks R, R + 1 belong to strings that differ in exactly one digit, by ±1. Proof, by
induction on n: write R = P·m + b_n with P the rank of the prefix (whose parity is that of
a₁ + … + a_{n−1}, by induction: P·m + b has the parity of P + b for odd m, of b for even m, and
b ≡ a + [prefix odd]·(m − 1) gives a₁ + … + a_n in both cases). Within one P the last digit moves by
one; from P to P + 1 the prefix moves one digit by one (induction) and b_n goes from m − 1 (end of
a sweep) to 0, while a_n stays: a_n = m − 1 − 0 or 0 = m − 1 − (m − 1) as the prefix parity flips.

**Blocks.** Grouping the digits in blocks (a cell's d coordinates g_{d−1} … g₀, most significant
first), a block after a prefix of even digit sum contributes its own forward rank r (the rule above
inside the block), after an odd one K₀ − 1 − r (every digit reflected, K₀ = m^d): so a contextual
tuple (own cell, context cells c₁ … c_N) ranks as

    k = r(own)·K₀^N + S,  S = Horner over j of (r(c_j) if π_j = 0 else K₀ − 1 − r(c_j)),
    π_j = ρ(own) ⊕ ρ(c₁) ⊕ … ⊕ ρ(c_{j−1}),   ρ(c) = parity of r(c) = parity of Σ_i g_i(c),

and consecutive k are tuples that differ by one grid step of one token coordinate.

**In the network.** A cell's rank needs the parity h_i of each grid index. The quantiser raises
g_i by one in loops 1, …, g_i, so h_i toggles exactly when g_i does: in loop t the units add
s_M(x_i − tδ − 2h_i) − s_M(x_i − tδ − 2(1 − h_i)) (4 units; the shift by 2 switches a step off, as
x_i − tδ ≤ 1), i.e. +s when h_i = 0 and −s when h_i = 1 (s the quantiser's step). In a transition
band s ∈ (0, 1) and h_i stays in [0, 1]. Then, in every loop, the suffix parities
Q_i = h_i ⊕ Q_{i+1} (Q_{d−1} = h_{d−1}; XOR of binaries a ⊕ b = ReLU(a − b) + ReLU(b − a), written
over the old value, 3 units each) and the rank

    r = Σ_i m^i (g_i + Q_{i+1}·(m − 1 − 2g_i))   (Q_d = 0; a binary times an integer |v| ≤ m − 1 is
                                                  ReLU(v − (m−1)(1 − Q)) − ReLU(−v − (m−1)(1 − Q)))

(2 + 2(d − 1) units, written over the old value), with ρ = Q₀. Q_i settles d − 1 − i loops after the
last grid index does, so r and ρ are exact after loop m + d − 2 (after loop m − 1 for d = 1,
where r = g₀ and ρ = h₀ need no coordinate of their own): :func:`rank_loops` = d − 1 loops beyond the
quantiser's. On any input every unit keeps h, Q ∈ [0, 1] and 0 ≤ r ≤ K₀ − 1 (a product with
Q ∈ [0, 1] lies between 0 and the integer factor), so nothing grows on the failure set.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from loopbound.constructions import gadgets, phases
from loopbound.constructions.quantization import g_name, x_name
from loopbound.constructions.spec import Affine, Unit, var

RANK = "rank"

__all__ = [
    "RANK",
    "cell_rank",
    "cell_digits",
    "contextual_rank",
    "reflected_rank",
    "rank_loops",
    "rank_form",
    "rank_parity_form",
    "rank_coordinates",
    "parity_units",
    "rank_units",
]


def parity_name(i: int) -> str:
    return f"h{i}"


def suffix_parity_name(i: int) -> str:
    return f"Q{i}"


def reflected_rank(digits: Sequence[int], m: int) -> int:
    """R = Σ b_i m^{n−i} for the digit string a₁ … a_n (most significant first; module docstring)."""
    rank, parity = 0, 0
    for a in digits:
        rank = rank * m + (m - 1 - a if parity else a)
        parity ^= a & 1
    return rank


def cell_rank(g: Sequence[int], m: int) -> int:
    """r(cell) for grid indices g₀ … g_{d−1} (g_{d−1} the most significant digit)."""
    return reflected_rank(list(reversed(g)), m)


def cell_digits(r: int, m: int, d: int) -> tuple[int, ...]:
    """The grid indices g₀ … g_{d−1} of the cell of rank r (the inverse of :func:`cell_rank`)."""
    b = [(r // m**i) % m for i in range(d)]
    g = [0] * d
    parity = 0
    for i in reversed(range(d)):
        g[i] = m - 1 - b[i] if parity else b[i]
        parity ^= g[i] & 1
    return tuple(g)


def contextual_rank(own: int, context: Sequence[int], K0: int) -> int:
    """k = r(own)·K₀^N + S for cell ranks ``own`` and ``context`` (c₁ … c_N, the network's order:
    decreasing), ρ = rank parity (module docstring)."""
    S, tau = 0, 0
    for c in context:
        S = S * K0 + (K0 - 1 - c if (own & 1) ^ tau else c)
        tau ^= c & 1
    return own * K0 ** len(context) + S


def rank_loops(d: int) -> int:
    """Loops after the quantiser until r and ρ are exact: d − 1."""
    return d - 1


def _suffix(i: int, d: int) -> Affine:
    """Q_i as a form: Q_{d−1} = h_{d−1}, Q_d = 0, else its coordinate."""
    if i >= d:
        return Affine()
    return var(parity_name(i)) if i == d - 1 else var(suffix_parity_name(i))


def rank_form(d: int) -> Affine:
    """The cell's rank r: the coordinate ``rank`` (d ≥ 2) or g₀ (d = 1)."""
    return var(RANK) if d >= 2 else var(g_name(0))


def rank_parity_form(d: int) -> Affine:
    """ρ = parity of r: Q₀ (d ≥ 2) or h₀ (d = 1)."""
    return _suffix(0, d)


def rank_coordinates(d: int) -> tuple[str, ...]:
    """h₀ … h_{d−1}, Q₀ … Q_{d−2}, and ``rank`` for d ≥ 2 (2d − 1 + [d ≥ 2] coordinates)."""
    return (
        *(parity_name(i) for i in range(d)),
        *(suffix_parity_name(i) for i in range(d - 1)),
        *((RANK,) if d >= 2 else ()),
    )


def parity_units(d: int, m: int, sharpness: int) -> list[Unit]:
    """h_i toggles with every step of the quantiser's g_i (4d units; module docstring)."""
    delta, M = Fraction(1, m), Fraction(sharpness)
    units: list[Unit] = []
    for i in range(d):
        gap = var(x_name(i)) - (var(phases.COUNT) + 1) * delta
        h = var(parity_name(i))
        units += gadgets.step(gap - h * 2, {parity_name(i): 1}, sharpness=M, label=f"h{i}: +1 on a step from even")
        units += gadgets.step(
            gap - (1 - h) * 2, {parity_name(i): -1}, sharpness=M, label=f"h{i}: −1 on a step from odd"
        )
    return units


def rank_units(d: int, m: int) -> list[Unit]:
    """Suffix parities Q_i and the rank r, each written over its old value (3(d − 1) + 2d·[d ≥ 2]
    units; module docstring)."""
    units: list[Unit] = []
    for i in range(d - 2, -1, -1):
        a, b, name = _suffix(i + 1, d), var(parity_name(i)), suffix_parity_name(i)
        units += [
            Unit(a - b, {name: Fraction(1)}, f"Q{i} ← Q{i + 1} ⊕ h{i}"),
            Unit(b - a, {name: Fraction(1)}, f"Q{i} ← Q{i + 1} ⊕ h{i}"),
            *gadgets.nonnegative(var(name), {name: -1}, label=f"Q{i}: clear"),
        ]
    if d == 1:
        return units
    horner = Affine()
    for i in range(d):
        horner = horner + var(g_name(i)) * m**i
    units += gadgets.nonnegative(horner, {RANK: 1}, label="r ← Σ m^i g_i")
    units += gadgets.nonnegative(var(RANK), {RANK: -1}, label="r: clear")
    for i in range(d - 1):
        v, off = (m - 1) - var(g_name(i)) * 2, (1 - _suffix(i + 1, d)) * (m - 1)
        units += [
            Unit(v - off, {RANK: Fraction(m**i)}, f"reflect g{i} when Q{i + 1} = 1"),
            Unit(-v - off, {RANK: -Fraction(m**i)}, f"reflect g{i} when Q{i + 1} = 1"),
        ]
    return units
