"""The grid G_δ = {0, δ, …, 1 − δ}^{N×d} of the contextual-mapping check
(:mod:`loopbound.constructions.contextual_check`) and its inputs, named by cells.

Cell c ∈ {0, …, (1/δ)^d − 1} is the token x with x_i = k_i δ, where k_i is the i-th base-(1/δ)
digit of c (least significant first), the convention of
:func:`loopbound.testing.strategies.grid_inputs`. An input is a row of N cells: the canonical
inputs have N distinct cells in increasing order (one per class of column permutations), the
duplicate inputs a cell holding two or more tokens.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from loopbound.theory import deltas
from loopbound.theory.errors import InputError

ExactBatch = list[list[list[Fraction]]]  # [B][N][d]

__all__ = [
    "ExactBatch",
    "grid_steps",
    "check_shape",
    "cell_digits",
    "cells_to_tensor",
    "cells_to_fractions",
    "points_to_cells",
    "canonical_inputs",
    "duplicate_inputs",
]


def grid_steps(delta: float | Fraction) -> int:
    """1/δ as an integer ≥ 2 (:func:`loopbound.theory.deltas.grid_steps`); an :class:`InputError`
    for any other δ."""
    return deltas.grid_steps(delta)


def check_shape(delta: float | Fraction, d: int, N: int) -> tuple[int, int]:
    """Validate (δ, d, N) for inputs with distinct tokens; return (1/δ, number of cells)."""
    steps = grid_steps(delta)
    for name, value in (("d", d), ("N", N)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    cells = steps**d
    if N > cells:
        raise InputError(f"{N} distinct tokens do not fit in the {cells} cells of the grid (delta=1/{steps}, d={d})")
    return steps, cells


def cell_digits(cells: np.ndarray, steps: int, d: int) -> np.ndarray:
    """Base-(1/δ) digits k_i of each cell, least significant first: [..., d] integers."""
    powers = steps ** np.arange(d, dtype=np.int64)
    return (np.asarray(cells, dtype=np.int64)[..., None] // powers) % steps


def cells_to_tensor(rows: np.ndarray, steps: int, d: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Rows of cells [B, N] as grid points [B, N, d] (x_i = k_i/steps)."""
    return torch.from_numpy(cell_digits(rows, steps, d)).to(dtype) / steps


def cells_to_fractions(rows: Sequence[Sequence[int]], steps: int, d: int) -> ExactBatch:
    """Rows of cells as exact grid points [B][N][d] of fractions."""
    return [
        [[Fraction(int(k), steps) for k in digits] for digits in cell_digits(np.asarray(row), steps, d)] for row in rows
    ]


def points_to_cells(X: torch.Tensor | Sequence[Sequence[Any]], steps: int) -> list[int]:
    """The cells of the tokens of one grid input [N, d] (float or exact); InputError off the grid."""
    cells = []
    for token in X.tolist() if isinstance(X, torch.Tensor) else X:
        cell = 0
        for i, x in enumerate(token):
            k = Fraction(x) * steps
            if k.denominator != 1 or not 0 <= k < steps:
                raise InputError(f"token {list(token)} is not a point of the grid with delta=1/{steps}")
            cell += int(k) * steps**i
        cells.append(cell)
    return cells


def canonical_inputs(cells: int, N: int, *, max_inputs: int, seed: int) -> tuple[np.ndarray, int, bool]:
    """Inputs with N distinct tokens, cells increasing: all of them when there are at most
    ``max_inputs``, else ``max_inputs`` distinct ones drawn uniformly (seeded).
    Returns (rows [M, N], how many exist, whether all were taken)."""
    total = math.comb(cells, N)
    if total <= max_inputs:
        return np.array(list(itertools.combinations(range(cells), N)), dtype=np.int64).reshape(total, N), total, True
    rng = np.random.default_rng(seed)
    found: set[tuple[int, ...]] = set()
    while len(found) < max_inputs:
        draw = np.sort(rng.integers(0, cells, size=(2 * max_inputs, N)), axis=1)
        for row in draw[np.all(np.diff(draw, axis=1) > 0, axis=1)]:
            found.add(tuple(int(c) for c in row))
            if len(found) == max_inputs:
                break
    return np.array(sorted(found), dtype=np.int64), total, False


def duplicate_inputs(cells: int, N: int, *, max_inputs: int, seed: int) -> tuple[np.ndarray, int, bool]:
    """Inputs (cells non-decreasing) in which some cell holds two or more tokens: all of them when
    there are at most ``max_inputs``, else a seeded sample. Returns (rows, how many exist, all?)."""
    total = math.comb(cells + N - 1, N) - math.comb(cells, N)
    if total == 0:
        return np.zeros((0, N), dtype=np.int64), 0, True
    if total <= max_inputs:
        rows = [row for row in itertools.combinations_with_replacement(range(cells), N) if len(set(row)) < N]
        return np.array(rows, dtype=np.int64), total, True
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, cells, size=(max_inputs, N))
    draw[:, 1] = draw[:, 0]  # force one repeated cell, then forget where it is
    return np.unique(np.sort(draw, axis=1), axis=0), total, False
