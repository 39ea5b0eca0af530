"""ReLU gadgets as feed-forward units (docs/theory.md §9), each exact where it says so.

Every function returns :class:`~loopbound.constructions.spec.Unit` objects that add ``out``·g to the named
coordinates, where g is the gadget's value:

- :func:`step` g = ReLU(M u + 1) − ReLU(M u): 1 for u ≥ 0, 0 for u ≤ −1/M, linear in between
  (exact for integer u when M = 1: 1[u ≥ 0] = ReLU(u + 1) − ReLU(u));
- :func:`hat` g = ReLU(u + 1) − 2 ReLU(u) + ReLU(u − 1) = 1[u = 0] for integer u;
- :func:`gated` g = ReLU(v − V(1 − φ)) = φ·v for a flag φ ∈ {0, 1} and 0 ≤ v ≤ V;
- :func:`gated_step` g = 1[u ≥ 0 and φ = 1] for integer u ≤ V − 1 (the step shifted by −V(1 − φ));
- :func:`copy` g = ReLU(v) − ReLU(−v) = v for any v (a linear term through the ReLU layer);
- :func:`nonnegative` g = ReLU(v) = v for v ≥ 0 (one unit instead of two).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from loopbound.constructions.spec import Affine, Number, Unit


def _scaled(out: Mapping[str, Number], factor: Number) -> dict[str, Fraction]:
    return {name: Fraction(value) * factor for name, value in out.items()}


def step(u: Affine, out: Mapping[str, Number], *, sharpness: Number = 1, label: str = "step") -> list[Unit]:
    M = Fraction(sharpness)
    return [Unit(u * M + 1, _scaled(out, 1), label), Unit(u * M, _scaled(out, -1), label)]


def hat(u: Affine, out: Mapping[str, Number], *, label: str = "hat") -> list[Unit]:
    return [Unit(u + 1, _scaled(out, 1), label), Unit(u, _scaled(out, -2), label), Unit(u - 1, _scaled(out, 1), label)]


def gated(v: Affine, flag: Affine, bound: Number, out: Mapping[str, Number], *, label: str = "gated") -> list[Unit]:
    return [Unit(v - (1 - flag) * Fraction(bound), _scaled(out, 1), label)]


def gated_step(
    u: Affine, flag: Affine, bound: Number, out: Mapping[str, Number], *, label: str = "gated step"
) -> list[Unit]:
    return step(u - (1 - flag) * Fraction(bound), out, label=label)


def copy(v: Affine, out: Mapping[str, Number], *, label: str = "copy") -> list[Unit]:
    return [Unit(v, _scaled(out, 1), label), Unit(-v, _scaled(out, -1), label)]


def nonnegative(v: Affine, out: Mapping[str, Number], *, label: str = "nonnegative") -> list[Unit]:
    return [Unit(v, _scaled(out, 1), label)]
