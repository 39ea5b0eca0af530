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
from collections.abc import Sequence
from typing import Any, cast

import torch

from loopbound.construction_family import DEFAULT_CONSTRUCTION, ConstructionFamily, load_family, smallest_budget
from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.theory.bounds.core import Bound
from loopbound.theory.bounds.hypotheses import TheoremHypotheses
from loopbound.theory.bounds.parse import USER_SYMBOLS, parse_bound  # re-exported: a bound is parsed without eval
from loopbound.theory.claims import Claim, ClaimInputs, claim_for
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
def parse_loops(text: str) -> tuple[int, ...]:
    """``10,20,40`` or ``LOW:HIGH:COUNT`` (COUNT log-spaced integers from LOW to HIGH), each ≥ 1;
    returned sorted without repeats."""
    text = text.strip()
    if text.count(":") == 2:
        try:
            low, high, count = (int(part) for part in text.split(":"))
        except ValueError:
            raise InputError(f"--loops range must read LOW:HIGH:COUNT with integers, got {text!r}") from None
        if low < 1 or high < low or count < 1:
            raise InputError(f"--loops range needs 1 <= LOW <= HIGH and COUNT >= 1, got {text!r}")
        return _log_spaced(low, high, count, text)
    words = text.replace(" ", "").split(",")
    if not words or any(word == "" for word in words):
        raise InputError(f"--loops must be a comma-separated list of integers >= 1, got {text!r}")
    values = []
    for word in words:
        try:
            value = int(word)
        except ValueError:
            raise InputError(f"--loops: {word!r} is not an integer") from None
        if value < 1:
            raise InputError(f"--loops: every r must be >= 1, got {value}")
        values.append(value)
    return tuple(sorted(set(values)))


LOOPS_RANGE_MAX = 10**6
"""The most distinct r a ``LOW:HIGH:COUNT`` range may name (min(COUNT, HIGH − LOW + 1))."""


def _log_spaced(low: int, high: int, count: int, text: str) -> tuple[int, ...]:
    """The distinct values of round(LOW·(HIGH/LOW)^{k/(COUNT−1)}), k = 0, …, COUNT − 1, sorted.

    The sequence is nondecreasing in k, so each next distinct value is found by bisection over k
    (the first k whose value exceeds the last one): work ∝ (distinct values)·log COUNT, never
    COUNT. At most min(COUNT, HIGH − LOW + 1) values; above :data:`LOOPS_RANGE_MAX`, refused."""
    if min(count, high - low + 1) > LOOPS_RANGE_MAX:
        raise InputError(f"--loops range names more than {LOOPS_RANGE_MAX} values of r, got {text!r}")
    if count == 1:
        return (low,)

    def value(k: int) -> int:
        return round(low * (high / low) ** (k / (count - 1)))

    values, k = [value(0)], 0
    while k < count - 1:
        first, last = k + 1, count - 1
        if value(last) <= values[-1]:
            break
        while first < last:  # the first k' > k with value(k') > values[-1]
            middle = (first + last) // 2
            first, last = (middle + 1, last) if value(middle) <= values[-1] else (first, middle)
        k = first
        values.append(value(k))
    return tuple(sorted(set(values)))


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


def _build(
    family: ConstructionFamily,
    target: Target,
    grids: dict[int, int],
    *,
    timestep: bool,
    device: torch.device,
    compile: bool,
    on_refusal: str,
) -> tuple[dict[int, Any], dict[int, str]]:
    """One construction per distinct grid m (float64), its model by m, and the grids refused
    (float64 cannot hold the bits a construction needs): raised naming the first r, or recorded
    (``on_refusal``)."""
    built: dict[int, Any] = {}
    refusals: dict[int, str] = {}
    for m in sorted(set(grids.values())):
        try:
            result = family.build(target, 1.0 / m, timestep=timestep, dtype=torch.float64, device=device)
            built[m] = result.model if isinstance(result, Built) else result  # a user family may return the module
            if compile and isinstance(getattr(built[m], "model", None), LoopedTransformer):
                built[m].model.compile_block()
        except PrecisionError as error:
            first = min(r for r, g in grids.items() if g == m)
            message = f"r={first} (grid {m}): {' '.join(str(error).split())}"
            if on_refusal == "raise":
                raise PrecisionError(message) from None
            refusals[m] = message
    return built, refusals


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
    claim: Claim, target: Target, grids: dict[int, int], built: dict[int, Any], *, p: float, seed: int
) -> tuple[dict[int, Scale], dict[Scale, dict[str, ModulusValue]]]:
    """Per r built, the scale δ at which the claim reads the moduli; the moduli bracketed at each scale."""
    d, N = target.d, target.N
    scales = {r: claim.scale(r, m, d, N) for r, m in grids.items() if m in built}
    names = claim.moduli()
    if not names:
        return scales, {}
    return scales, modulus_values(target, sorted(set(scales.values())), names, d=d, N=N, p=p, seed=seed)


def _rows(
    claim: Claim,
    grids: dict[int, int],
    built: dict[int, Any],
    refusals: dict[int, str],
    measurements: dict[int, ErrorMeasurement],
    moduli: dict[Scale, dict[str, ModulusValue]],
    scales: dict[int, Scale],
    *,
    d: int,
    N: int,
    p: float,
    sup: float,
) -> list[VerifyRow]:
    """Per r: the refused row, or the measured row with the claim evaluated at r."""
    rows = []
    for r, m in grids.items():
        if m in refusals:
            rows.append(VerifyRow(r, m, 1.0 / m, None, None, None, {}, refused=refusals[m]))
            continue
        used = tuple(moduli.get(scales[r], {}).values())
        brackets = {mv.name: mv.bracket for mv in used}
        inputs = ClaimInputs(r=r, grid=m, d=d, N=N, p=p, sup=sup, guarantee=built[m].guarantee, brackets=brackets)
        rows.append(_row(claim, inputs, built[m], measurements[m], used))
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
    verdict = dataclasses.replace(verdict, level=level, warnings=warnings, reading_notes=tuple(notes), context=context)
    return verdict, annotated


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
) -> VerifyResult:
    """Measure the construction's error at each loop budget and judge it against ``bound``
    (``"construction"``, ``"theorem"`` or a :class:`Bound` from :func:`parse_bound`; the claim is
    :func:`loopbound.theory.claims.claim_for`); module docstring for every choice. ``compile``: put
    each construction's block under torch.compile (opt-in; benchmarks/loops.py). ``on_refusal``:
    ``"raise"`` turns a construction's :class:`PrecisionError` into an InputError naming r;
    ``"record"`` keeps it as a refused row."""
    started = time.perf_counter()
    p = check_p(p)
    d, N = target.d, target.N
    if not loops:
        raise InputError("give at least one loop count")
    if on_refusal not in ("raise", "record"):
        raise ValueError(f"on_refusal must be raise or record, got {on_refusal!r}")
    claim = claim_for(bound, timestep=timestep)
    family = family or load_family()
    device = torch.device(device)
    loops = tuple(sorted(set(int(r) for r in loops)))

    grids = _grids(family, claim, loops, d=d, N=N, timestep=timestep)
    built, refusals = _build(
        family, target, grids, timestep=timestep, device=device, compile=compile, on_refusal=on_refusal
    )
    sup_value, sup_source = target_sup(target, seed=seed)
    scales, moduli = _moduli(claim, target, grids, built, p=p, seed=seed)
    hypotheses = claim.hypotheses(target, seed=seed)
    sampling: dict[str, Any] = {
        "samples": samples,
        "scramblings": scramblings,
        "level": level,
        "seed": seed,
        "device": device,
    }
    sampling.update(chunk=chunk or (1 << 17 if device.type == "cuda" else 1 << 13), sup_search=sup_search)
    measurements = {
        m: measure_error(model, target, N=N, d=d, p=p, progress=progress, **sampling) for m, model in built.items()
    }
    rows = _rows(claim, grids, built, refusals, measurements, moduli, scales, d=d, N=N, p=p, sup=sup_value)
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
        samples=next(iter(measurements.values())).lp.samples if measurements else samples,
        scramblings=scramblings,
        level=level,
        seed=seed,
        device=str(device),
        seconds=time.perf_counter() - started,
        hypotheses=hypotheses,
    )
