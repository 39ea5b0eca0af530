"""Hypothesis strategies for loopbound's objects (in the manner of xarray.testing.strategies).

All keyword-only and bounded; tensors are float64 ``torch`` tensors in code notation
(``[N, d]`` per input, tokens on dim 0).

- :func:`cube_points`: inputs in [0,1]^{N×d};
- :func:`grid_inputs`: inputs on the grid G_δ = {0, δ, …, 1−δ}^{N×d}, optionally with distinct tokens;
- :func:`pairs_within`: pairs (X, X', n) meeting a modulus kind's constraint at distance ≤ δ;
- :func:`deltas`: grid-free δ values; :func:`builtin_targets`: built-in targets with drawn parameters.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import torch
from hypothesis import strategies as st

from loopbound.theory.deltas import grid_steps
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.norms import exact_squared_distance
from loopbound.theory.targets import BUILTIN_TARGETS, Target, builtin_target

_UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)


def _check_shape(d: int, N: int) -> None:
    if d < 1 or N < 1:
        raise ValueError(f"d and N must be >= 1, got d={d}, N={N}")


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
    try:
        per_axis = grid_steps(delta)
    except InputError as error:
        raise ValueError(str(error)) from None
    cells = per_axis**d
    if distinct_tokens and N > cells:
        raise ValueError(f"{N} distinct tokens do not fit in {cells} grid cells")

    def to_points(ids: list[int]) -> torch.Tensor:
        digits = [[(cell // per_axis**i) % per_axis for i in range(d)] for cell in ids]
        return torch.tensor(digits, dtype=torch.float64) / per_axis

    cell_ids = st.lists(st.integers(0, cells - 1), min_size=N, max_size=N, unique=distinct_tokens)
    return cell_ids.map(to_points)


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
    bound = Fraction(float(delta)) ** 2
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


__all__ = ["cube_points", "grid_inputs", "pairs_within", "deltas", "builtin_targets"]
