"""Claims: the bounds a construction's measured error is held against, one kind per class.

A claim evaluated at one loop budget r (the construction built on grid m, δ = 1/m, with its
guarantee) gives the bound's range over the moduli's brackets
(:func:`loopbound.theory.bounds.bracket.bound_range`: [B(lower ends), B(upper ends)], certified or
said not to be) and the constants it was evaluated with. The kinds (docs/theory.md for the
theorems):

- :class:`ConstructionClaim` (``"construction"``): Theorem 3.6 for the construction itself,
  :data:`~loopbound.theory.bounds.construction.CONSTRUCTION_TEMPLATE` with the constants
  ε, B, B_C, μ_B, μ_C of the guarantee (:func:`~loopbound.theory.bounds.construction.construction_terms`),
  S = sup|f| and w = ω_f(δ√(Nd)) at the construction's δ = 1/m;
- :class:`TheoremClaim` (``"theorem"``): the reconstructed Theorem 3.6 (with Theorem 4.2's exact
  value mapping under timestep scaling) at δ(r), in its stricter reading, with the other reading's
  range beside it; the O-constants are fixed by the construction:
  C_coll = 2^{−1/p}(N d_out)^{1/p}(B_C + S), C_band = (N d_out)^{1/p}(B + S), M = its sharpness;
- :class:`UserClaim` (``"user"``): a user's expression in r, d, N, p, delta and the moduli w,
  w_tok, w_cont at δ = 1/m (a modulus the expression does not use is 0).

:func:`claim_for` picks the claim from ``"construction"``, ``"theorem"`` or a parsed
:class:`~loopbound.theory.bounds.core.Bound`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from loopbound.theory.bounds.approximation import theorem_delta, theorem_readings
from loopbound.theory.bounds.bracket import BoundRange, bound_range
from loopbound.theory.bounds.construction import CONSTRUCTION_TEMPLATE, construction_terms
from loopbound.theory.bounds.core import Bound
from loopbound.theory.bounds.hypotheses import TheoremHypotheses, theorem_hypotheses
from loopbound.theory.errors import InputError
from loopbound.theory.moduli_bracket import MODULUS_KINDS
from loopbound.theory.targets import Target

__all__ = ["ClaimInputs", "ClaimRange", "Claim", "ConstructionClaim", "TheoremClaim", "UserClaim", "claim_for"]

Brackets = Mapping[str, tuple[float, float | None]]
"""Each modulus name → (certified lower bound or exact value, upper bound or None)."""


@dataclass(frozen=True)
class ClaimInputs:
    """What a claim is evaluated with at loop budget ``r``: the construction's grid m (δ = 1/m)
    and its ``guarantee``, the dimensions d, N, the exponent p, S = sup|f| (``sup``) and the
    moduli's brackets."""

    r: int
    grid: int
    d: int
    N: int
    p: float
    sup: float
    guarantee: Any
    brackets: Brackets


@dataclass(frozen=True)
class ClaimRange:
    """The claim at one r: the bound's range over the moduli's box (``span``; ``span.reason`` says
    why it is not certified), the values it was evaluated with (constants and the moduli's lower
    ends), and for the theorem the range of its other reading (``other``)."""

    span: BoundRange
    values: dict[str, float]
    other: BoundRange | None = None


def _range(bound: Bound, fixed: Mapping[str, float | Fraction], brackets: Brackets, r: int) -> BoundRange:
    """:func:`bound_range`, its error naming r (undefined there, or an inverted bracket)."""
    try:
        return bound_range(bound, fixed, brackets)
    except InputError as error:
        text = f"{error} "
        raise InputError(str(error) if f"r = {r} " in text or f"r = {r}," in text else f"r={r}: {error}") from None


def _finish(
    span: BoundRange,
    fixed: Mapping[str, float | Fraction],
    values: dict[str, float],
    inputs: ClaimInputs,
    other: BoundRange | None = None,
) -> ClaimRange:
    """The range with the moduli's lower ends added to ``values``; a NaN end is an InputError."""
    values.update({name: lower for name, (lower, _) in inputs.brackets.items()})
    if math.isnan(span.low) or math.isnan(span.high):
        raise InputError(f"the bound is NaN at r={inputs.r} (values {dict(fixed, **values)})")
    return ClaimRange(span, values, other)


class Claim(ABC):
    """A bound held against the construction's error: its ``kind``, the bound shown to the reader,
    the moduli it reads, the scale δ at which they are taken, and its range at each r."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def shown(self) -> Bound:
        """The bound as reported (its expression and provenance)."""

    @abstractmethod
    def moduli(self) -> tuple[str, ...]:
        """The modulus symbols (w, w_tok, w_cont) the bound is evaluated with."""

    @abstractmethod
    def evaluate(self, inputs: ClaimInputs) -> ClaimRange:
        """The bound's range at ``inputs.r``."""

    def check_budget(self, r: int, N: int) -> None:
        """Raise InputError where the claim says nothing at r loops (every r counts unless a claim says otherwise)."""
        return None

    def scale(self, r: int, grid: int, d: int, N: int) -> float | Fraction:
        """The grid scale δ at which the moduli enter: the construction's 1/m, exactly."""
        return Fraction(1, grid)

    def hypotheses(self, target: Target, *, seed: int) -> TheoremHypotheses | None:
        """The hypotheses of the theorem the claim states, checked on ``target`` (None: no theorem)."""
        return None


@dataclass(frozen=True)
class ConstructionClaim(Claim):
    """Theorem 3.6 for the construction, with each grid's guarantee (module docstring)."""

    kind: ClassVar[str] = "construction"

    @property
    def shown(self) -> Bound:
        return CONSTRUCTION_TEMPLATE  # its constants differ per grid: each row's values

    def moduli(self) -> tuple[str, ...]:
        return ("w",)

    def evaluate(self, inputs: ClaimInputs) -> ClaimRange:
        values: dict[str, float] = {"p": inputs.p, "S": inputs.sup}
        values.update(construction_terms(inputs.guarantee))
        fixed: dict[str, float | Fraction] = {k: v for k, v in values.items() if k != "w"}
        fixed["p"] = Fraction(inputs.p)  # the exact rational of the float given
        return _finish(_range(CONSTRUCTION_TEMPLATE, fixed, inputs.brackets, inputs.r), fixed, values, inputs)


@dataclass(frozen=True)
class TheoremClaim(Claim):
    """The reconstructed Theorem 3.6 at δ(r) (with Theorem 4.2's exact value mapping when
    ``timestep``), both readings, O-constants from the construction (module docstring)."""

    timestep: bool
    kind: ClassVar[str] = "theorem"

    @property
    def shown(self) -> Bound:
        return theorem_readings(self.timestep).stricter

    def moduli(self) -> tuple[str, ...]:
        return ("w",) if self.timestep else ("w", "w_tok", "w_cont")

    def check_budget(self, r: int, N: int) -> None:
        if r <= N:
            raise InputError(f"Theorem 3.6 needs r > N, got r={r} with N={N}")

    def scale(self, r: int, grid: int, d: int, N: int) -> float | Fraction:
        """δ(r) = ((r − N)/2)^{−1/((N+1)d+1)}: the theorem's grid, not the construction's (the
        largest float64 ≤ it; the bound itself reads δ(r) exactly through r)."""
        return theorem_delta(r, d, N)

    def hypotheses(self, target: Target, *, seed: int) -> TheoremHypotheses | None:
        return theorem_hypotheses(target, seed=seed)

    def constants(self, inputs: ClaimInputs) -> dict[str, float]:
        """p, S, the O-constants C_coll, C_band, M read off the guarantee, and δ(r)."""
        terms = construction_terms(inputs.guarantee)
        p, sup = inputs.p, inputs.sup
        entries = (terms["N"] * terms["d_out"]) ** (1.0 / p)
        e_band, e_collision = entries * (terms["B"] + sup), entries * (terms["B_C"] + sup)
        return {
            "p": p,
            "S": sup,
            "C_coll": 2 ** (-1.0 / p) * e_collision,
            "C_band": e_band,
            "M": float(getattr(inputs.guarantee, "sharpness", math.inf) or math.inf),
            "delta_r": float(self.scale(inputs.r, inputs.grid, inputs.d, inputs.N)),
        }

    def evaluate(self, inputs: ClaimInputs) -> ClaimRange:
        values = self.constants(inputs)
        readings = theorem_readings(self.timestep)
        needed = {s.name for s in readings.stricter.symbols}
        given: dict[str, float | Fraction] = {"r": inputs.r, "d": inputs.d, "N": inputs.N, **values}
        given["p"] = Fraction(inputs.p)  # the exact rational of the float given
        fixed = {k: v for k, v in given.items() if k in needed and k not in inputs.brackets}
        other = bound_range(readings.other, fixed, inputs.brackets)
        span = _range(readings.stricter, fixed, inputs.brackets, inputs.r)
        return _finish(span, fixed, values, inputs, other)


@dataclass(frozen=True)
class UserClaim(Claim):
    """A user's bound (parsed by :func:`loopbound.theory.bounds.parse.parse_bound`)."""

    bound: Bound
    kind: ClassVar[str] = "user"

    @property
    def shown(self) -> Bound:
        return self.bound

    def moduli(self) -> tuple[str, ...]:
        used = self.bound.expression.free_symbols
        return tuple(s.name for s in self.bound.symbols if s.name in MODULUS_KINDS and s in used)

    def evaluate(self, inputs: ClaimInputs) -> ClaimRange:
        values: dict[str, float] = {"p": inputs.p, "S": inputs.sup}
        fixed: dict[str, float | Fraction] = {
            "r": inputs.r,
            "d": inputs.d,
            "N": inputs.N,
            "p": Fraction(inputs.p),  # the exact rational of the float given
            "delta": Fraction(1, inputs.grid),  # 1/m exactly: float(1/3) < 1/3 would move a floor
        }
        fixed.update({name: 0.0 for name in MODULUS_KINDS if name not in inputs.brackets})
        return _finish(_range(self.bound, fixed, inputs.brackets, inputs.r), fixed, values, inputs)


def claim_for(bound: str | Bound, *, timestep: bool) -> Claim:
    """The claim ``bound`` names: ``"construction"``, ``"theorem"`` or a user's :class:`Bound`."""
    if isinstance(bound, Bound):
        return UserClaim(bound)
    if bound == "theorem":
        return TheoremClaim(timestep)
    if bound == "construction":
        return ConstructionClaim()
    raise InputError(f"bound must be 'construction', 'theorem' or an expression, got {bound!r}")
