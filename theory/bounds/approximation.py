"""Approximation-rate bounds for looped transformers (Xu & Sato 2024, arXiv 2410.01405).

What this module states, each as a :class:`~loopbound.theory.bounds.core.Bound` with provenance:

- :data:`THEOREM_3_6`: the L^p rate of a looped transformer with r loops, in the moduli of the
  target at the grid scale δ(r) = ((r − N)/2)^{−1/((N+1)d+1)} (reconstructed from secondary
  summaries), in the stricter of its two readings; :data:`THEOREM_3_6_OTHER_READING` the other
  (:data:`THEOREM_3_6_READINGS`);
- :data:`THEOREM_3_6_EXACT_VALUES` (alias :data:`THEOREM_4_2`): Theorem 3.6 with Theorem 4.2's
  exact value mapping, which removes the ω^tok, ω^cont terms, **derived here** (Theorem 4.2 itself
  is a memorisation result);
- :data:`LEMMA_4_1`: the per-coordinate value-mapping error of a weight-tied residual block;
- the loop budgets of the theory (:data:`QUANTISATION_LOOPS`, :data:`CONTEXTUAL_LOOPS`,
  :data:`VALUE_LOOPS`, :data:`THEORY_LOOPS`);
- :data:`CONSTRUCTION_TEMPLATE` and :func:`construction_bound`: the instance of Theorem 3.6 for
  loopbound's own universal construction, **derived here** from the guarantee the construction
  states (derivation in :func:`construction_bound`'s docstring);
- :func:`target_sup`: sup over the cube of |f(X)_{n,i}| for the built-in targets (the failure-set
  term of the derived bound needs it).

Symbols: r (loops), d, N, p, the moduli values w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d),
w_cont = ω^cont_f(δ√(Nd)) (the caller evaluates the moduli at the arguments that
:func:`modulus_arguments` gives), and explicit constants C_coll, C_band for the two O-terms, M the
sharpness of the ReLU steps. Functions of r enter through :data:`DELTA_OF_R`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
import torch
from loopbound.theory.bounds.core import Bound, Provenance
from loopbound.theory.bounds.interface import ConstructionGuarantee
from loopbound.theory.errors import InputError
from loopbound.theory.targets import (
    ContextualMax,
    LinearMixing,
    PrefixMean,
    SmoothTokenMean,
    SoftmaxAttentionTarget,
    Target,
    TokenwiseHolder,
)

__all__ = [
    "SYMBOLS",
    "DELTA_OF_R",
    "THEOREM_3_6",
    "THEOREM_4_2",
    "THEOREM_3_6_OTHER_READING",
    "THEOREM_3_6_EXACT_VALUES",
    "THEOREM_3_6_EXACT_VALUES_OTHER_READING",
    "THEOREM_3_6_READINGS",
    "THEOREM_3_6_EXACT_VALUES_READINGS",
    "TheoremReadings",
    "theorem_readings",
    "LEMMA_4_1",
    "QUANTISATION_LOOPS",
    "CONTEXTUAL_LOOPS",
    "VALUE_LOOPS",
    "THEORY_LOOPS",
    "CONSTRUCTION_TEMPLATE",
    "theorem_bound",
    "theorem_delta",
    "theory_loops",
    "modulus_arguments",
    "construction_bound",
    "construction_terms",
    "lemma_4_1_jump",
    "target_sup",
]

ARXIV = "2410.01405"
SOURCE = "Xu & Sato 2024, On expressive power of looped transformers"

r, d, N, p = sympy.symbols("r d N p", positive=True)
delta = sympy.Symbol("delta", positive=True)
w, w_tok, w_cont = sympy.symbols("w w_tok w_cont", nonnegative=True)
C_coll, C_band, M = sympy.symbols("C_coll C_band M", positive=True)
jump = sympy.Symbol("jump", nonnegative=True)

SYMBOLS: dict[str, sympy.Symbol] = {s.name: s for s in (r, d, N, p, delta, w, w_tok, w_cont, C_coll, C_band, M, jump)}
"""Every symbol the bounds here use, by name (a user's ``--bound`` expression draws on these)."""

DELTA_OF_R: sympy.Expr = ((r - N) / 2) ** (-1 / ((N + 1) * d + 1))
"""δ(r) = ((r − N)/2)^{−1/((N+1)d+1)}: the grid scale Theorem 3.6 affords with r loops (r > N)."""


# --------------------------------------------------------------------------- Theorem 3.6 / 4.2
def _theorem_expression(timestep: bool, grid: sympy.Expr, inside: bool = False) -> sympy.Expr:
    """The rate's right-hand side. ``inside``: the other reading, with the quantisation term
    ω_f(δ√(Nd)) inside the (Nd)^{1/p} factor; ``timestep``: the value-mapping moduli dropped."""
    collision = C_coll * N ** (2 / p) * grid ** (d / p)
    band = C_band * ((M * grid) ** -1 * d * N) ** (1 / p)
    value_moduli = 0 if timestep else (w_tok + w_cont)
    if inside:
        return (N * d) ** (1 / p) * (value_moduli + w) + collision + band
    return (N * d) ** (1 / p) * value_moduli + w + collision + band


_THEOREM_DERIVATION = """\
Terms (reconstructed): w = ω_f(δ√(Nd)) is the quantisation error (a grid cell has diameter δ√(Nd));
(Nd)^{1/p}(w_tok + w_cont) is the value-mapping error of the weight-tied block (Lemma 4.1: neighbouring
contextual ids differ by one token, ω^tok_f(δ√d), or by the context, ω^cont_f(δ√(Nd)));
C_coll·N^{2/p}δ^{d/p} is the collision term and C_band·((Mδ)^{-1}dN)^{1/p} the transition-band term.
The O-constants are explicit symbols. A construction fixes them as follows: if the pointwise error on
the failure set is at most E_F, the collision set has measure ≤ C(N,2)δ^d ≤ N²δ^d/2, so it contributes
E_F·(N²δ^d/2)^{1/p}, i.e. C_coll = 2^{-1/p}E_F; the band set (some entry inside the width-1/M ramp
of one of its δ^{-1}−1 interior thresholds: the quantiser's step is a one-sided ramp of slope M) has
measure ≤ Nd(δ^{-1}−1)/M ≤ dN/(Mδ), so C_band = E_F. (The construction's own ``band_measure``
counts δ^{-1} ramps per entry and a rounding margin, so it is larger; the verdicts use it.)
δ = δ(r) = ((r−N)/2)^{-1/((N+1)d+1)}: then 2δ^{-(N+1)d}·δ^{-1} = r − N, and the loop budget
(δ^{-1}−1) + N + (2δ^{-(N+1)d}−1) is ≤ r (see THEORY_LOOPS)."""

_READINGS_NOTE = """\
Two readings (the primary text could not be read; two secondary summaries disagree on one term):
the *stricter* one, used here, puts the quantisation term ω_f(δ√(Nd)) outside the (Nd)^{1/p} factor,
  (Nd)^{1/p}[ω^tok_f(δ√d) + ω^cont_f(δ√(Nd))] + ω_f(δ√(Nd)) + O-terms;
the *other* puts it inside, (Nd)^{1/p}[ω^tok_f(δ√d) + ω^cont_f(δ√(Nd)) + ω_f(δ√(Nd))] + O-terms.
Their difference is ((Nd)^{1/p} − 1)·ω_f(δ√(Nd)) ≥ 0, as N, d ≥ 1 and p ≥ 1 give (Nd)^{1/p} ≥ 1
(equality iff N = d = 1): a "held" against the stricter reading holds against both; a "violated"
against it may hold against the other, and is reported so."""

THEOREM_3_6 = Bound(
    name="Theorem 3.6",
    expression=_theorem_expression(False, DELTA_OF_R),
    symbols=(r, d, N, p, w, w_tok, w_cont, C_coll, C_band, M),
    provenance=Provenance(
        source=SOURCE,
        statement="Theorem 3.6 (approximation rate of looped transformers), stricter reading",
        arxiv=ARXIV,
        status="reconstructed",
    ),
    derivation=_THEOREM_DERIVATION + "\n" + _READINGS_NOTE,
)
"""‖L₂∘TF^{∘r}∘L₁ − f‖_{L^p} ≤ (Nd)^{1/p}[w_tok + w_cont] + w + C_coll N^{2/p}δ^{d/p}
+ C_band((Mδ)^{−1}dN)^{1/p}, δ = δ(r) (reconstructed; the stricter of the two readings, see
:data:`THEOREM_3_6_READINGS`)."""

THEOREM_3_6_OTHER_READING = Bound(
    name="Theorem 3.6 (other reading: ω_f inside the (Nd)^{1/p} factor)",
    expression=_theorem_expression(False, DELTA_OF_R, inside=True),
    symbols=THEOREM_3_6.symbols,
    provenance=Provenance(
        source=SOURCE,
        statement="Theorem 3.6 (approximation rate of looped transformers), other reading",
        arxiv=ARXIV,
        status="reconstructed",
    ),
    derivation=_THEOREM_DERIVATION + "\n" + _READINGS_NOTE,
)
"""(Nd)^{1/p}[w_tok + w_cont + w] + C_coll N^{2/p}δ^{d/p} + C_band((Mδ)^{−1}dN)^{1/p}: never below
:data:`THEOREM_3_6`."""

_EXACT_VALUES_DERIVATION = (
    "Derived here, not a statement of the paper: Theorem 4.2 is an exact-memorisation result (with a "
    "per-loop scaling η(t) of the feed-forward output the value mapping has error 0). Putting that exact "
    "value mapping into the proof of Theorem 3.6 removes its value-mapping term (Nd)^{1/p}(w_tok + w_cont); "
    "the loop budget and δ(r) are kept as in Theorem 3.6 (the reconstruction states no other). Under the "
    "other reading of Theorem 3.6 the quantisation term keeps its factor: (Nd)^{1/p}·w.\n"
)

THEOREM_3_6_EXACT_VALUES = Bound(
    name="Theorem 3.6 with Theorem 4.2's exact value mapping (derived here)",
    expression=_theorem_expression(True, DELTA_OF_R),
    symbols=(r, d, N, p, w, C_coll, C_band, M),
    provenance=Provenance(
        source=SOURCE,
        statement="Theorem 3.6 with the exact value mapping of Theorem 4.2 (timestep scaling), stricter reading",
        arxiv=ARXIV,
        status="derived here",
    ),
    derivation=_EXACT_VALUES_DERIVATION + _THEOREM_DERIVATION + "\n" + _READINGS_NOTE,
)
"""Theorem 3.6 without the ω^tok, ω^cont terms: w + C_coll N^{2/p}δ^{d/p} + C_band((Mδ)^{−1}dN)^{1/p}
(derived here from Theorem 3.6 and Theorem 4.2's exact memorisation)."""

THEOREM_4_2 = THEOREM_3_6_EXACT_VALUES
"""Compatibility alias of :data:`THEOREM_3_6_EXACT_VALUES` (Theorem 4.2 itself is a memorisation
result; this is Theorem 3.6 with its exact value mapping)."""

THEOREM_3_6_EXACT_VALUES_OTHER_READING = Bound(
    name="Theorem 3.6 with Theorem 4.2's exact value mapping (derived here), other reading",
    expression=_theorem_expression(True, DELTA_OF_R, inside=True),
    symbols=THEOREM_3_6_EXACT_VALUES.symbols,
    provenance=Provenance(
        source=SOURCE,
        statement="Theorem 3.6 with the exact value mapping of Theorem 4.2 (timestep scaling), other reading",
        arxiv=ARXIV,
        status="derived here",
    ),
    derivation=_EXACT_VALUES_DERIVATION + _THEOREM_DERIVATION + "\n" + _READINGS_NOTE,
)
"""(Nd)^{1/p}·w + C_coll N^{2/p}δ^{d/p} + C_band((Mδ)^{−1}dN)^{1/p}."""


@dataclass(frozen=True)
class TheoremReadings:
    """The two readings of one rate: ``stricter`` (ω_f(δ√(Nd)) outside the (Nd)^{1/p} factor, the
    one verdicts use) and ``other`` (inside it). other − stricter = ((Nd)^{1/p} − 1)·w ≥ 0."""

    stricter: Bound
    other: Bound


THEOREM_3_6_READINGS = TheoremReadings(THEOREM_3_6, THEOREM_3_6_OTHER_READING)
"""Both readings of Theorem 3.6 (reconstructed)."""
THEOREM_3_6_EXACT_VALUES_READINGS = TheoremReadings(THEOREM_3_6_EXACT_VALUES, THEOREM_3_6_EXACT_VALUES_OTHER_READING)
"""Both readings of Theorem 3.6 with Theorem 4.2's exact value mapping (derived here)."""


def theorem_readings(timestep: bool) -> TheoremReadings:
    """Both readings of the rate: with Theorem 4.2's exact value mapping (``timestep``) or without."""
    return THEOREM_3_6_EXACT_VALUES_READINGS if timestep else THEOREM_3_6_READINGS


def theorem_bound(timestep: bool) -> Bound:
    """The stricter reading of the rate: Theorem 3.6 with Theorem 4.2's exact value mapping
    (derived here) with timestep scaling, Theorem 3.6 without."""
    return theorem_readings(timestep).stricter


def theorem_delta(loops: float, d: int, N: int) -> float:
    """δ(r) = ((r − N)/2)^{−1/((N+1)d+1)} in float64; r must exceed N."""
    if not loops > N:
        raise InputError(f"Theorem 3.6 needs r > N loops, got r={loops}, N={N}")
    return float(((loops - N) / 2.0) ** (-1.0 / ((N + 1) * d + 1)))


def modulus_arguments(grid: float, d: int, N: int) -> dict[str, float]:
    """Where each modulus enters the bounds at grid scale δ: w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d),
    w_cont = ω^cont_f(δ√(Nd))."""
    return {"w": grid * math.sqrt(N * d), "w_tok": grid * math.sqrt(d), "w_cont": grid * math.sqrt(N * d)}


# --------------------------------------------------------------------------- Lemma 4.1
LEMMA_4_1 = Bound(
    name="Lemma 4.1",
    expression=jump,
    symbols=(jump,),
    provenance=Provenance(
        source=SOURCE,
        statement="Lemma 4.1 (value mapping by a weight-tied residual feed-forward block)",
        arxiv=ARXIV,
        status="reconstructed",
    ),
    derivation="For ids k = 1..K with targets y_k, L₂∘(id + FF)^{∘(K−1)}∘L₁ can guarantee, per output "
    "coordinate i, |output(k) − y_k|_i ≤ jump_i = max_k |(y_k − y_{k−1})_i| "
    "(reconstructed). Over the N·d_out entries of an output the p-norm error is ≤ (N d_out)^{1/p}·max_i jump_i.",
)
"""Per-coordinate value-mapping error of a weight-tied block: ≤ max_k |(y_k − y_{k−1})_i|."""


def lemma_4_1_jump(values: np.ndarray | torch.Tensor) -> np.ndarray:
    """jump_i = max_k |(y_k − y_{k−1})_i| for a table of targets ``values`` [K, ...] (0 when K = 1)."""
    table = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64)
    if table.ndim == 0 or table.shape[0] == 0:
        raise InputError("Lemma 4.1 needs a non-empty table of values [K, ...]")
    if table.shape[0] == 1:
        return np.zeros(table.shape[1:])
    return np.abs(np.diff(table, axis=0)).max(axis=0)


# --------------------------------------------------------------------------- loop budgets
def _budget(name: str, expression: sympy.Expr, statement: str) -> Bound:
    return Bound(
        name=name,
        expression=expression,
        symbols=(delta, d, N),
        provenance=Provenance(source=SOURCE, statement=statement, arxiv=ARXIV, status="reconstructed"),
        derivation="Loop budget of the proof of Theorem 3.6 (reconstructed).",
    )


QUANTISATION_LOOPS = _budget("quantisation loops", delta**-1 - 1, "Theorem 3.6, quantisation phase")
"""δ^{−1} − 1 loops: one threshold of the grid {δ, 2δ, …, 1 − δ} per loop."""
CONTEXTUAL_LOOPS = _budget("contextual loops", N + 0 * delta, "Theorem 3.6, contextual mapping phase")
"""N loops: one token id taken per loop of hardmax attention."""
VALUE_LOOPS = _budget("value loops", 2 * delta ** (-(N + 1) * d) - 1, "Theorem 3.6 / Lemma 4.1, value mapping phase")
"""2δ^{−(N+1)d} − 1 loops: the weight-tied value mapping over the contextual ids."""
THEORY_LOOPS = _budget(
    "loops of Theorem 3.6",
    QUANTISATION_LOOPS.expression + CONTEXTUAL_LOOPS.expression + VALUE_LOOPS.expression,
    "Theorem 3.6, total loop budget",
)
"""(δ^{−1} − 1) + N + (2δ^{−(N+1)d} − 1); at δ = δ(r) it is ≤ r: with x = δ^{−1} ≥ 1 and
a = 2x^{(N+1)d} ≥ 2, r − N = a·x and x − 2 + a ≤ a·x ⟺ x − 2 ≤ a(x − 1), true as a ≥ 1."""


def theory_loops(grid: float, d: int, N: int) -> float:
    """The theory's total loop budget at grid scale δ (float64)."""
    return float(THEORY_LOOPS.evaluate(delta=grid, d=d, N=N))


# --------------------------------------------------------------------------- derived here
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
    derivation="See loopbound.theory.bounds.approximation.construction_bound: on the good set the error is at most "
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
       construction's fixed point (**correction to the brief:** "exact" means equal to the *stored*
       value, which differs from f(q(X)) by up to ρ = 2^{−F−1}; the brief's step omitted ρ). Let
       ε := max_j ε_j + ρ. Each entry of X − q(X) lies in [0, δ), so ‖X − q(X)‖_2 < δ√(Nd), and
       q(X) ∈ Q; hence ‖f(q(X)) − f(X)‖_p ≤ ω_f(δ√(Nd)) = w. A vector with N·d_out entries each ≤ ε
       in absolute value has p-norm ≤ (N d_out)^{1/p} ε. By the triangle inequality
       e(X) ≤ E_G := w + (N d_out)^{1/p} ε.
    2. *The failure set F = Q \\ G* = Band ∪ (Coll \\ Band), with |Band| ≤ μ_B = band_measure and
       |Coll| ≤ μ_C = collision_measure (both the construction's; the union needs no overlap
       correction, the two parts are disjoint). **Correction to the brief:** ``output_bound`` B and
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
       Minkowski's inequality on e·1_G + e·1_Band + e·1_{Coll∖Band}, the brief's form, which also
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


# --------------------------------------------------------------------------- sup |f|
def target_sup(target: Target, *, samples: int = 4096, seed: int = 0) -> tuple[float, str]:
    """S = sup_{X ∈ [0,1]^{N×d}} max_{n,i} |f(X)_{n,i}| and how it is known: ``"exact"``,
    ``"upper"`` (an analytic upper bound) or ``"estimate"`` (largest value on Sobol samples and the
    cube's corners: a lower estimate, not a bound).

    Derivations for the built-ins (every input entry lies in [0, 1]):
    - holder: |scale|·x^α ≤ |scale|, attained at x = 1 (exact);
    - contextual_max: |scale|·max_m x_mi ≤ |scale|, attained at 1 (exact);
    - prefix_mean: a mean of entries in [0, 1] (exact: 1);
    - linear (f = A X, per coordinate): max over the cube of |Σ_m A_nm x_m| is
      max(Σ_m A_nm⁺, Σ_m A_nm⁻) (a linear form on a box peaks at a vertex; exact);
    - attention: each output row is a convex combination of the rows x_k W_V, so entry i is at most
      max_{x ∈ [0,1]^d} |x W_V[:, i]| = max(Σ_j W_V[j,i]⁺, Σ_j W_V[j,i]⁻), attained with all tokens
      equal to the maximising vertex (exact);
    - smooth: the pre-activation of token n, coordinate i, is x_n·u + Σ_{m≠n} x_m·v + b_i with
      u = W_1[:, i] + W_2[:, i]/N, v = W_2[:, i]/N; its range over the cube is an interval whose ends
      are sums of positive (negative) parts, so sup|tanh| = tanh(max |end|) (exact, at a vertex).
    """
    if isinstance(target, TokenwiseHolder):
        return abs(target.scale), "exact"
    if isinstance(target, ContextualMax):
        return abs(target.scale), "exact"
    if isinstance(target, PrefixMean):
        return 1.0, "exact"
    if isinstance(target, LinearMixing):
        A = target.matrix
        return float(torch.maximum(A.clamp_min(0).sum(1), (-A).clamp_min(0).sum(1)).max()), "exact"
    if isinstance(target, SoftmaxAttentionTarget):
        W_V = target.weights[2]
        return float(torch.maximum(W_V.clamp_min(0).sum(0), (-W_V).clamp_min(0).sum(0)).max()), "exact"
    if isinstance(target, SmoothTokenMean):
        W_1, W_2, b = target.weights
        u = W_1 + W_2 / target.N
        v = W_2 * (target.N - 1) / target.N
        high = b + u.clamp_min(0).sum(0) + v.clamp_min(0).sum(0)
        low = b - (-u).clamp_min(0).sum(0) - (-v).clamp_min(0).sum(0)
        return float(torch.tanh(torch.maximum(high.abs(), low.abs())).max()), "exact"
    return _sampled_sup(target, samples=samples, seed=seed), "estimate"


def _sampled_sup(target: Target, *, samples: int, seed: int) -> float:
    from scipy.stats import qmc

    dim = target.N * target.d
    points = qmc.Sobol(d=dim, scramble=True, seed=seed).random(samples)
    if dim <= 12:
        corners = np.array(np.meshgrid(*[[0.0, 1.0]] * dim, indexing="ij")).reshape(dim, -1).T
        points = np.concatenate([points, corners])
    X = torch.from_numpy(points).reshape(-1, target.N, target.d)
    with torch.no_grad():
        return float(target(X).abs().max())


def evaluate_with(bound: Bound, values: Mapping[str, Any]) -> float:
    """Evaluate ``bound`` taking only the symbols it has from ``values`` (a convenience for callers
    holding a superset of values)."""
    names = {s.name for s in bound.symbols}
    return float(bound.evaluate(**{k: v for k, v in values.items() if k in names}))
