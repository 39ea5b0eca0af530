"""The moduli a bound is evaluated with, each known within a bracket [lower, upper].

At grid scale δ the approximation bounds read w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d) and
w_cont = ω^cont_f(δ√(Nd)) (:func:`loopbound.theory.bounds.approximation.modulus_arguments`;
docs/theory.md for the moduli). Each is

- *exact* where the target derives it (and ω^cont ≡ 0 for N = 1: one token has no context), the
  float64 value entering as a range of its rounding error (:data:`ROUNDING_ULPS`);
- else *bracketed*: a certified lower bound from a witness pair
  (:func:`loopbound.theory.modulus.estimate_modulus`) and the target's analytic upper bound;
- or an *estimate* where the target has no upper bound: the certified lower bound only.

Both ends are kept: a bound evaluated only at the upper end can pass a false claim
(:mod:`loopbound.theory.bounds.bracket` turns the brackets into the bound's range).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from loopbound.theory.bounds.approximation import modulus_arguments
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import estimate_modulus
from loopbound.theory.targets import Target

__all__ = ["MODULUS_KINDS", "ModulusValue", "Scale", "modulus_values"]

Scale = float | Fraction
"""A grid scale δ: the construction's 1/m exactly (a Fraction), or a float64 (the theorem's δ(r))."""

MODULUS_KINDS = {"w": ModulusKind.SEQUENCE, "w_tok": ModulusKind.TOKEN, "w_cont": ModulusKind.CONTEXTUAL}
"""The bounds' modulus symbols and the modulus each stands for."""

_Pending = dict[str, list[tuple[Scale, float, float | None]]]
"""Per modulus name, the (scale, argument, analytic upper bound or None) still to search."""


@dataclass(frozen=True)
class ModulusValue:
    """A modulus entering a bound: ``name`` (w, w_tok, w_cont) at ``argument``, known within
    [``lower``, ``upper``]: ``lower`` is a certified lower bound (a witness pair, or the exact value
    less its float64 rounding), ``upper`` an upper bound (the exact value plus its rounding, an
    analytic upper bound) or None (unknown). ``source``: ``exact`` (a derived value: lower = upper
    for a zero modulus, else a range of float64 rounding, :func:`_rounding_range`),
    ``bracketed`` (certified lower bound and analytic upper bound) or ``estimate`` (lower only)."""

    name: str
    argument: float
    lower: float
    upper: float | None
    source: str

    @property
    def bracket(self) -> tuple[float, float | None]:
        return self.lower, self.upper


ROUNDING_ULPS = 1 << 12
"""k: a target's exact modulus, computed in float64, is within k·N·d units of 2^-52 (relative) of
the true ω at the true argument. Why: the argument is the largest float64 ≤ the true δ√K (at most
1 ulp below, :func:`modulus_arguments`; the theorem's δ(r) another ulp), and the built-ins' formulas
are a few faithfully rounded operations (holder: scale·δ^α·K^e, two powers and two products,
≤ 5 ulps with the argument's ulp scaled by α ≤ 1; contextual max: scale·N^{1/p}·δ·c_p(d), likewise),
or, for linear's Lipschitz constants, float64 norms of an N×N matrix: max|A_nn| (exact), scaled
p-norms of rows (≤ N ulps) and the spectral norm by a backward-stable SVD, whose largest singular
value is off by ≤ c·N·2^-52 relative with a small constant c. 2^12·N·d ulps covers each with a wide
margin, and is still below 10^-9 relative for N·d ≤ 10^3, invisible in a 4-digit table."""


def _rounding_range(value: float, N: int, d: int) -> tuple[float, float]:
    """[value·(1 − k·N·d·2^-52), value·(1 + k·N·d·2^-52)] (k = :data:`ROUNDING_ULPS`), each end
    stepped one more float64 outward; [0, 0] for 0 (every built-in's zero modulus is exact)."""
    if value == 0.0:
        return 0.0, 0.0
    width = ROUNDING_ULPS * N * d * 2.0**-52
    low, high = sorted((value * (1.0 - width), value * (1.0 + width)))
    return max(0.0, math.nextafter(low, -math.inf)), math.nextafter(high, math.inf)


def _known(target: Target, name: str, argument: float, *, N: int, d: int, p: float) -> ModulusValue | None:
    """The modulus ``name`` at ``argument`` where it is known exactly (ω^cont ≡ 0 for N = 1, or the
    target's own exact value), else None. The target's value is a float64 rounding of the true ω:
    it enters as the tiny range :func:`_rounding_range` around it, never as exact (a bound with a
    floor at the true value, or one magnifying the last bit, would be judged at the wrong value)."""
    kind = MODULUS_KINDS[name]
    if kind is ModulusKind.CONTEXTUAL and N == 1:
        return ModulusValue(name, argument, 0.0, 0.0, "exact")
    exact = target.exact_modulus(kind, argument, p)
    if exact is not None:
        return ModulusValue(name, argument, *_rounding_range(float(exact), N, d), "exact")
    return None


def _searched(target: Target, pending: _Pending, *, p: float, seed: int) -> dict[Scale, dict[str, ModulusValue]]:
    """The moduli not known exactly: one batched witness search per kind over every argument
    wanted, paired with the target's analytic upper bound (``None``: an estimate)."""
    out: dict[Scale, dict[str, ModulusValue]] = {}
    for name, wanted in pending.items():
        estimates = estimate_modulus(target, MODULUS_KINDS[name], sorted({a for _, a, _ in wanted}), p=p, seed=seed)
        by_argument = {e.delta: e.lower for e in estimates}
        for scale, argument, upper in wanted:
            source = "estimate" if upper is None else "bracketed"
            out.setdefault(scale, {})[name] = ModulusValue(name, argument, float(by_argument[argument]), upper, source)
    return out


def modulus_values(
    target: Target, scales: Sequence[Scale], names: Sequence[str], *, d: int, N: int, p: float, seed: int
) -> dict[Scale, dict[str, ModulusValue]]:
    """For each grid scale δ, the moduli ``names`` at their arguments (:func:`modulus_arguments`):
    exact where the target derives it; else a certified lower bound (one batched search per kind,
    :func:`loopbound.theory.modulus.estimate_modulus`) with the target's analytic upper bound where it has one."""
    out: dict[Scale, dict[str, ModulusValue]] = {scale: {} for scale in scales}
    pending: _Pending = {}
    for scale in scales:
        arguments = modulus_arguments(scale, d, N)
        for name in names:
            argument = arguments[name]
            known = _known(target, name, argument, N=N, d=d, p=p)
            if known is not None:
                out[scale][name] = known
                continue
            upper = target.upper_modulus(MODULUS_KINDS[name], argument, p)
            pending.setdefault(name, []).append((scale, argument, None if upper is None else float(upper)))
    for scale, found in _searched(target, pending, p=p, seed=seed).items():
        out[scale].update(found)
    return out
