"""Empirical moduli of continuity ω, ω^tok, ω^cont: certified lower bounds with witness pairs.

The mathematical objects are defined in :mod:`loopbound.theory.kinds` (Xu & Sato 2024, arXiv 2410.01405,
§3). Any pair (X, X') in the cube that meets a kind's constraint with ‖X − X'‖_2 ≤ δ certifies
ω(δ) ≥ ‖f(X) − f(X')‖_p (compared at token n for the per-token kinds). This module owns the typed
results and the public entry points:

- :func:`estimate_modulus` searches for such pairs (anchored perturbations inside the allowed
  subspace, then projected gradient ascent with restarts; :mod:`loopbound.theory.modulus_search`) and
  returns, per δ, the best witness re-checked in float64 — a certified lower bound;
- :func:`all_pairs_modulus` (from :mod:`loopbound.theory.modulus_allpairs`) computes the all-pairs estimate
  ω̂(δ) = max{‖y_i − y_j‖_p : ‖x_i − x_j‖_2 ≤ δ} over a fixed sample set, for data-defined targets.

A witness found at a smaller δ also counts for every larger δ, so each returned curve is monotone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from loopbound.theory.deltas import check_deltas
from loopbound.theory.errors import InputError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus_allpairs import AllPairsResult, all_pairs_modulus
from loopbound.theory.modulus_search import SearchBudget, pair_value, search_pairs
from loopbound.theory.norms import certified_radius, check_p, exact_squared_distance, scaled_norm
from loopbound.theory.targets import Target

__all__ = [
    "SearchBudget",
    "Witness",
    "ModulusEstimate",
    "estimate_modulus",
    "estimate_moduli",
    "pair_value",
    "all_pairs_modulus",
    "AllPairsResult",
]


@dataclass(frozen=True)
class Witness:
    """A pair of inputs ``X, Y`` (each ``[N, d]``, float64) and the token compared (per-token kinds)."""

    X: np.ndarray
    Y: np.ndarray
    position: int | None

    @property
    def distance(self) -> float:
        """‖X − Y‖_2 (entrywise), in float64, computed with scaling (no underflow at tiny δ)."""
        return scaled_norm(self.X - self.Y)

    def to_json(self) -> dict[str, Any]:
        return {"X": self.X.tolist(), "Y": self.Y.tolist()}


@dataclass(frozen=True)
class ModulusEstimate:
    """One point of an estimated modulus curve.

    ``lower`` is a certified lower bound: it is attained by ``witness``, a pair that meets the
    kind's constraint exactly with squared distance ≤ δ² in exact arithmetic; the value is the
    target evaluated in float64 at that pair (certified up to that evaluation's rounding).
    ``upper`` is an analytic upper bound (the exact value where known) or None; ``exact`` is the
    exact modulus where known, else None.
    """

    kind: ModulusKind
    delta: float
    p: float
    lower: float
    upper: float | None
    exact: float | None
    witness: Witness
    method: str
    seed: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "delta": self.delta,
            "lower": self.lower,
            "upper": self.upper,
            "exact": self.exact,
            "position": self.witness.position,
            "distance": self.witness.distance,
            "witness": self.witness.to_json(),
        }


SHRINK_MARGINS: tuple[float, ...] = tuple(min(1.0, 2.0 ** (k - 50)) for k in range(51))
"""Relative margins m tried, smallest first, when a pair is pulled into the δ-ball: Y' = X + (Y − X)·s
with s = (δ/‖Y − X‖)(1 − m). The first is 2^-50 (a few ulps: a pair a hair outside the ball loses
only that, so the lower bound moves by ~1e-15, not by a fixed 1e-12); the last is 1 (Y' = X,
distance 0), so a pair inside the ball always exists. Each margin doubles the last, so the pair
kept has distance ≥ δ(1 − 2m*) where m* is the smallest margin that survives float64 rounding of
X + (Y − X)·s (about √(Nd)·ulp(1)/δ)."""


def _inside_ball(X: np.ndarray, Y: np.ndarray, mask: np.ndarray, delta: float) -> np.ndarray:
    """Y moved toward X along Y − X until ‖X − Y‖_2² ≤ δ² in exact rational arithmetic.

    Each try scales the original displacement (never the last try's point) by a factor computed
    from the exact distance, with the margins of :data:`SHRINK_MARGINS`: rounding X + (Y − X)·s back
    to float64 can undo a tiny shrink (entries near 1/2 have ulp 1.1e-16, so at δ = 1e-9 a relative
    shrink below about 1e-7 may round back to Y), a larger margin cannot. Entries outside ``mask``
    stay equal to X's, bit for bit."""
    bound = certified_radius(delta) ** 2
    squared = exact_squared_distance(X, Y)
    if squared <= bound:
        return Y
    distance = math.sqrt(float(squared)) if float(squared) > 0 else scaled_norm(Y - X)
    if not (math.isfinite(distance) and distance > 0):
        return X.copy()
    for margin in SHRINK_MARGINS:
        shrink = max(0.0, min(delta / distance, 1.0) * (1.0 - margin))
        candidate = np.where(mask, np.clip(X + (Y - X) * shrink, 0.0, 1.0), X)
        if exact_squared_distance(X, candidate) <= bound:
            return candidate
    return X.copy()  # unreachable: the last margin is 1, i.e. the candidate is X itself


def certify(
    target: Target, X: np.ndarray, Y: np.ndarray, kind: ModulusKind, position: int | None, delta: float, p: float
) -> tuple[float, Witness]:
    """Re-check a candidate pair: enforce the constraint exactly, return (value, witness).

    The pair is pulled into the cube, the entries outside the allowed subspace of ``kind`` are set
    equal (bit for bit), and the difference is shrunk until its squared norm, computed in exact
    rational arithmetic on the float64 entries, is ≤ δ². The value returned is recomputed from the
    resulting pair by evaluating the target in float64: the bound is certified up to that
    evaluation's rounding (for the built-ins a few units in the last place). Output norms are
    computed with scaling (:mod:`loopbound.theory.norms`), so no output scale turns a positive difference
    into 0 or a finite one into inf; a pair whose value is still not finite (the target returned
    inf or NaN, or differences beyond float64's range) certifies nothing and is refused.
    """
    X = np.clip(np.asarray(X, dtype=np.float64), 0.0, 1.0)
    Y = np.clip(np.asarray(Y, dtype=np.float64), 0.0, 1.0)
    N, d = X.shape
    mask = kind.perturbation_mask(N, d, position).numpy()
    Y = np.where(mask, Y, X)
    Y = _inside_ball(X, Y, mask, delta)
    position_tensor = torch.tensor([position]) if kind.per_token else None
    value = pair_value(target, torch.from_numpy(X)[None], torch.from_numpy(Y)[None], kind, position_tensor, p)
    lower = float(value[0])
    if not (math.isfinite(lower) and lower >= 0.0):
        raise InputError(
            f"the {kind.value} modulus at delta={delta:g}: the target's output difference at a witness pair is "
            f"{lower!r}, not a finite number, so it certifies no lower bound (does the target overflow float64?)"
        )
    return lower, Witness(X=X, Y=Y, position=position if kind.per_token else None)


def estimate_modulus(
    target: Target,
    kind: ModulusKind | str,
    deltas: Sequence[float],
    *,
    p: float = 2.0,
    budget: SearchBudget = SearchBudget(),
    seed: int = 0,
    progress: bool = False,
) -> tuple[ModulusEstimate, ...]:
    """Certified lower bounds on the modulus of ``kind`` at each δ, with witness pairs.

    The search (anchored perturbations, then projected gradient ascent with restarts, batched
    across δ, restarts and token positions) is in :mod:`loopbound.theory.modulus_search`. Each returned
    ``lower`` is attained by its witness, re-checked in float64, and the curve is monotone in δ
    (a witness for a smaller δ counts for every larger one). ``upper``/``exact`` come from the
    target's analytic moduli where it has them. The same seed gives the same numbers on a device.
    """
    kind = ModulusKind(kind)
    p = check_p(p)
    grid = check_deltas(deltas)
    started = time.perf_counter()
    found = search_pairs(target, kind, grid, p=p, budget=budget, seed=seed, progress=progress)

    certified: list[tuple[float, Witness]] = []
    for delta, (X, Y, position, _method) in zip(grid, found):
        certified.append(certify(target, X, Y, kind, position, delta, p))
    for k in range(1, len(certified)):  # monotone envelope: a smaller δ's witness is valid here too
        if certified[k - 1][0] > certified[k][0]:
            certified[k] = certified[k - 1]
    seconds = time.perf_counter() - started

    estimates = []
    for delta, (value, witness), (_, _, _, method) in zip(grid, certified, found):
        estimates.append(
            ModulusEstimate(
                kind=kind,
                delta=delta,
                p=p,
                lower=value,
                upper=target.upper_modulus(kind, delta, p),
                exact=target.exact_modulus(kind, delta, p),
                witness=witness,
                method=method,
                seed=seed,
                seconds=seconds,
            )
        )
    return tuple(estimates)


def estimate_moduli(
    target: Target,
    deltas: Sequence[float],
    kinds: Sequence[ModulusKind | str] = tuple(ModulusKind),
    *,
    p: float = 2.0,
    budget: SearchBudget = SearchBudget(),
    seed: int = 0,
    progress: bool = False,
) -> dict[ModulusKind, tuple[ModulusEstimate, ...]]:
    """Several kinds at once, sharing witnesses: ω^tok ≤ ω and ω^cont ≤ ω hold for the bounds too.

    A token or contextual witness (X, X') at δ meets the sequence constraint ‖X − X'‖_2 ≤ δ, and
    its full output difference is at least its difference at token n, so it is also a sequence
    witness at least as good. The sequence curve takes the best of its own search and these, so
    every output has sequence lower ≥ token lower and ≥ contextual lower at each δ.
    """
    wanted = [ModulusKind(kind) for kind in kinds]
    per_token = [kind for kind in wanted if kind.per_token]
    results = {
        kind: estimate_modulus(target, kind, deltas, p=p, budget=budget, seed=seed, progress=progress)
        for kind in per_token
    }
    if ModulusKind.SEQUENCE in wanted:
        own = estimate_modulus(target, ModulusKind.SEQUENCE, deltas, p=p, budget=budget, seed=seed, progress=progress)
        improved: list[ModulusEstimate] = []
        for k, estimate in enumerate(own):
            best = estimate
            for kind in per_token:
                witness = results[kind][k].witness
                value, shared = certify(target, witness.X, witness.Y, ModulusKind.SEQUENCE, None, estimate.delta, p)
                # the full difference is at least its token-n part in exact arithmetic; taking the max
                # keeps ω^tok, ω^cont ≤ ω in the output when both are rounded evaluations
                value = max(value, results[kind][k].lower)
                if value > best.lower:
                    best = replace(
                        estimate, lower=value, witness=shared, method=f"{kind.value} witness, as a sequence pair"
                    )
            if improved and improved[-1].lower > best.lower:  # keep the curve monotone
                best = replace(best, lower=improved[-1].lower, witness=improved[-1].witness, method=improved[-1].method)
            improved.append(best)
        results[ModulusKind.SEQUENCE] = tuple(improved)
    return {kind: results[kind] for kind in wanted}
