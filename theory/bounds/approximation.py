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
  :data:`VALUE_LOOPS`, :data:`THEORY_LOOPS`).

The instance of Theorem 3.6 for loopbound's own universal construction is
:mod:`loopbound.theory.bounds.construction`; sup|f| over the cube, which its failure-set term needs,
is :func:`loopbound.theory.target_sup.target_sup`.

Symbols: r (loops), d, N, p, the moduli values w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d),
w_cont = ω^cont_f(δ√(Nd)) (the caller evaluates the moduli at the arguments that
:func:`modulus_arguments` gives), and explicit constants C_coll, C_band for the two O-terms, M the
sharpness of the ReLU steps. Functions of r enter through :data:`DELTA_OF_R`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy
import torch

from loopbound.theory.bounds.core import Bound, Provenance
from loopbound.theory.errors import InputError

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
    "theorem_bound",
    "theorem_delta",
    "theory_loops",
    "modulus_arguments",
    "lemma_4_1_jump",
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


def _theorem(name: str, statement: str, *, timestep: bool, inside: bool, status: str, derivation: str) -> Bound:
    """Theorem 3.6 (with Theorem 4.2's exact value mapping when ``timestep``) in one reading
    (``inside``: ω_f inside the (Nd)^{1/p} factor), at δ = δ(r)."""
    moduli = (w,) if timestep else (w, w_tok, w_cont)
    return Bound(
        name=name,
        expression=_theorem_expression(timestep, DELTA_OF_R, inside=inside),
        symbols=(r, d, N, p, *moduli, C_coll, C_band, M),
        provenance=Provenance(source=SOURCE, statement=statement, arxiv=ARXIV, status=status),
        derivation=derivation,
    )


THEOREM_3_6 = _theorem(
    "Theorem 3.6",
    "Theorem 3.6 (approximation rate of looped transformers), stricter reading",
    timestep=False,
    inside=False,
    status="reconstructed",
    derivation=_THEOREM_DERIVATION + "\n" + _READINGS_NOTE,
)
"""‖L₂∘TF^{∘r}∘L₁ − f‖_{L^p} ≤ (Nd)^{1/p}[w_tok + w_cont] + w + C_coll N^{2/p}δ^{d/p}
+ C_band((Mδ)^{−1}dN)^{1/p}, δ = δ(r) (reconstructed; the stricter of the two readings, see
:data:`THEOREM_3_6_READINGS`)."""

THEOREM_3_6_OTHER_READING = _theorem(
    "Theorem 3.6 (other reading: ω_f inside the (Nd)^{1/p} factor)",
    "Theorem 3.6 (approximation rate of looped transformers), other reading",
    timestep=False,
    inside=True,
    status="reconstructed",
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

THEOREM_3_6_EXACT_VALUES = _theorem(
    "Theorem 3.6 with Theorem 4.2's exact value mapping (derived here)",
    "Theorem 3.6 with the exact value mapping of Theorem 4.2 (timestep scaling), stricter reading",
    timestep=True,
    inside=False,
    status="derived here",
    derivation=_EXACT_VALUES_DERIVATION + _THEOREM_DERIVATION + "\n" + _READINGS_NOTE,
)
"""Theorem 3.6 without the ω^tok, ω^cont terms: w + C_coll N^{2/p}δ^{d/p} + C_band((Mδ)^{−1}dN)^{1/p}
(derived here from Theorem 3.6 and Theorem 4.2's exact memorisation)."""

THEOREM_4_2 = THEOREM_3_6_EXACT_VALUES
"""Compatibility alias of :data:`THEOREM_3_6_EXACT_VALUES` (Theorem 4.2 itself is a memorisation
result; this is Theorem 3.6 with its exact value mapping)."""

THEOREM_3_6_EXACT_VALUES_OTHER_READING = _theorem(
    "Theorem 3.6 with Theorem 4.2's exact value mapping (derived here), other reading",
    "Theorem 3.6 with the exact value mapping of Theorem 4.2 (timestep scaling), other reading",
    timestep=True,
    inside=True,
    status="derived here",
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
    """δ(r) = ((r − N)/2)^{−1/((N+1)d+1)} as the largest float64 ≤ it (for an integer r: checked
    exactly, δ^k ≤ 2/(r − N) with k = (N+1)d + 1, so moduli read there never exceed their value at
    δ(r)); r must exceed N."""
    if not loops > N:
        raise InputError(f"Theorem 3.6 needs r > N loops, got r={loops}, N={N}")
    power = (N + 1) * d + 1
    value = float(((loops - N) / 2.0) ** (-1.0 / power))
    if float(loops).is_integer() and power <= 4096:
        limit = Fraction(2, int(loops) - N)
        value = _largest_below(value, lambda x: Fraction(x) ** power <= limit)
    return value


def _largest_below(guess: float, fits: Callable[[float], bool]) -> float:
    """The largest float64 x ≥ 0 with ``fits(x)`` (a predicate true on [0, t] for some t), started
    from ``guess`` within a few ulps of t: stepped down until it fits, then up while the next fits."""
    x = max(guess, 0.0)
    while x > 0.0 and not fits(x):
        x = math.nextafter(x, 0.0)
    while fits(math.nextafter(x, math.inf)):
        x = math.nextafter(x, math.inf)
    return x


def modulus_arguments(grid: float | Fraction, d: int, N: int) -> dict[str, float]:
    """Where each modulus enters the bounds at grid scale δ: w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d),
    w_cont = ω^cont_f(δ√(Nd)); δ a float64 or an exact Fraction (1/m). Each argument is the largest
    float64 ≤ the true one (checked exactly: a² ≤ δ²·K), so a witness pair certified within the
    float argument is within the true one, and a nondecreasing modulus read there is ≤ its value."""
    scale = Fraction(grid)

    def below(moving: int) -> float:
        square = scale * scale * moving
        return _largest_below(float(grid) * math.sqrt(moving), lambda x: Fraction(x) ** 2 <= square)

    sequence = below(N * d)
    return {"w": sequence, "w_tok": below(d), "w_cont": sequence}


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
