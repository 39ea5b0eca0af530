"""Theorem 3.6 for loopbound's own universal construction, **derived here**: the bound
:data:`CONSTRUCTION_TEMPLATE` in the moduli value w and sup|f|, with the constants ε, B, B_C, μ_B, μ_C
read off the guarantee the construction states (:func:`construction_terms`), and
:func:`construction_bound`, whose docstring carries the derivation step by step (the theorem it
instantiates is :data:`loopbound.theory.bounds.approximation.THEOREM_3_6`).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import sympy

from loopbound.theory.bounds.approximation import ARXIV, SOURCE, N, p, w
from loopbound.theory.bounds.core import Bound, Provenance
from loopbound.theory.bounds.interface import ConstructionGuarantee
from loopbound.theory.errors import InputError

__all__ = ["CONSTRUCTION_TEMPLATE", "construction_terms", "construction_bound"]

d_out = sympy.Symbol("d_out", positive=True)
eps, B, B_C, S, mu_B, mu_C = sympy.symbols("epsilon B B_C S mu_B mu_C", nonnegative=True)

_GOOD = w + (N * d_out) ** (1 / p) * eps
_BAND = (N * d_out) ** (1 / p) * (B + S)
_COLLISION = (N * d_out) ** (1 / p) * (B_C + S)

CONSTRUCTION_TEMPLATE = Bound(
    name="Theorem 3.6 for loopbound's universal construction",
    expression=(_GOOD**p + mu_B * _BAND**p + mu_C * _COLLISION**p) ** (1 / p),
    symbols=(N, d_out, p, w, eps, B, B_C, S, mu_B, mu_C),
    provenance=Provenance(
        source="loopbound, loopbound.constructions.universal (after " + SOURCE + ")",
        statement="Theorem 3.6 instance for the construction's own guarantee",
        arxiv=ARXIV,
        status="derived here",
    ),
    derivation="See loopbound.theory.bounds.construction.construction_bound: on the good set the error is at most "
    "E_G = w + (N d_out)^{1/p}·epsilon; on the band set (measure ≤ mu_B) at most E_B = (N d_out)^{1/p}(B + S); "
    "on the collision set off the bands (measure ≤ mu_C) at most E_C = (N d_out)^{1/p}(B_C + S); hence "
    "‖g − f‖_{L^p} ≤ (E_G^p + mu_B·E_B^p + mu_C·E_C^p)^{1/p} ≤ E_G + E_B·mu_B^{1/p} + E_C·mu_C^{1/p}.",
)
"""(E_G^p + μ_B E_B^p + μ_C E_C^p)^{1/p}: E_G = w + (N d_out)^{1/p} ε, E_B = (N d_out)^{1/p}(B + S),
E_C = (N d_out)^{1/p}(B_C + S)."""


def _field(guarantee: ConstructionGuarantee, name: str) -> Any:
    """A field of :class:`ConstructionGuarantee`; a user construction that lacks one is refused."""
    if not hasattr(guarantee, name):
        raise InputError(f"the construction's guarantee has no field {name!r}")
    return getattr(guarantee, name)


def construction_terms(guarantee: ConstructionGuarantee) -> dict[str, float]:
    """The constants of :data:`CONSTRUCTION_TEMPLATE` read off a guarantee through
    :class:`~loopbound.theory.bounds.interface.ConstructionGuarantee`: N, d_out,
    ε = max_j value_error_bound_j + label_rounding (0 where the guarantee has no rounding field),
    B = output_bound, B_C = collision_output_bound where the guarantee states one (else B),
    μ_B = band_measure, μ_C = collision_measure."""
    per_coordinate = _field(guarantee, "value_error_bound")
    if isinstance(per_coordinate, (int, float)):
        per_coordinate = (per_coordinate,)
    rounding = float(getattr(guarantee, "label_rounding", 0.0) or 0.0)
    values = {
        "N": int(_field(guarantee, "N")),
        "d_out": int(_field(guarantee, "d_out")),
        "epsilon": max((float(e) for e in per_coordinate), default=0.0) + rounding,
        "B": float(_field(guarantee, "output_bound")),
        "B_C": float(getattr(guarantee, "collision_output_bound", None) or _field(guarantee, "output_bound")),
        "mu_B": float(_field(guarantee, "band_measure")),
        "mu_C": float(_field(guarantee, "collision_measure")),
    }
    for name, value in values.items():
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"the construction's guarantee has {name} = {value!r}; it must be finite and >= 0")
    return values


def construction_bound(guarantee: ConstructionGuarantee) -> Bound:
    """Theorem 3.6 for loopbound's universal construction, with the constants of ``guarantee``.

    Returns a :class:`Bound` in the symbols p, w (= ω_f(δ√(Nd)) at the construction's δ = 1/m) and
    S (= sup_X max_{n,i} |f(X)_{n,i}|, see :func:`target_sup`).

    **Derivation** (derived here; each step checked). Let g be the construction with grid δ = 1/m,
    f the target, X uniform on the cube Q = [0,1]^{N×d} (volume 1), e(X) = ‖g(X) − f(X)‖_p in the
    entrywise p-norm over the N × d_out output entries, and q(X) = δ⌊X/δ⌋ the cell's lower corner.

    1. *The good set G* (X off the transition bands and without two tokens in one cell). There the
       guarantee states g(X) = f(q(X)) + v(X), with |v(X)_{n,j}| ≤ ε_j + ρ per entry: ε_j =
       value_error_bound_j is 0 under timestep scaling and Lemma 4.1's largest consecutive jump
       without it, and ρ = label_rounding is the rounding of the stored values f(corner) to the
       construction's fixed point ("exact" means equal to the *stored* value, which differs from
       f(q(X)) by up to ρ = 2^{−F−1}). Let
       ε := max_j ε_j + ρ. Each entry of X − q(X) lies in [0, δ), so ‖X − q(X)‖_2 < δ√(Nd), and
       q(X) ∈ Q; hence ‖f(q(X)) − f(X)‖_p ≤ ω_f(δ√(Nd)) = w. A vector with N·d_out entries each ≤ ε
       in absolute value has p-norm ≤ (N d_out)^{1/p} ε. By the triangle inequality
       e(X) ≤ E_G := w + (N d_out)^{1/p} ε.
    2. *The failure set F = Q \\ G* = Band ∪ (Coll \\ Band), with |Band| ≤ μ_B = band_measure and
       |Coll| ≤ μ_C = collision_measure (both the construction's; the union needs no overlap
       correction, the two parts are disjoint). ``output_bound`` B and
       S bound *entries* (|g_{n,i}| ≤ B on F, |f_{n,i}| ≤ S on Q), so on F
       e(X) ≤ ‖g(X)‖_p + ‖f(X)‖_p ≤ (N d_out)^{1/p}(B + S) =: E_B, not B + S: the p-norm of N·d_out
       entries carries the factor (N d_out)^{1/p} (for N = d_out = 1 the two agree). Where the
       guarantee states a separate entry bound B_C on the collision set (``collision_output_bound``;
       there the arithmetic is exact and only the id is wrong), the collision part uses
       E_C = (N d_out)^{1/p}(B_C + S); otherwise B_C = B.
    3. *Integrate.* ‖g − f‖_{L^p}^p = ∫_G e^p + ∫_Band e^p + ∫_{Coll \\ Band} e^p
       ≤ E_G^p + μ_B E_B^p + μ_C E_C^p, so

           ‖g − f‖_{L^p} ≤ (E_G^p + μ_B E_B^p + μ_C E_C^p)^{1/p} ≤ E_G + E_B μ_B^{1/p} + E_C μ_C^{1/p},

       the last step being (a + b + c)^{1/p} ≤ a^{1/p} + b^{1/p} + c^{1/p} for p ≥ 1 (equivalently
       Minkowski's inequality on e·1_G + e·1_Band + e·1_{Coll∖Band}, which also
       uses |G| ≤ 1). The bound returned is the first, tighter form; it is never larger than the
       Minkowski form.

    Matching Theorem 3.6 term by term: E_G is its w + (Nd)^{1/p}(w_tok + w_cont) with the measured
    jump in place of the moduli, and the failure terms are its two O-terms with C = E_B or E_C (see
    THEOREM_3_6's derivation).
    """
    values = construction_terms(guarantee)
    bound = CONSTRUCTION_TEMPLATE.substitute(values, name=CONSTRUCTION_TEMPLATE.name)
    grid = _field(guarantee, "delta")
    timestep = bool(_field(guarantee, "timestep"))
    detail = (
        f"\nConstants from the guarantee: δ = {float(grid):g}, N = {values['N']}, d_out = {values['d_out']}, "
        f"ε = {values['epsilon']:.6g} ({'timestep scaling: exact values' if timestep else 'Lemma 4.1 jump'}), "
        f"B = {values['B']:.6g}, B_C = {values['B_C']:.6g}, μ_B = {values['mu_B']:.6g}, μ_C = {values['mu_C']:.6g}."
    )
    return Bound(bound.name, bound.expression, bound.symbols, bound.provenance, _CONSTRUCTION_DERIVATION + detail)


_CONSTRUCTION_DERIVATION = inspect.cleandoc(construction_bound.__doc__ or CONSTRUCTION_TEMPLATE.derivation)
