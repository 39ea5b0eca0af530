"""The logic of ``loopbound verify``: a construction's error against loop count, held against a claim.

For a target f on [0,1]^{N×d} and each loop budget r:

1. the construction's grid m = ``grid_for_loops(r, d, N, timestep=…)`` (the largest grid whose
   loop count fits in r), δ = 1/m, and the construction g built at δ (one build per distinct m;
   :mod:`loopbound.construction_family`);
2. its error: ‖g − f‖_{L^p} over the uniform cube by randomised QMC, an estimate with a confidence
   interval, and a certified lower bound on the sup error (:mod:`loopbound.theory.error_measure`);
3. the claim at r (:mod:`loopbound.theory.claims`) — by default Theorem 3.6 for the construction
   itself (:data:`loopbound.theory.bounds.construction.CONSTRUCTION_TEMPLATE`, derived in
   :func:`~loopbound.theory.bounds.construction.construction_bound`) with the constants of the
   guarantee of the construction built for that r (each row's ``values``); or ``"theorem"``, the
   reconstructed Theorem 3.6 / 4.2 at δ(r) with the O-constants fixed by the construction; or a
   user's sympy expression in r, d, N, p, delta and the moduli w, w_tok, w_cont;
4. the verdict (:func:`loopbound.theory.verdict.judge`): held / violated / inconclusive per r, the fitted
   rate against the bound's own slope.

Where the values come from (said in every result):

- ``delta`` is the construction's grid 1/m at r (not δ(r) of the theorem, except for ``"theorem"``);
  ``r`` is the budget asked for (the construction's own loop count, ≤ r, is reported beside it);
- w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d), w_cont = ω^cont_f(δ√(Nd)) are the target's exact moduli
  where known; else each is *bracketed* (:mod:`loopbound.theory.moduli_bracket`): a certified lower
  bound (a witness pair) and the target's analytic upper bound where it has one. The bound then has a
  range [B(lower), B(upper)] (:mod:`loopbound.theory.bounds.bracket`): "held" needs the measured interval
  below B(lower), "violated" above B(upper); in between the verdict is inconclusive. Evaluating at
  the upper bounds alone would pass a false claim. Where no upper bound is known (a user's target)
  the upper end is the estimate too, and a "violated" verdict is against the estimate; the result
  says which was used;
- S = sup|f| (entrywise) is exact for the built-ins (:func:`loopbound.theory.target_sup.target_sup`),
  else an estimate from samples.

This module orchestrates (build per grid, measure, ask the claim, judge); the results and their
JSON are in :mod:`loopbound.verify_result`, the table in :mod:`loopbound.verify_table`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch

from loopbound.construction_family import DEFAULT_CONSTRUCTION, ConstructionFamily, load_family, smallest_budget
from loopbound.grid_models import ARITHMETICS, GridModel, build_grid, refuse_slow
from loopbound.loop_budgets import LOOPS_RANGE_MAX, is_loops_range, parse_loops, snap_loops
from loopbound.theory.bounds.core import Bound
from loopbound.theory.bounds.hypotheses import TheoremHypotheses
from loopbound.theory.bounds.parse import USER_SYMBOLS, parse_bound  # re-exported: a bound is parsed without eval
from loopbound.theory.claims import Claim, ClaimInputs, UserClaim, claim_for
from loopbound.theory.error_measure import ErrorMeasurement, measure_error
from loopbound.theory.errors import InputError, PrecisionError
from loopbound.theory.moduli_bracket import ModulusValue, Scale, modulus_values
from loopbound.theory.norms import check_p
from loopbound.theory.target_sup import target_sup
from loopbound.theory.targets import Target
from loopbound.theory.verdict import Status, Verdict, classify, judge
from loopbound.verify_result import VerifyResult, VerifyRow, guarantee_summary
from loopbound.verify_table import format_columns, format_table, rare_error_warning, rare_errors_summary

__all__ = [
    "ConstructionFamily",
    "DEFAULT_CONSTRUCTION",
    "load_family",
    "parse_loops",
    "snap_loops",
    "is_loops_range",
    "ARITHMETICS",
    "LOOPS_RANGE_MAX",
    "parse_bound",
    "ModulusValue",
    "VerifyRow",
    "VerifyResult",
    "verify",
    "format_table",
    "format_columns",
    "rare_error_warning",
    "USER_SYMBOLS",
]


# --------------------------------------------------------------------------- parsing
# --------------------------------------------------------------------------- the steps
def _grids(
    family: ConstructionFamily, claim: Claim, loops: Sequence[int], *, d: int, N: int, timestep: bool
) -> dict[int, int]:
    """Per loop budget r (in the order given), the largest grid m whose construction fits in r
    loops; an InputError where none does or the claim says nothing at r."""
    grids: dict[int, int] = {}
    for r in loops:
        m = family.grid_for_loops(r, d, N, timestep=timestep)
        if m is None or m < 1:
            smallest = smallest_budget(family, d, N, timestep)
            need = f"; it needs at least {smallest}" if smallest is not None else ""
            raise InputError(f"r={r} loops are too few for the construction at d={d}, N={N}{need}")
        claim.check_budget(r, N)
        grids[r] = int(m)
    return grids


def _row(
    claim: Claim, inputs: ClaimInputs, model: Any, measurement: ErrorMeasurement, used: tuple[ModulusValue, ...]
) -> VerifyRow:
    """One measured row: the claim's range at r, the other reading's status where the claim has
    one, and the rare-error warning where it applies."""
    evaluated = claim.evaluate(inputs)
    span, other = evaluated.span, evaluated.other
    other_reading = None
    if other is not None:
        lp = measurement.lp
        other_high = None if other.exact else other.high
        other_reading = (other.low, other_high, classify(lp.lower, lp.upper, other.low, other_high, other.reason).value)
    warning = rare_error_warning(measurement, span.low)
    guarantee = inputs.guarantee
    return VerifyRow(
        r=inputs.r,
        grid=inputs.grid,
        delta=1.0 / inputs.grid,
        loops=int(getattr(model, "loops", getattr(guarantee, "loops", 0))),
        measurement=measurement,
        bound=span.low,
        values=evaluated.values,
        moduli=used,
        guarantee=guarantee_summary(guarantee),
        bound_upper=None if span.exact else span.high,
        bound_method=span.method,
        warnings=() if warning is None else (warning,),
        other_reading=other_reading,
        bound_reason=span.reason,
    )


def _moduli(
    claim: Claim, target: Target, grids: dict[int, int], *, p: float, seed: int
) -> tuple[dict[int, Scale], dict[Scale, dict[str, ModulusValue]]]:
    """Per r, the scale δ at which the claim reads the moduli; the moduli bracketed at each scale."""
    d, N = target.d, target.N
    scales = {r: claim.scale(r, m, d, N) for r, m in grids.items()}
    names = claim.moduli()
    if not names:
        return scales, {}
    return scales, modulus_values(target, sorted(set(scales.values())), names, d=d, N=N, p=p, seed=seed)


@dataclass(frozen=True)
class _RowContext:
    """What every row of one verification shares: the claim, the moduli per scale, d, N, p and S."""

    claim: Claim
    moduli: dict[Scale, dict[str, ModulusValue]]
    scales: dict[int, Scale]
    d: int
    N: int
    p: float
    sup: float

    def inputs(self, r: int, m: int, guarantee: Any) -> tuple[ClaimInputs, tuple[ModulusValue, ...]]:
        """What the claim reads at r on grid m, and the moduli it reads them from."""
        used = tuple(self.moduli.get(self.scales[r], {}).values())
        brackets = {mv.name: mv.bracket for mv in used}
        inputs = ClaimInputs(
            r=r, grid=m, d=self.d, N=self.N, p=self.p, sup=self.sup, guarantee=guarantee, brackets=brackets
        )
        return inputs, used


def _grid_rows(
    context: _RowContext, rs: Sequence[int], m: int, built: GridModel, measurement: ErrorMeasurement | None
) -> list[VerifyRow]:
    """The rows of the loop budgets ``rs`` that share grid m: refused, or measured with the claim at r."""
    if built.refused is not None or measurement is None:
        reason = built.refused or "not measured"
        return [VerifyRow(r, m, 1.0 / m, None, None, None, {}, refused=reason, arithmetic=built.arithmetic) for r in rs]
    rows = []
    for r in rs:
        inputs, used = context.inputs(r, m, built.model.guarantee)
        row = _row(context.claim, inputs, built.model, measurement, used)
        rows.append(dataclasses.replace(row, arithmetic=built.arithmetic))
    return rows


def _judge(
    rows: list[VerifyRow], *, level: float, seed: int, hypotheses: TheoremHypotheses | None
) -> tuple[Verdict | None, list[VerifyRow]]:
    """The verdict over the measured rows (None when every r was refused), annotated (:func:`_annotate`)."""
    measured = [row for row in rows if row.measurement is not None]
    if not measured:
        return None, rows
    lps = [row.measurement.lp for row in measured]  # type: ignore[union-attr]
    verdict = judge(
        [row.r for row in measured],
        [lp.value for lp in lps],
        [lp.lower for lp in lps],
        [lp.upper for lp in lps],
        [cast(float, row.bound) for row in measured],  # a measured row has a bound
        bounds_upper=[row.bound_upper for row in measured],
        bound_reasons=[row.bound_reason for row in measured],
        level=level,
        seed=seed,
    )
    return _annotate(verdict, rows, level, hypotheses)


def _annotate(
    verdict: Verdict, rows: list[VerifyRow], level: float, hypotheses: TheoremHypotheses | None
) -> tuple[Verdict, list[VerifyRow]]:
    """The verdict with what it is: its confidence level, the rare-error warnings, the reading
    notes (a row violated under the stricter reading of Theorem 3.6 but not under the other), and
    the hypotheses' context; the rows with their reading notes."""
    status = {point.r: point.status for point in verdict.points}
    notes: list[tuple[int, str]] = []
    annotated = []
    for row in rows:
        note = None
        if (
            row.other_reading is not None
            and status.get(row.r) is Status.VIOLATED
            and row.other_reading[2] != "violated"
        ):
            note = f"violated under the stricter reading; {row.other_reading[2]} under the other"
            notes.append((row.r, note))
        annotated.append(dataclasses.replace(row, reading_note=note))
    warned = [row.r for row in rows if row.warnings]
    warnings = (rare_errors_summary(warned),) if warned else ()
    context = "" if hypotheses is None or hypotheses.inside else hypotheses.describe()
    not_shown = tuple(row.r for row in rows if row.refused is not None)
    verdict = dataclasses.replace(
        verdict, level=level, warnings=warnings, reading_notes=tuple(notes), context=context, not_shown=not_shown
    )
    return verdict, annotated


def _measure_grids(
    family: ConstructionFamily,
    target: Target,
    grids: dict[int, int],
    context: _RowContext,
    build: dict[str, Any],
    sampling: dict[str, Any],
    *,
    on_refusal: str,
    row_seconds: float | None,
    on_row: Callable[[VerifyRow], None] | None,
) -> tuple[list[VerifyRow], int]:
    """Grid by grid (in increasing m): build the construction, time an exact one against
    ``row_seconds``, measure it, and hand each of its rows to ``on_row`` as it is done. A grid that
    cannot be built, is too slow or runs out of memory is a refused row; the others go on. Returns
    the rows (in order of r) and the number of points each measurement used."""
    N, d, p = target.N, target.d, context.p
    rows: list[VerifyRow] = []
    measured_samples = int(sampling["samples"])
    for m in sorted(set(grids.values())):
        rs = [r for r in sorted(grids) if grids[r] == m]
        built = build_grid(family, target, m, rs[0], **build)
        if built.refused is not None and on_refusal == "raise":
            raise PrecisionError(built.refused)
        if built.refused is None and row_seconds is not None and built.arithmetic == "exact":
            built = refuse_slow(built, m, rs[0], target, sampling, row_seconds)
        measurement = None
        if built.refused is None:
            try:
                measurement = measure_error(built.model, target, N=N, d=d, p=p, **sampling)
                measured_samples = measurement.lp.samples
            except MemoryError:
                built = dataclasses.replace(built, refused=f"r={rs[0]} (grid {m}): out of memory while evaluating it")
        for row in _grid_rows(context, rs, m, built, measurement):
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows, measured_samples


def _check_settings(loops: Sequence[int], on_refusal: str, arithmetic: str) -> None:
    if not loops:
        raise InputError("give at least one loop count")
    if on_refusal not in ("raise", "record"):
        raise ValueError(f"on_refusal must be raise or record, got {on_refusal!r}")
    if arithmetic not in ARITHMETICS:
        raise InputError(f"arithmetic must be one of {', '.join(ARITHMETICS)}, got {arithmetic!r}")


def _check_user_bound(context: _RowContext, grids: dict[int, int]) -> None:
    """A user's bound reads only r, d, N, p, δ and the moduli, all known before anything is built:
    evaluate it at every r first, so a bound undefined at some r is one line before any row."""
    if not isinstance(context.claim, UserClaim):
        return
    for r, m in grids.items():
        context.claim.evaluate(context.inputs(r, m, guarantee=None)[0])


# --------------------------------------------------------------------------- the verification
def verify(
    target: Target,
    *,
    loops: Sequence[int],
    timestep: bool = False,
    p: float = 2.0,
    bound: str | Bound = "construction",
    samples: int = 1 << 14,
    scramblings: int = 8,
    level: float = 0.95,
    seed: int = 0,
    device: torch.device | str = "cpu",
    family: ConstructionFamily | None = None,
    on_refusal: str = "raise",
    sup_search: bool = True,
    chunk: int | None = None,
    progress: bool | None = None,
    compile: bool = False,
    arithmetic: str = "float64",
    row_seconds: float | None = None,
    on_row: Callable[[VerifyRow], None] | None = None,
) -> VerifyResult:
    """Measure the construction's error at each loop budget and judge it against ``bound``
    (``"construction"``, ``"theorem"`` or a :class:`Bound` from :func:`parse_bound`; the claim is
    :func:`loopbound.theory.claims.claim_for`); module docstring for every choice. ``compile``: put
    each construction's block under torch.compile (opt-in; benchmarks/loops.py). ``on_refusal``:
    ``"raise"`` turns a construction's :class:`PrecisionError` into an InputError naming r;
    ``"record"`` keeps it as a refused row. ``arithmetic``: :data:`ARITHMETICS` (each row says which
    ran). ``row_seconds``: an exact-arithmetic grid whose evaluation is estimated (by timing a few
    points) to take longer is a refused row. ``on_row``: called with each row as it is measured (or
    refused), in order of grid, before the verdict over all rows."""
    started = time.perf_counter()
    p = check_p(p)
    d, N = target.d, target.N
    _check_settings(loops, on_refusal, arithmetic)
    claim = claim_for(bound, timestep=timestep)
    family = family or load_family()
    device = torch.device(device)
    loops = tuple(sorted(set(int(r) for r in loops)))

    grids = _grids(family, claim, loops, d=d, N=N, timestep=timestep)
    sup_value, sup_source = target_sup(target, seed=seed)
    scales, moduli = _moduli(claim, target, grids, p=p, seed=seed)
    hypotheses = claim.hypotheses(target, seed=seed)
    sampling: dict[str, Any] = dict(samples=samples, scramblings=scramblings, level=level, seed=seed, device=device)
    sampling.update(chunk=chunk or (1 << 17 if device.type == "cuda" else 1 << 13), sup_search=sup_search)
    sampling.update(progress=progress)
    context = _RowContext(claim, moduli, scales, d, N, p, sup_value)
    _check_user_bound(context, grids)
    build = dict(timestep=timestep, device=device, compile=compile, arithmetic=arithmetic)
    rows, measured_samples = _measure_grids(
        family, target, grids, context, build, sampling, on_refusal=on_refusal, row_seconds=row_seconds, on_row=on_row
    )
    verdict, rows = _judge(rows, level=level, seed=seed, hypotheses=hypotheses)
    return VerifyResult(
        target=getattr(target, "spec", type(target).__name__),
        d=d,
        N=N,
        p=p,
        timestep=timestep,
        construction=family.name,
        bound_kind=claim.kind,
        bound=claim.shown,
        sup_target=(sup_value, sup_source),
        rows=tuple(rows),
        verdict=verdict,
        samples=measured_samples,
        scramblings=scramblings,
        level=level,
        seed=seed,
        device=str(device),
        seconds=time.perf_counter() - started,
        hypotheses=hypotheses,
    )
