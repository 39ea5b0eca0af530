"""Hypothesis strategies for loopbound's objects (in the manner of xarray.testing.strategies).

All keyword-only and bounded; tensors are float64 ``torch`` tensors in code notation
(``[N, d]`` per input, tokens on dim 0).

- :func:`cube_points`: inputs in [0,1]^{N×d};
- :func:`grid_inputs`: inputs on the grid G_δ = {0, δ, …, 1−δ}^{N×d}, optionally with distinct tokens;
- :func:`pairs_within`: pairs (X, X', n) meeting a modulus kind's constraint at distance ≤ δ;
- :func:`deltas`: grid-free δ values; :func:`builtin_targets`: built-in targets with drawn parameters.

For a researcher's own construction (docs/testing.md):

- :func:`off_band_points`: cube points at least ``band`` from every quantisation threshold kδ;
- :func:`collision_free_points`: cube points with no two tokens in one grid cell;
- :func:`grid_sequences`, :func:`permutations` and :func:`permuted_grid_sequences`: sequences of
  distinct grid tokens, index permutations, and a sequence with a permutation of it;
- :func:`non_equivalent_grid_pairs`: two grid sequences that are not permutations of each other
  (the hard case of a contextual mapping);
- :func:`regression_prompts`: in-context regression prompts with a controlled condition number
  (in :mod:`loopbound.testing.regression_strategies`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import torch
from hypothesis import strategies as st

from loopbound.testing.regression_strategies import RegressionPrompt, regression_prompts
from loopbound.theory.deltas import grid_steps
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.norms import certified_radius, exact_squared_distance
from loopbound.theory.targets import BUILTIN_TARGETS, Target, builtin_target

_UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)


def _check_shape(d: int, N: int) -> None:
    if d < 1 or N < 1:
        raise ValueError(f"d and N must be >= 1, got d={d}, N={N}")


def _grid_steps(delta: float | Fraction) -> int:
    """m = 1/δ, or a ValueError naming δ (strategies refuse bad arguments when they are built)."""
    try:
        return grid_steps(delta)
    except InputError as error:
        raise ValueError(str(error)) from None


def _cell_digits(cell: int, *, m: int, d: int) -> list[int]:
    """The grid index (g_0, …, g_{d−1}) of cell number Σ_i g_i m^i."""
    return [(cell // m**i) % m for i in range(d)]


def _cell_corners(ids: list[int], *, m: int, d: int) -> torch.Tensor:
    """The lower corners δ·g of the cells ``ids`` (δ = 1/m) as a float64 [len(ids), d] tensor."""
    digits = [_cell_digits(cell, m=m, d=d) for cell in ids]
    return torch.tensor(digits, dtype=torch.float64).view(len(ids), d) / m


@st.composite
def cube_points(draw: Any, *, d: int, N: int, boundary_weight: float = 0.2) -> torch.Tensor:
    """A point of the cube [0,1]^{N×d} as a float64 [N, d] tensor.

    With probability ``boundary_weight`` per entry the entry is 0 or 1 exactly: moduli are often
    attained on the boundary, which plain uniform floats almost never hit.
    """
    _check_shape(d, N)
    entries = st.one_of(_UNIT, st.sampled_from([0.0, 1.0])) if boundary_weight > 0 else _UNIT
    values = draw(st.lists(entries, min_size=N * d, max_size=N * d))
    return torch.tensor(values, dtype=torch.float64).view(N, d)


def grid_inputs(
    *, delta: float | Fraction, d: int, N: int, distinct_tokens: bool = True
) -> st.SearchStrategy[torch.Tensor]:
    """Points of the grid G_δ = {0, δ, …, 1 − δ}^{N×d} (1/δ an integer) as float64 [N, d] tensors.

    ``distinct_tokens``: no two tokens in the same cell (the contextual-mapping hypothesis); needs
    N ≤ (1/δ)^d. Bad arguments raise ValueError when the strategy is built.
    """
    _check_shape(d, N)
    per_axis = _grid_steps(delta)
    cells = per_axis**d
    if distinct_tokens and N > cells:
        raise ValueError(f"{N} distinct tokens do not fit in {cells} grid cells")
    cell_ids = st.lists(st.integers(0, cells - 1), min_size=N, max_size=N, unique=distinct_tokens)
    return cell_ids.map(lambda ids: _cell_corners(ids, m=per_axis, d=d))


@st.composite
def pairs_within(
    draw: Any, *, kind: ModulusKind | str, delta: float, d: int, N: int
) -> tuple[torch.Tensor, torch.Tensor, int | None]:
    """A pair (X, X', n) in the cube meeting ``kind``'s constraint with ‖X − X'‖_2 ≤ δ exactly
    (checked in rational arithmetic): sequence — anything; token — only token n differs; contextual — token n
    is equal. ``n`` is None for the sequence kind."""
    _check_shape(d, N)
    kind = ModulusKind(kind)
    position = draw(st.integers(0, N - 1)) if kind.per_token else None
    X = draw(cube_points(d=d, N=N))
    mask = kind.perturbation_mask(N, d, position).to(torch.float64)
    raw = draw(st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=N * d, max_size=N * d))
    direction = torch.tensor(raw, dtype=torch.float64).view(N, d) * mask
    radius = draw(st.floats(0.0, 1.0)) * delta
    norm = float(torch.linalg.vector_norm(direction))
    step = direction * (radius / norm) if norm > 0 else direction
    Y = (X + step).clamp(0.0, 1.0)
    Y = torch.where(mask.bool(), Y, X)
    bound = certified_radius(delta) ** 2
    while exact_squared_distance(X.numpy(), Y.numpy()) > bound:
        distance = float(torch.linalg.vector_norm(Y - X))  # rounding: shrink onto the ball, checked exactly
        Y = torch.where(mask.bool(), X + (Y - X) * (min(delta / distance, 1.0) * (1 - 1e-12)), X)
    return X, Y, position


def deltas(*, min_value: float = 1e-3, max_value: float = 1.0) -> st.SearchStrategy[float]:
    """δ values in [min_value, max_value], log-uniformly spread."""
    if not 0 < min_value <= max_value:
        raise ValueError("need 0 < min_value <= max_value")
    low, high = math.log(min_value), math.log(max_value)
    return st.floats(low, high).map(lambda t: float(min(max(math.exp(t), min_value), max_value)))


@st.composite
def builtin_targets(draw: Any, *, d: int, N: int, names: tuple[str, ...] | None = None) -> Target:
    """A built-in target with drawn parameters (seeds, Hölder exponents, scales)."""
    _check_shape(d, N)
    name = draw(st.sampled_from(sorted(names or BUILTIN_TARGETS)))
    params: dict[str, Any] = {}
    if name in ("linear", "attention", "smooth"):
        params["seed"] = draw(st.integers(0, 2**16))
    if name == "holder":
        params["alpha"] = draw(st.sampled_from([0.25, 0.5, 0.75, 1.0]))
    if name in ("holder", "contextual_max", "linear"):
        params["scale"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    return builtin_target(name, d=d, N=N, **params)


# ------------------------------------------------------------------ a researcher's own construction


def _float_at_least(value: Fraction) -> float:
    """The least float64 that is ≥ ``value`` exactly."""
    nearest = float(value)
    return nearest if Fraction(nearest) >= value else math.nextafter(nearest, math.inf)


def _float_at_most(value: Fraction) -> float:
    """The largest float64 that is ≤ ``value`` exactly."""
    nearest = float(value)
    return nearest if Fraction(nearest) <= value else math.nextafter(nearest, -math.inf)


def _as_points(values: list[float], *, d: int, N: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).view(N, d)


def off_band_points(
    *, delta: float | Fraction, d: int, N: int, band: float | Fraction
) -> st.SearchStrategy[torch.Tensor]:
    """Points X ∈ [0,1]^{N×d} (float64 [N, d]) whose every coordinate x is at least ``band`` from
    every quantisation threshold kδ, k = 1, …, 1/δ: |x − kδ| ≥ band exactly, in rational
    arithmetic (so x ≤ 1 − band). These are the inputs on which a quantiser whose transition bands
    (kδ − 1/M, kδ) are narrower than ``band`` must return ⌊x/δ⌋ (docs/theory.md §5).

    Each coordinate lies in [cδ + band, (c + 1)δ − band] for its cell c (from 0 in cell 0). Needs
    1/δ an integer and 0 < band < δ/2; anything else raises ValueError when the strategy is built.
    """
    _check_shape(d, N)
    m = _grid_steps(delta)
    try:
        width = Fraction(band)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"band must be a finite number, got {band!r}") from None
    if not 0 < width < Fraction(1, 2 * m):
        raise ValueError(f"band must satisfy 0 < band < delta/2 = {1 / (2 * m)!r}, got {band!r}")
    cells = [
        st.floats(
            _float_at_least(Fraction(c, m) + width if c else Fraction(0)), _float_at_most(Fraction(c + 1, m) - width)
        )
        for c in range(m)
    ]
    entries = st.lists(st.one_of(*cells), min_size=N * d, max_size=N * d)
    return entries.map(lambda values: _as_points(values, d=d, N=N))


def _in_cell(digit: int, m: int) -> st.SearchStrategy[float]:
    """Floats x with ⌊x·m⌋ = ``digit`` exactly, i.e. x ∈ [digit/m, (digit + 1)/m)."""
    low, high = Fraction(digit, m), Fraction(digit + 1, m)
    top = _float_at_most(high)
    return st.floats(_float_at_least(low), top, exclude_max=Fraction(top) == high)


def collision_free_points(*, delta: float | Fraction, d: int, N: int) -> st.SearchStrategy[torch.Tensor]:
    """Points X ∈ [0,1)^{N×d} (float64 [N, d]) with no two tokens in one cell of the grid G_δ:
    the cells ⌊X_n/δ⌋ (coordinate-wise, exact) of the N tokens are distinct. This is the hypothesis
    of a contextual mapping for inputs off the grid. Needs 1/δ an integer and N ≤ (1/δ)^d
    (ValueError when the strategy is built otherwise)."""
    _check_shape(d, N)
    m = _grid_steps(delta)
    if N > m**d:
        raise ValueError(f"{N} distinct tokens do not fit in {m**d} grid cells")

    @st.composite
    def points(draw: Any) -> torch.Tensor:
        ids = draw(st.lists(st.integers(0, m**d - 1), min_size=N, max_size=N, unique=True))
        values = [draw(_in_cell(g, m)) for cell in ids for g in _cell_digits(cell, m=m, d=d)]
        return _as_points(values, d=d, N=N)

    return points()


def grid_sequences(*, delta: float | Fraction, d: int, N: int) -> st.SearchStrategy[torch.Tensor]:
    """Sequences of N distinct tokens of the grid G_δ = {0, δ, …, 1 − δ}^d as float64 [N, d]
    tensors: the domain of a contextual mapping (:func:`grid_inputs` with distinct tokens)."""
    return grid_inputs(delta=delta, d=d, N=N, distinct_tokens=True)


def permutations(*, N: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Permutations π of the token indices (0, …, N − 1), as tuples: ``X[list(π)]`` is the
    sequence with token n moved to the place where π lists n. Shrinks towards the identity."""
    if N < 1:
        raise ValueError(f"N must be >= 1, got N={N}")
    return st.permutations(range(N)).map(tuple)


def permuted_grid_sequences(
    *, delta: float | Fraction, d: int, N: int
) -> st.SearchStrategy[tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]]:
    """(X, Y, π): a grid sequence X (:func:`grid_sequences`), a permutation π (:func:`permutations`)
    and Y = X[π], the same tokens in another order (a permutation-equivariant map sends Y to f(X)[π])."""
    sequences, orders = grid_sequences(delta=delta, d=d, N=N), permutations(N=N)
    return st.tuples(sequences, orders).map(lambda pair: (pair[0], pair[0][list(pair[1])], pair[1]))


def _nth_outside(index: int, taken: list[int]) -> int:
    """The ``index``-th non-negative integer (from 0) that is not in ``taken``."""
    for cell in sorted(taken):
        if cell <= index:
            index += 1
    return index


def _fresh_token(draw: Any, old: int, taken: set[int], cells: int) -> int:
    """A cell number not in ``taken``: often a neighbour old ± 1, old ± 2 of the token it replaces
    (changes that can cancel each other, the collisions of sum-like sequence ids), otherwise any
    free cell. Shrinks towards the first free cell."""
    offset = draw(st.integers(-2, 2))
    if offset and 0 <= old + offset < cells and old + offset not in taken:
        return old + offset
    return _nth_outside(draw(st.integers(0, cells - len(taken) - 1)), sorted(taken))


def _balance_last(other: list[int], ids: list[int], places: list[int], taken: set[int], cells: int) -> None:
    """Re-choose the last replacement so that the replacements keep the sum of the cell numbers
    Σ_n c_n (where that cell is free): a pair that every linear functional of the cell numbers, the
    first ingredient of many sequence ids, maps to the same value."""
    last = places[-1]
    target = ids[last] + sum(ids[p] - other[p] for p in places[:-1])
    if 0 <= target < cells and target not in taken - {other[last]}:
        taken.discard(other[last])
        other[last] = target
        taken.add(target)


def non_equivalent_grid_pairs(
    *, delta: float | Fraction, d: int, N: int
) -> st.SearchStrategy[tuple[torch.Tensor, torch.Tensor]]:
    """(X, Y): two sequences of N distinct grid tokens (float64 [N, d]) that are not permutations of
    each other, i.e. their token sets differ: the hard case of a contextual mapping, whose ids of X
    and of Y must be disjoint. Y is X with r ≥ 1 tokens replaced by tokens not in X (often a
    neighbouring cell number, and half of the time with the sum of the cell numbers kept, so that
    the changes cancel out), then permuted; r
    shrinks towards 1 and the kept tokens make the pairs as alike as they can be. Needs 1/δ an
    integer and N < (1/δ)^d, or every two such sequences are permutations of each other
    (ValueError when the strategy is built)."""
    _check_shape(d, N)
    m = _grid_steps(delta)
    cells = m**d
    if N >= cells:
        raise ValueError(
            f"with {N} distinct tokens in {cells} grid cells every two sequences are permutations of each other"
        )

    @st.composite
    def pairs(draw: Any) -> tuple[torch.Tensor, torch.Tensor]:
        ids = draw(st.lists(st.integers(0, cells - 1), min_size=N, max_size=N, unique=True))
        replaced = draw(st.integers(1, min(N, cells - N)))
        places = draw(st.lists(st.integers(0, N - 1), min_size=replaced, max_size=replaced, unique=True))
        other, taken = list(ids), set(ids)
        for place in places:
            other[place] = _fresh_token(draw, ids[place], taken, cells)
            taken.add(other[place])
        if replaced >= 2 and draw(st.booleans()):
            _balance_last(other, ids, places, taken, cells)
        order = draw(permutations(N=N))
        return _cell_corners(ids, m=m, d=d), _cell_corners([other[n] for n in order], m=m, d=d)

    return pairs()


__all__ = [
    "cube_points",
    "grid_inputs",
    "pairs_within",
    "deltas",
    "builtin_targets",
    "off_band_points",
    "collision_free_points",
    "grid_sequences",
    "permutations",
    "permuted_grid_sequences",
    "non_equivalent_grid_pairs",
    "regression_prompts",
    "RegressionPrompt",
]
