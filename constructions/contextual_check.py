"""The contextual-mapping property, checked on grid inputs; the record each construction claims.

Definition (Yun et al. 2020, arXiv 1912.10077, Def. 3.1; docs/theory.md §5). On the grid
G_δ = {0, δ, …, 1 − δ}^{N×d} (1/δ an integer), a map q sending each input L with N distinct tokens
to q(L) ∈ R^N is a *contextual mapping* when

  (i)  the N entries of q(L) are pairwise distinct, and
  (ii) no entry of q(L) equals an entry of q(L') when L' is not a column permutation of L.

Testable extras checked here: (iii) permutation equivariance, q(L ∘ π) = q(L) ∘ π; (iv) the
measured separation (smallest gap between distinct values over all inputs) is not below the one a
construction claims; and, where a construction claims a band [t_l, t_r], every value of a valid
input lies inside it and every value of an input with a duplicated token lies outside it.

:func:`check_contextual_mapping` works for *any* map ``ids_fn`` (the constructions here, or a
looped one): it enumerates the canonical inputs (token cells in increasing order) when there are
at most ``max_inputs`` of them, and samples them (seeded) otherwise. Every pair of canonical inputs
is a pair of non-permutations, so (i) and (ii) together say that all their values are pairwise
distinct: one sort finds every collision and the separation. Equivariance is checked on permuted
copies (all permutations when the budget allows, random ones otherwise).

Cells and points (:mod:`loopbound.constructions.contextual_grid`): cell c ∈ {0, …, (1/δ)^d − 1} is
the token x with x_i = k_i δ, where k_i is the i-th base-(1/δ) digit of c (least significant
first); its Yun id uᵀx, u = (1, δ^{−1}, …, δ^{−(d−1)}), is δ·c.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from loopbound.constructions.contextual_grid import (
    canonical_inputs,
    cells_to_fractions,
    cells_to_tensor,
    check_shape,
    duplicate_inputs,
)
from loopbound.constructions.contextual_steps import (
    SortedValues,
    collisions,
    duplicates_outside,
    equivariance_failure,
    inside_band,
    permutations,
    separation,
    separation_holds,
    sort_values,
)
from loopbound.theory.errors import InputError
from loopbound.theory.numerics import significand_bits

IdsFn = Callable[[Any], Any]


# ---------------------------------------------------------------------------------------------
# what a construction claims
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextualGuarantee:
    """The guarantee a contextual-mapping construction states about itself.

    ``claimed_separation``: every two distinct values the map takes on valid grid inputs differ
    by at least this (None: no claim, e.g. a softmax temperature no theorem here covers).
    ``band``: (t_l, t_r) with every value of a valid input inside and every value of an input with
    a duplicated token outside (None: no band claimed). ``layers``: distinct attention layers
    (blocks), ``loops``: how many times the stack is applied (a looped map: one layer, N loops);
    ``width``: residual width; ``heads``/``head_dim``: per layer; ``ff_width``: feed-forward
    hidden width (0: attention-only layers). ``precision_bits``: significand bits a float
    evaluation needs for the guarantee to hold (None: unknown because nothing is claimed).
    ``parameter_count``: the float module's parameters (every layer's block, L₁ and L₂).
    ``roundoff_factor``: each value computed in a dtype with t ≥ ``precision_bits`` significand bits
    is within ``roundoff_factor``·2^{−t} of the exact one (0: the float evaluation is exact).
    """

    construction: str
    source: str
    delta: Fraction
    d: int
    N: int
    claimed_separation: Any
    band: tuple[Any, Any] | None
    layers: int
    width: int
    heads: int
    head_dim: int
    ff_width: int
    precision_bits: int | None
    roundoff_factor: float = 0.0
    inverse_temperature: float | None = None
    loops: int = 1
    parameter_count: int = 0

    @property
    def embedding_width(self) -> int:
        """The residual width (``width``), under the name every guarantee uses."""
        return self.width

    @property
    def head_size(self) -> int:
        """The size of each head (``head_dim``), under the name every guarantee uses."""
        return self.head_dim

    def __post_init__(self) -> None:
        if not isinstance(self.delta, Fraction) or not 0 < self.delta < 1:
            raise ValueError(f"delta must be a Fraction in (0, 1), got {self.delta!r}")
        for name in ("d", "N", "layers", "width", "heads", "head_dim", "loops"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.ff_width < 0:
            raise ValueError(f"ff_width must be >= 0, got {self.ff_width!r}")
        if self.claimed_separation is not None and not self.claimed_separation > 0:
            raise ValueError(f"claimed_separation must be positive or None, got {self.claimed_separation!r}")
        if self.band is not None and not self.band[0] <= self.band[1]:
            raise ValueError(f"band must satisfy t_l <= t_r, got {self.band!r}")
        if self.precision_bits is not None and self.precision_bits < 1:
            raise ValueError(f"precision_bits must be >= 1 or None, got {self.precision_bits!r}")
        if self.roundoff_factor < 0:
            raise ValueError(f"roundoff_factor must be >= 0, got {self.roundoff_factor!r}")

    def tolerance(self, dtype: torch.dtype) -> float:
        """The largest difference two float evaluations of one exact value can show in ``dtype``
        (twice the per-value rounding bound); 0 where the float evaluation is exact."""
        return 2.0 * self.roundoff_factor * 2.0 ** (-significand_bits(dtype))


# ---------------------------------------------------------------------------------------------
# the report and the checker
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextualMappingReport:
    """What :func:`check_contextual_mapping` found.

    ``exhaustive``: every canonical input was checked (otherwise a seeded sample of
    ``inputs_checked`` out of ``inputs_total``: then (ii) and the separation are checked within the
    sample only, and ``measured_separation`` is an upper bound on the true one). A check that was
    not run is None (equivariance: when no permuted copy was compared). ``failures``: one line per
    kind of failure found, with a witness.
    """

    delta: Fraction
    d: int
    N: int
    exact: bool
    exhaustive: bool
    inputs_checked: int
    inputs_total: int
    permuted_inputs_checked: int
    entries_distinct: bool
    disjoint_across_inputs: bool
    permutation_equivariant: bool | None
    measured_separation: Any
    claimed_separation: Any
    separation_holds: bool | None
    band: tuple[Any, Any] | None
    inside_band: bool | None
    duplicate_inputs_checked: int
    duplicates_outside_band: bool | None
    tolerance: float
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Every check that was run holds."""
        checks = (
            self.entries_distinct,
            self.disjoint_across_inputs,
            self.permutation_equivariant,
            self.separation_holds,
            self.inside_band,
            self.duplicates_outside_band,
        )
        return all(check is not False for check in checks)


def _as_float_rows(values: Any, rows: int, N: int) -> np.ndarray:
    array = (
        values.detach().to("cpu", torch.float64).numpy()
        if isinstance(values, torch.Tensor)
        else np.asarray(values, dtype=np.float64)
    )
    if array.shape != (rows, N):
        raise InputError(f"ids_fn must return values of shape [B, N] = [{rows}, {N}], got {list(array.shape)}")
    if not np.all(np.isfinite(array)):
        raise InputError("ids_fn returned non-finite values on grid inputs")
    return array


def _evaluate(
    ids_fn: IdsFn, rows: np.ndarray, steps: int, d: int, *, exact: bool, batch_size: int
) -> list[list[Any]] | np.ndarray:
    N = rows.shape[1]
    if exact:
        out: list[list[Any]] = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            values = [list(v) for v in ids_fn(cells_to_fractions(chunk.tolist(), steps, d))]
            if len(values) != len(chunk) or any(len(v) != N for v in values):
                raise InputError(f"ids_fn must return {len(chunk)} rows of {N} values in exact mode")
            out.extend(values)
        return out
    parts = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        with torch.no_grad():
            parts.append(_as_float_rows(ids_fn(cells_to_tensor(chunk, steps, d)), len(chunk), N))
    return np.concatenate(parts) if parts else np.zeros((0, N))


def _check_arguments(
    delta: float | Fraction,
    d: int,
    N: int,
    *,
    max_inputs: int,
    batch_size: int,
    tolerance: float,
    band: tuple[Any, Any] | None,
) -> tuple[int, int]:
    """Validate the checker's arguments; return (1/δ, number of cells)."""
    steps, cells = check_shape(delta, d, N)
    for name, value in (("max_inputs", max_inputs), ("batch_size", batch_size)):
        if value < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    if tolerance < 0:
        raise InputError(f"tolerance must be >= 0, got {tolerance}")
    if band is not None and not band[0] <= band[1]:
        raise InputError(f"band must satisfy t_l <= t_r, got {band}")
    return steps, cells


def _equivariance(
    evaluate: Callable[[np.ndarray], Any],
    rows: np.ndarray,
    values: Any,
    N: int,
    *,
    tolerance: float,
    exact: bool,
    max_permuted: int,
    seed: int,
) -> tuple[bool | None, int, list[str]]:
    """(iii) on permuted copies of the canonical inputs. Returns (equivariant, or None when no copy
    was compared; how many copies were; the first witness of a failure)."""
    index, perms = permutations(len(rows), N, max_permuted, seed)
    if not len(index):
        return (True if N == 1 else None), 0, []
    permuted_values = evaluate(np.take_along_axis(rows[index], perms, axis=1))
    failure = equivariance_failure(values, permuted_values, index, perms, rows, tolerance=tolerance, exact=exact)
    return failure is None, len(index), [] if failure is None else [failure]


def _band_checks(
    ordered: SortedValues,
    rows: np.ndarray,
    evaluate: Callable[[np.ndarray], Any],
    band: tuple[Any, Any] | None,
    duplicated: np.ndarray | None,
    *,
    exact: bool,
) -> tuple[bool | None, bool | None, int, list[str]]:
    """(every valid input's values inside the band, every value of the inputs ``duplicated`` (rows
    with a duplicated token) outside it, how many of those were checked, the failures); None, None,
    0 and no failures where there is no band (or no ``duplicated`` rows to check)."""
    if band is None:
        return None, None, 0, []
    inside, failures = inside_band(ordered, rows, band, exact=exact)
    if duplicated is None:
        return inside, None, 0, failures
    outside, found = duplicates_outside(duplicated, evaluate, band, exact=exact)
    return inside, outside, len(duplicated), failures + found


def check_contextual_mapping(
    ids_fn: IdsFn,
    *,
    delta: float | Fraction,
    d: int,
    N: int,
    exact: bool = False,
    claimed_separation: Any = None,
    band: tuple[Any, Any] | None = None,
    tolerance: float = 0.0,
    max_inputs: int = 50_000,
    max_permuted: int = 100_000,
    check_duplicates: bool = True,
    batch_size: int = 4096,
    seed: int = 0,
) -> ContextualMappingReport:
    """Check that ``ids_fn`` is a contextual mapping on G_δ with N tokens in dimension d.

    ``ids_fn`` maps a batch of grid inputs to one value per token:

    - ``exact=False``: a float64 tensor [B, N, d] → [B, N] (tensor or array; floats);
    - ``exact=True``: a list [B][N][d] of :class:`~fractions.Fraction` → B sequences of N values of
      any exactly comparable type (Fraction, int, or mpmath numbers evaluated deterministically).

    Two values closer than or equal to ``tolerance`` count as equal (0 for an exact evaluation; for
    a rounded one, twice its per-value rounding bound, :meth:`ContextualGuarantee.tolerance`).
    ``claimed_separation`` and ``band`` are what the construction claims (None: not checked).
    Canonical inputs (distinct cells, increasing) are enumerated when at most ``max_inputs`` exist,
    else ``max_inputs`` are drawn with ``seed``; at most ``max_permuted`` permuted copies are
    compared for equivariance; with a band and ``check_duplicates``, inputs with a duplicated
    token (enumerated or sampled the same way) must have every value outside the band. The steps
    are in :mod:`loopbound.constructions.contextual_steps`.
    """
    steps, cells = _check_arguments(
        delta, d, N, max_inputs=max_inputs, batch_size=batch_size, tolerance=tolerance, band=band
    )

    def evaluate(rows: np.ndarray) -> Any:
        return _evaluate(ids_fn, rows, steps, d, exact=exact, batch_size=batch_size)

    rows, total, exhaustive = canonical_inputs(cells, N, max_inputs=max_inputs, seed=seed)
    values = evaluate(rows)
    ordered = sort_values(values, len(rows), N, exact=exact)  # (i), (ii), the separation: neighbours in one sort
    measured = separation(ordered, tolerance=tolerance, exact=exact)
    same_input, cross_input, failures = collisions(ordered, rows, tolerance=tolerance, exact=exact)
    equivariant, permuted, found = _equivariance(
        evaluate, rows, values, N, tolerance=tolerance, exact=exact, max_permuted=max_permuted, seed=seed
    )
    failures += found
    holds, found = separation_holds(measured, claimed_separation)
    failures += found
    duplicated = None
    if band is not None and check_duplicates:
        duplicated = duplicate_inputs(cells, N, max_inputs=max_inputs, seed=seed)[0]
    inside, outside, duplicates_checked, found = _band_checks(ordered, rows, evaluate, band, duplicated, exact=exact)
    failures += found

    return ContextualMappingReport(
        delta=Fraction(1, steps),
        d=d,
        N=N,
        exact=exact,
        exhaustive=exhaustive,
        inputs_checked=len(rows),
        inputs_total=total,
        permuted_inputs_checked=permuted,
        entries_distinct=not same_input,
        disjoint_across_inputs=not cross_input,
        permutation_equivariant=equivariant,
        measured_separation=measured,
        claimed_separation=claimed_separation,
        separation_holds=holds,
        band=band,
        inside_band=inside,
        duplicate_inputs_checked=duplicates_checked,
        duplicates_outside_band=outside,
        tolerance=tolerance,
        failures=tuple(failures),
    )
