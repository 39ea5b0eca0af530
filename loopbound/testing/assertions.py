"""Assertion helpers for moduli of continuity: each states a property of the mathematics
(docs/theory.md §1) and fails with a message that names the offending δ and values.

- :func:`assert_pair_meets_constraint`: a pair lies in the cube and meets a kind's constraint;
- :func:`assert_certified`: a lower bound is attained by its witness (recomputed in float64);
- :func:`assert_curve_monotone`: a modulus curve is non-decreasing in δ;
- :func:`assert_lower_bounds_sound`: no lower bound exceeds the known exact value or upper bound;
- :func:`assert_modulus_ordering`: ω^tok ≤ ω and ω^cont ≤ ω, pointwise;
- :func:`assert_subadditive`: ω(a + b) ≤ ω(a) + ω(b) (moduli on a convex domain).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import ModulusEstimate, pair_value
from loopbound.theory.norms import certified_radius, exact_squared_distance
from loopbound.theory.targets import Target

Curve = Sequence[ModulusEstimate | float]


def _values(curve: Curve) -> list[float]:
    return [c.lower if isinstance(c, ModulusEstimate) else float(c) for c in curve]


def assert_pair_meets_constraint(
    X: np.ndarray | torch.Tensor,
    Y: np.ndarray | torch.Tensor,
    *,
    kind: ModulusKind | str,
    delta: float,
    position: int | None = None,
) -> None:
    """X, Y ∈ [0,1]^{N×d}, ‖X − Y‖_2 ≤ δ (exactly, in rational arithmetic), and only the entries ``kind`` lets move differ
    (token: only token ``position``; contextual: token ``position`` identical)."""
    kind = ModulusKind(kind)
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    assert X.shape == Y.shape and X.ndim == 2, f"a pair must be two [N, d] arrays, got {X.shape} and {Y.shape}"
    for name, Z in (("X", X), ("Y", Y)):
        assert np.all((Z >= 0) & (Z <= 1)), f"{name} leaves the cube [0,1]: range [{Z.min()}, {Z.max()}]"
    squared = exact_squared_distance(X, Y)
    assert squared <= certified_radius(delta) ** 2, (
        f"‖X − Y‖_2 = {float(np.linalg.norm((X - Y).ravel()))!r} exceeds δ = {delta!r} (checked in exact arithmetic)"
    )
    fixed = ~kind.perturbation_mask(X.shape[0], X.shape[1], position).numpy()
    assert np.array_equal(X[fixed], Y[fixed]), f"{kind.value} pair at token {position} moves entries it must keep equal"


def assert_certified(estimate: ModulusEstimate, target: Target, *, rtol: float = 1e-12) -> None:
    """The estimate's witness meets its constraint at its δ and attains its lower bound."""
    witness = estimate.witness
    assert_pair_meets_constraint(
        witness.X, witness.Y, kind=estimate.kind, delta=estimate.delta, position=witness.position
    )
    positions = torch.tensor([witness.position]) if estimate.kind.per_token else None
    value = float(
        pair_value(
            target,
            torch.from_numpy(witness.X)[None],
            torch.from_numpy(witness.Y)[None],
            estimate.kind,
            positions,
            estimate.p,
        )[0]
    )
    assert abs(value - estimate.lower) <= rtol * max(abs(value), 1e-300) + 1e-300, (
        f"{estimate.kind.value} at δ={estimate.delta}: witness gives {value!r}, estimate claims {estimate.lower!r}"
    )


def assert_curve_monotone(curve: Curve, *, deltas: Sequence[float] | None = None) -> None:
    """Values non-decreasing along increasing δ (a modulus is non-decreasing)."""
    if deltas is None and curve and isinstance(curve[0], ModulusEstimate):
        deltas = [c.delta for c in curve]  # type: ignore[union-attr]
    values = _values(curve)
    if deltas is not None:
        order = np.argsort(deltas)
        values = [values[i] for i in order]
        deltas = [deltas[i] for i in order]
    for k in range(1, len(values)):
        where = f" between δ={deltas[k - 1]} and δ={deltas[k]}" if deltas is not None else f" at index {k}"
        assert values[k] >= values[k - 1], f"curve decreases{where}: {values[k - 1]!r} > {values[k]!r}"


def assert_lower_bounds_sound(estimates: Sequence[ModulusEstimate], *, rtol: float = 1e-9) -> None:
    """No certified lower bound exceeds the exact value or analytic upper bound (beyond rounding)."""
    for e in estimates:
        reference = e.exact if e.exact is not None else e.upper
        if reference is None:
            continue
        assert e.lower <= reference * (1 + rtol) + 1e-15, (
            f"{e.kind.value} at δ={e.delta}: lower bound {e.lower!r} exceeds "
            f"{'exact value' if e.exact is not None else 'upper bound'} {reference!r}"
        )


def assert_modulus_ordering(
    sequence: Curve, token: Curve | None = None, contextual: Curve | None = None, *, rtol: float = 1e-12
) -> None:
    """ω^tok(δ) ≤ ω(δ) and ω^cont(δ) ≤ ω(δ) pointwise, for curves aligned on the same δ grid."""
    whole = _values(sequence)
    for name, curve in (("token", token), ("contextual", contextual)):
        if curve is None:
            continue
        part = _values(curve)
        assert len(part) == len(whole), f"{name} and sequence curves have different lengths"
        for k, (p_value, s_value) in enumerate(zip(part, whole)):
            assert p_value <= s_value * (1 + rtol) + 1e-15, (
                f"{name} modulus {p_value!r} exceeds the sequence modulus {s_value!r} at grid index {k}"
            )


def assert_subadditive(modulus: Callable[[float], float], a: float, b: float, *, rtol: float = 1e-12) -> None:
    """ω(a + b) ≤ ω(a) + ω(b), which every modulus of a map on a convex domain satisfies."""
    left, right = modulus(a + b), modulus(a) + modulus(b)
    assert left <= right * (1 + rtol) + 1e-15, f"ω({a} + {b}) = {left!r} > ω({a}) + ω({b}) = {right!r}"
