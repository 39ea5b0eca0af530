"""The logic of ``loopbound verify``: a construction's error against loop count, held against a bound.

For a target f on [0,1]^{N×d} and each loop budget r:

1. the construction's grid m = ``grid_for_loops(r, d, N, timestep=…)`` (the largest grid whose
   loop count fits in r), δ = 1/m, and the construction g built at δ (one build per distinct m);
2. its error: ‖g − f‖_{L^p} over the uniform cube by randomised QMC, an estimate with a confidence
   interval, and a certified lower bound on the sup error (:mod:`loopbound.theory.error_measure`);
3. the bound at r — by default Theorem 3.6 for the construction itself
   (:data:`loopbound.theory.bounds.approximation.CONSTRUCTION_TEMPLATE`, derived in
   :func:`~loopbound.theory.bounds.approximation.construction_bound`) with the constants of the guarantee of
   the construction built for that r (each row's ``values``); or
   ``"theorem"``, the reconstructed Theorem 3.6 / 4.2 at δ(r) with the O-constants fixed by the
   construction; or a user's sympy expression in r, d, N, p, delta and the moduli w, w_tok, w_cont;
4. the verdict (:func:`loopbound.theory.rate_fit.judge`): held / violated / inconclusive per r, the fitted
   rate against the bound's own slope.

Where the values come from (said in every result):

- ``delta`` is the construction's grid 1/m at r (not δ(r) of the theorem, except for ``"theorem"``);
  ``r`` is the budget asked for (the construction's own loop count, ≤ r, is reported beside it);
- w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d), w_cont = ω^cont_f(δ√(Nd)) are the target's exact moduli
  where known; else each is *bracketed*: a certified lower bound (:func:`loopbound.theory.modulus.estimate_modulus`,
  a witness pair) and the target's analytic upper bound where it has one. The bound then has a
  range [B(lower), B(upper)] (:mod:`loopbound.theory.bounds.bracket`): "held" needs the measured interval
  below B(lower), "violated" above B(upper); in between the verdict is inconclusive. Evaluating at
  the upper bounds alone would pass a false claim. Where no upper bound is known (a user's target)
  the upper end is the estimate too, and a "violated" verdict is against the estimate; the result
  says which was used;
- S = sup|f| (entrywise) is exact for the built-ins (:func:`loopbound.theory.bounds.approximation.target_sup`),
  else an estimate from samples.

Construction families: any module with ``build_universal`` (or ``build``), ``loops_for_grid`` and
``grid_for_loops`` of the universal construction's signatures (``loopbound.constructions.universal`` by
default; your own with ``--construction``).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch

from loopbound.constructions.blocks import LoopedTransformer
from loopbound.user_code import import_file, import_module
from loopbound.theory.bounds.approximation import (
    THEOREM_3_6,
    THEOREM_4_2,
    CONSTRUCTION_TEMPLATE,
    theorem_readings,
    construction_terms,
    modulus_arguments,
    target_sup,
    theorem_delta,
)
from loopbound.theory.bounds.bracket import bound_range
from loopbound.theory.bounds.hypotheses import TheoremHypotheses, theorem_hypotheses
from loopbound.theory.bounds.core import Bound
from loopbound.theory.bounds.parse import USER_SYMBOLS, parse_bound  # re-exported: a bound is parsed without eval
from loopbound.theory.error_measure import ErrorMeasurement, measure_error
from loopbound.theory.errors import InputError, PrecisionError
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.norms import check_p
from loopbound.theory.rate_fit import Status, Verdict, classify, judge
from loopbound.theory.targets import Target

__all__ = [
    "ConstructionFamily",
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

DEFAULT_CONSTRUCTION = "loopbound.constructions.universal"

MODULUS_KINDS = {"w": ModulusKind.SEQUENCE, "w_tok": ModulusKind.TOKEN, "w_cont": ModulusKind.CONTEXTUAL}


# --------------------------------------------------------------------------- construction families
@dataclass(frozen=True)
class ConstructionFamily:
    """A family of constructions indexed by grid m: ``build(target, delta, *, timestep, dtype,
    device)`` returns a module with ``.guarantee`` and ``.loops``; ``loops_for_grid(m, d, N, *,
    timestep)`` its loop count; ``grid_for_loops(r, d, N, *, timestep)`` the largest m that fits in
    r loops (None if none)."""

    name: str
    build: Callable[..., Any]
    loops_for_grid: Callable[..., int]
    grid_for_loops: Callable[..., int | None]


def _family_from(module: Any, name: str) -> ConstructionFamily:
    build = getattr(module, "build_universal", None) or getattr(module, "build", None)
    missing = [n for n, v in (("build_universal or build", build), ("loops_for_grid", getattr(module, "loops_for_grid", None)),
                              ("grid_for_loops", getattr(module, "grid_for_loops", None))) if not callable(v)]
    if missing:
        raise InputError(f"construction {name} lacks {', '.join(missing)}")
    return ConstructionFamily(name, build, module.loops_for_grid, module.grid_for_loops)


def load_family(spec: str = DEFAULT_CONSTRUCTION) -> ConstructionFamily:
    """A construction family from a module name (``loopbound.constructions.universal``) or a ``.py`` file."""
    if spec.endswith(".py"):
        module = import_file(spec, prefix="loopbound_user_construction")
    else:
        missing = "the universal construction (constructions/universal.py) is not in this checkout" if spec == DEFAULT_CONSTRUCTION else None
        module = import_module(spec, context=f"--construction {spec}", missing=missing)
    return _family_from(module, spec)


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
        if count == 1:
            values = [low]
        else:
            values = [round(low * (high / low) ** (k / (count - 1))) for k in range(count)]
        return tuple(sorted(set(values)))
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


# --------------------------------------------------------------------------- moduli
@dataclass(frozen=True)
class ModulusValue:
    """A modulus entering a bound: ``name`` (w, w_tok, w_cont) at ``argument``, known within
    [``lower``, ``upper``]: ``lower`` is exact or a certified lower bound (a witness pair), ``upper``
    exact, an analytic upper bound, or None (unknown). ``source``: ``exact`` (lower = upper),
    ``bracketed`` (certified lower bound and analytic upper bound) or ``estimate`` (lower only)."""

    name: str
    argument: float
    lower: float
    upper: float | None
    source: str

    @property
    def bracket(self) -> tuple[float, float | None]:
        return self.lower, self.upper


def modulus_values(
    target: Target, scales: Sequence[float], names: Sequence[str], *, d: int, N: int, p: float, seed: int
) -> dict[float, dict[str, ModulusValue]]:
    """For each grid scale δ, the moduli ``names`` at their arguments (:func:`modulus_arguments`):
    exact where the target derives it; else a certified lower bound (one batched search per kind,
    :func:`loopbound.theory.modulus.estimate_modulus`) with the target's analytic upper bound where it has one.
    Both ends are kept: a bound evaluated only at the upper end can pass a false claim
    (:mod:`loopbound.theory.bounds.bracket`)."""
    from loopbound.theory.modulus import estimate_modulus

    out: dict[float, dict[str, ModulusValue]] = {scale: {} for scale in scales}
    pending: dict[str, list[tuple[float, float, float | None]]] = {}
    for scale in scales:
        arguments = modulus_arguments(scale, d, N)
        for name in names:
            kind, argument = MODULUS_KINDS[name], arguments[name]
            if kind is ModulusKind.CONTEXTUAL and N == 1:
                out[scale][name] = ModulusValue(name, argument, 0.0, 0.0, "exact")
                continue
            exact = target.exact_modulus(kind, argument, p)
            if exact is not None:
                out[scale][name] = ModulusValue(name, argument, float(exact), float(exact), "exact")
                continue
            upper = target.upper_modulus(kind, argument, p)
            pending.setdefault(name, []).append((scale, argument, None if upper is None else float(upper)))
    for name, wanted in pending.items():
        estimates = estimate_modulus(target, MODULUS_KINDS[name], sorted({a for _, a, _ in wanted}), p=p, seed=seed)
        by_argument = {e.delta: e.lower for e in estimates}
        for scale, argument, upper in wanted:
            source = "estimate" if upper is None else "bracketed"
            out[scale][name] = ModulusValue(name, argument, float(by_argument[argument]), upper, source)
    return out


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class VerifyRow:
    """One loop budget r: the construction's grid m (δ = 1/m) and loop count, its measured error,
    the bound's value there and the values it was evaluated with — or why the construction was
    refused (``refused``: the one-line reason, e.g. float64 cannot hold the bits it needs).

    ``bound`` is the bound at the moduli's lower ends (exact or certified), ``bound_upper`` at their
    upper ends (None when the moduli are exact); ``bound_method`` says how the range was found
    (:class:`loopbound.theory.bounds.bracket.BoundRange`). ``values`` holds the constants the bound was
    evaluated with (the construction's ε, B, B_C, μ_B, μ_C at this grid, S, p) and the moduli's
    lower ends.

    ``warnings``: the rare-error warning (:func:`rare_error_warning`) where it applies.
    ``other_reading`` (theorem bound only): the other reading of Theorem 3.6's bound range and the
    status against it; ``reading_note`` says where the status depends on the reading, e.g.
    ``"violated under the stricter reading; held under the other"``."""

    r: int
    grid: int | None
    delta: float | None
    loops: int | None
    measurement: ErrorMeasurement | None
    bound: float | None
    values: Mapping[str, float]
    moduli: tuple[ModulusValue, ...] = ()
    bound_upper: float | None = None
    bound_method: str = "exact"
    guarantee: Mapping[str, Any] | None = None
    refused: str | None = None
    warnings: tuple[str, ...] = ()
    other_reading: tuple[float, float | None, str] | None = None
    reading_note: str | None = None
    bound_reason: str | None = None
    """Why the bound's range is not certified (then the row is inconclusive), e.g. it decreases in a
    modulus that is only estimated from below; None when it is."""

    @property
    def ratio(self) -> float | None:
        """Measured error / bound (its low end); None for a refused row."""
        if self.measurement is None or self.bound is None:
            return None
        value = self.measurement.lp.value
        return value / self.bound if self.bound > 0 else (0.0 if value == 0 else math.inf)

    def bound_text(self, between: str = "..") -> str:
        """The bound, or its range ``low..high`` where the moduli are bracketed."""
        if self.bound is None:
            return "-"
        return f"{self.bound:.4g}" if self.bound_upper is None else f"{self.bound:.4g}{between}{self.bound_upper:.4g}"

    def to_json(self) -> dict[str, Any]:
        lp = None if self.measurement is None else self.measurement.lp
        sup = None if self.measurement is None else self.measurement.sup
        ratio = self.ratio
        return {
            "r": self.r,
            "grid": self.grid,
            "delta": self.delta,
            "loops": self.loops,
            "error": None if lp is None else lp.value,
            "lower": None if lp is None else lp.lower,
            "upper": None if lp is None else lp.upper,
            "sup_error_lower_bound": None if sup is None else sup.value,
            "bound": self.bound,
            "bound_upper": self.bound_upper,
            "bound_method": self.bound_method,
            "bound_reason": self.bound_reason,
            "ratio": ratio,
            "values": dict(self.values),
            "moduli": [dataclasses.asdict(m) for m in self.moduli],
            "measurement": None if self.measurement is None else self.measurement.to_json(),
            "guarantee": None if self.guarantee is None else dict(self.guarantee),
            "refused": self.refused,
            "warnings": list(self.warnings),
            "other_reading": None if self.other_reading is None else {
                "bound": self.other_reading[0], "bound_upper": self.other_reading[1], "status": self.other_reading[2]},
            "reading_note": self.reading_note,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Everything ``loopbound verify`` reports: the settings, the bound with its provenance, where
    each value came from, the rows per r and the verdict over the measured rows (None when every r
    was refused)."""

    target: str
    d: int
    N: int
    p: float
    timestep: bool
    construction: str
    bound_kind: str
    bound: Bound
    sup_target: tuple[float, str]
    rows: tuple[VerifyRow, ...]
    verdict: Verdict | None
    samples: int
    scramblings: int
    level: float
    seed: int
    device: str
    seconds: float
    hypotheses: TheoremHypotheses | None = None

    @property
    def outside_hypotheses(self) -> bool:
        """True when the theorem bound was checked on a target outside its hypotheses."""
        return self.hypotheses is not None and not self.hypotheses.inside

    @property
    def bound_status(self) -> str:
        """The provenance status, or ``claimed`` for a user's bound (read from no paper)."""
        return "claimed" if self.bound_kind == "user" else self.bound.provenance.status

    @property
    def measured(self) -> tuple[VerifyRow, ...]:
        return tuple(row for row in self.rows if row.measurement is not None)

    @property
    def refused(self) -> tuple[VerifyRow, ...]:
        return tuple(row for row in self.rows if row.refused is not None)

    @property
    def statuses(self) -> dict[int, str]:
        """held / violated / inconclusive by r (measured rows only)."""
        return {v.r: v.status.value for v in self.verdict.points} if self.verdict else {}

    def status_text(self, row: VerifyRow) -> str:
        """The row's status as printed: the reading-dependent form where it applies ("violated
        under the stricter reading; held under the other"), with "outside the theorem's
        hypotheses" where the target is, and "!" where a rare-error warning applies."""
        if row.refused is not None:
            return "refused"
        text = row.reading_note or self.statuses.get(row.r, "")
        if self.outside_hypotheses:
            text += " (outside the theorem's hypotheses)"
        if row.warnings:
            text += " !"
        return text

    @property
    def exit_status(self) -> int:
        """0 when the bound held at every r measured (and some r was), 1 otherwise."""
        return 0 if self.verdict is not None and self.verdict.held else 1

    def moduli_sources(self) -> dict[str, str]:
        sources: dict[str, set[str]] = {}
        for row in self.measured:
            for m in row.moduli:
                sources.setdefault(m.name, set()).add(m.source)
        return {name: "/".join(sorted(kinds)) for name, kinds in sources.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "d": self.d,
            "N": self.N,
            "p": self.p,
            "timestep": self.timestep,
            "construction": self.construction,
            "bound": {
                "kind": self.bound_kind,
                "name": self.bound.name,
                "expression": str(self.bound.expression),
                "latex": self.bound.latex(),
                "provenance": self.bound.provenance.cite(),
                "status": self.bound_status,
            },
            "moduli_sources": self.moduli_sources(),
            "sup_target": {"value": self.sup_target[0], "source": self.sup_target[1]},
            "settings": {"samples": self.samples, "scramblings": self.scramblings, "level": self.level,
                         "seed": self.seed, "device": self.device},
            "rows": [dict(row.to_json(), status=self.status_text(row).rstrip(" !")) for row in self.rows],
            "hypotheses": None if self.hypotheses is None else self.hypotheses.to_json(),
            "verdict": None if self.verdict is None else self.verdict.to_json(),
            "refused": [row.r for row in self.refused],
            "seconds": self.seconds,
        }


RARE_ERROR_RATIO = 100.0
"""The sup/L^p ratio from which :func:`rare_error_warning` warns."""


def rare_error_warning(measurement: ErrorMeasurement, bound: float | None) -> str | None:
    """A warning (one line) where the sup-error search found values that the L^p estimate may not
    have seen, else None.

    The L^p interval is a statement about I = ∫ e^p from n sampled points; e(X) large on a set of
    measure μ ≪ 1/n contributes up to μ·sup e^p to I and is hit by none of the n points with
    probability about (1 − μ)^n. The certified sup lower bound s (attained at a witness) does not by
    itself contradict the interval — a needle has a large sup and a small L^p mass — but it shows
    that large errors exist. The criterion: warn when the sup search ran and

    - s ≥ :data:`RARE_ERROR_RATIO` × the interval's upper end U: a set where e ≥ s/2 can then have
      measure at most (2U/s)^p ≤ 50^{−p} if the estimate is right, i.e. it is rare on the scale of
      the samples and its true share of I is not estimated; or
    - s > the bound (its low end): the error exceeds the bound pointwise, so the verdict rests on
      the set where it does so being small, which only the samples judge.

    Neither makes the verdict wrong; both say that "held" is as good as the samples' coverage of
    rare large errors (raise --samples, or bound the error analytically)."""
    sup = measurement.sup
    if sup is None or not math.isfinite(sup.value):
        return None
    upper = measurement.lp.upper
    reasons = []
    if sup.value >= RARE_ERROR_RATIO * upper:
        ratio = "inf" if upper == 0 else f"{sup.value / upper:.3g}"
        reasons.append(f"{ratio}× the L^p interval's upper end {upper:.4g}")
    if bound is not None and sup.value > bound:
        reasons.append(f"above the bound {bound:.4g}")
    if not reasons:
        return None
    return (f"the sup search found an error ≥ {sup.value:.4g} ({' and '.join(reasons)}); the L^p estimate is from "
            f"{measurement.lp.samples} samples and can miss rare large errors (sets of measure ≲ 1/{measurement.lp.samples})")


GUARANTEE_FIELDS = ("delta", "grid_size", "loops", "timestep", "precision_bits", "sharpness", "band_measure",
                    "collision_measure", "value_error_bound", "output_bound", "embedding_width", "ff_width",
                    "heads", "head_size", "parameter_count")


def _guarantee_summary(guarantee: Any) -> dict[str, Any]:
    summary = {}
    for name in GUARANTEE_FIELDS:
        value = getattr(guarantee, name, None)
        if isinstance(value, (bool, int, float, str)) or value is None:
            summary[name] = value
        else:
            summary[name] = str(value)
    return summary


# --------------------------------------------------------------------------- the verification
def _smallest_budget(family: ConstructionFamily, d: int, N: int, timestep: bool) -> int | None:
    for m in (1, 2):
        try:
            return int(family.loops_for_grid(m, d, N, timestep=timestep))
        except Exception:
            continue
    return None


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
    (``"construction"``, ``"theorem"`` or a :class:`Bound` from :func:`parse_bound`); module
    docstring for every choice. ``compile``: put each construction's block under torch.compile
    (opt-in; benchmarks/loops.py). ``on_refusal``: ``"raise"`` turns a construction's
    :class:`PrecisionError` into an InputError naming r; ``"record"`` keeps it as a refused row."""
    started = time.perf_counter()
    p = check_p(p)
    d, N = target.d, target.N
    if not loops:
        raise InputError("give at least one loop count")
    if on_refusal not in ("raise", "record"):
        raise ValueError(f"on_refusal must be raise or record, got {on_refusal!r}")
    if isinstance(bound, str) and bound not in ("construction", "theorem"):
        raise InputError(f"bound must be 'construction', 'theorem' or an expression, got {bound!r}")
    family = family or load_family()
    device = torch.device(device)
    chunk = chunk or (1 << 17 if device.type == "cuda" else 1 << 13)
    loops = tuple(sorted(set(int(r) for r in loops)))

    grids: dict[int, int] = {}
    for r in loops:
        m = family.grid_for_loops(r, d, N, timestep=timestep)
        if m is None or m < 1:
            smallest = _smallest_budget(family, d, N, timestep)
            need = f"; it needs at least {smallest}" if smallest is not None else ""
            raise InputError(f"r={r} loops are too few for the construction at d={d}, N={N}{need}")
        if bound == "theorem" and r <= N:
            raise InputError(f"Theorem 3.6 needs r > N, got r={r} with N={N}")
        grids[r] = int(m)

    built: dict[int, Any] = {}
    refusals: dict[int, str] = {}
    for m in sorted(set(grids.values())):
        try:
            built[m] = family.build(target, 1.0 / m, timestep=timestep, dtype=torch.float64, device=device)
            if compile and isinstance(getattr(built[m], "model", None), LoopedTransformer):
                built[m].model.compile_block()
        except PrecisionError as error:
            first = min(r for r, g in grids.items() if g == m)
            message = f"r={first} (grid {m}): {' '.join(str(error).split())}"
            if on_refusal == "raise":
                raise PrecisionError(message) from None
            refusals[m] = message

    sup_value, sup_source = target_sup(target, seed=seed)
    if isinstance(bound, Bound):
        bound_kind, names = "user", [s.name for s in bound.symbols if s.name in MODULUS_KINDS and s in bound.expression.free_symbols]
        shown_bound = bound
    elif bound == "theorem":
        bound_kind, names = "theorem", (["w"] if timestep else ["w", "w_tok", "w_cont"])
        shown_bound = THEOREM_4_2 if timestep else THEOREM_3_6
    else:
        bound_kind, names = "construction", ["w"]
        shown_bound = CONSTRUCTION_TEMPLATE  # its constants differ per grid: each row's values

    if bound_kind == "theorem":
        scales = {r: theorem_delta(r, d, N) for r in loops if grids[r] in built}
    else:
        scales = {r: 1.0 / grids[r] for r in loops if grids[r] in built}
    moduli = modulus_values(target, sorted(set(scales.values())), names, d=d, N=N, p=p, seed=seed) if names else {}
    hypotheses = theorem_hypotheses(target, seed=seed) if bound_kind == "theorem" else None
    other_spans: dict[int, Any] = {}  # theorem bound: the other reading's range per r

    measurements: dict[int, ErrorMeasurement] = {}
    for m, model in built.items():
        measurements[m] = measure_error(
            model, target, N=N, d=d, p=p, samples=samples, scramblings=scramblings, level=level, seed=seed,
            device=device, chunk=chunk, sup_search=sup_search, progress=progress,
        )

    rows = []
    for r in loops:
        m = grids[r]
        if m in refusals:
            rows.append(VerifyRow(r, m, 1.0 / m, None, None, None, {}, refused=refusals[m]))
            continue
        model = built[m]
        guarantee = model.guarantee
        values: dict[str, float] = {"p": p, "S": sup_value}
        used = tuple(moduli.get(scales[r], {}).values())
        brackets = {mv.name: mv.bracket for mv in used}
        if bound_kind == "construction":
            values.update(construction_terms(guarantee))
            evaluated, fixed = CONSTRUCTION_TEMPLATE, {k: v for k, v in values.items() if k != "w"}
        elif bound_kind == "theorem":
            terms = construction_terms(guarantee)
            entries = (terms["N"] * terms["d_out"]) ** (1.0 / p)
            e_band, e_collision = entries * (terms["B"] + sup_value), entries * (terms["B_C"] + sup_value)
            values.update(C_coll=2 ** (-1.0 / p) * e_collision, C_band=e_band,
                          M=float(getattr(guarantee, "sharpness", math.inf) or math.inf), delta_r=scales[r])
            evaluated = THEOREM_4_2 if timestep else THEOREM_3_6
            names_needed = {s.name for s in evaluated.symbols}
            given = {"r": r, "d": d, "N": N, **values}
            fixed = {k: v for k, v in given.items() if k in names_needed and k not in brackets}
            other_spans[r] = bound_range(theorem_readings(timestep).other, fixed, brackets)
        else:
            evaluated = bound  # type: ignore[assignment]
            fixed = {"r": r, "d": d, "N": N, "p": p, "delta": 1.0 / m}
            fixed.update({name: 0.0 for name in MODULUS_KINDS if name not in brackets})
        try:  # the range over the moduli's box, right by construction (loopbound.theory.bounds.bracket)
            span = bound_range(evaluated, fixed, brackets)
        except InputError as error:  # undefined there, or an inverted bracket: name r
            raise InputError(str(error) if f"r = {r} " in f"{error} " or f"r = {r}," in f"{error}" else f"r={r}: {error}") from None
        values.update({mv.name: mv.lower for mv in used})
        if math.isnan(span.low) or math.isnan(span.high):
            raise InputError(f"the bound is NaN at r={r} (values {dict(fixed, **values)})")
        other_reading = None
        if r in other_spans:
            other, lp = other_spans[r], measurements[m].lp
            other_high = None if other.exact else other.high
            other_reading = (other.low, other_high, classify(lp.lower, lp.upper, other.low, other_high, other.reason).value)
        warning = rare_error_warning(measurements[m], span.low)
        rows.append(VerifyRow(
            r=r, grid=m, delta=1.0 / m, loops=int(getattr(model, "loops", getattr(guarantee, "loops", 0))),
            measurement=measurements[m], bound=span.low, values=values, moduli=used, guarantee=_guarantee_summary(guarantee),
            bound_upper=None if span.exact else span.high, bound_method=span.method,
            warnings=() if warning is None else (warning,), other_reading=other_reading, bound_reason=span.reason,
        ))

    measured = [row for row in rows if row.measurement is not None]
    verdict = None
    if measured:
        verdict = judge(
            [row.r for row in measured],
            [row.measurement.lp.value for row in measured],
            [row.measurement.lp.lower for row in measured],
            [row.measurement.lp.upper for row in measured],
            [row.bound for row in measured],
            bounds_upper=[row.bound_upper for row in measured],
            bound_reasons=[row.bound_reason for row in measured],
            level=level, seed=seed,
        )
        verdict, rows = _annotate(verdict, rows, level, hypotheses)
    return VerifyResult(
        target=getattr(target, "spec", type(target).__name__), d=d, N=N, p=p, timestep=timestep, construction=family.name,
        bound_kind=bound_kind, bound=shown_bound, sup_target=(sup_value, sup_source), rows=tuple(rows), verdict=verdict,
        samples=next(iter(measurements.values())).lp.samples if measurements else samples, scramblings=scramblings,
        level=level, seed=seed, device=str(device), seconds=time.perf_counter() - started, hypotheses=hypotheses,
    )


def _annotate(verdict: Verdict, rows: list[VerifyRow], level: float, hypotheses: TheoremHypotheses | None
              ) -> tuple[Verdict, list[VerifyRow]]:
    """The verdict with what it is: its confidence level, the rare-error warnings, the reading
    notes (a row violated under the stricter reading of Theorem 3.6 but not under the other), and
    the hypotheses' context; the rows with their reading notes."""
    status = {point.r: point.status for point in verdict.points}
    notes: list[tuple[int, str]] = []
    annotated = []
    for row in rows:
        note = None
        if row.other_reading is not None and status.get(row.r) is Status.VIOLATED and row.other_reading[2] != "violated":
            note = f"violated under the stricter reading; {row.other_reading[2]} under the other"
            notes.append((row.r, note))
        annotated.append(dataclasses.replace(row, reading_note=note))
    warned = [row.r for row in rows if row.warnings]
    warnings: tuple[str, ...] = ()
    if warned:
        warnings = ((f"at r = {', '.join(map(str, warned))} the sup search found errors the L^p samples may not "
                     f"have seen (sup ≥ {RARE_ERROR_RATIO:g}× the interval's upper end, or above the bound): "
                     "rare large errors may be missed"),)
    context = "" if hypotheses is None or hypotheses.inside else hypotheses.describe()
    verdict = dataclasses.replace(verdict, level=level, warnings=warnings, reading_notes=tuple(notes), context=context)
    return verdict, annotated


# --------------------------------------------------------------------------- the table
CONSTANT_NAMES = ("epsilon", "B", "B_C", "mu_B", "mu_C")


def _construction_constants(result: VerifyResult) -> list[str]:
    """One line per grid: the guarantee's constants the template was evaluated with."""
    lines, seen = [], set()
    for row in result.measured:
        if row.grid in seen or not all(name in row.values for name in CONSTANT_NAMES):
            continue
        seen.add(row.grid)
        constants = ", ".join(f"{name} = {row.values[name]:.4g}" for name in CONSTANT_NAMES)
        lines.append(f"  constants at grid {row.grid}: {constants}")
    return lines

BOUND_LABELS = {
    "construction": "Theorem 3.6 for the construction (derived here, constants from its guarantee)",
    "theorem": "Theorem 3.6 at δ(r) (reconstructed), stricter reading (ω_f outside the (Nd)^{1/p} factor), "
               "O-constants C_coll, C_band, M loopbound's own (from its construction)",
    "theorem_timestep": "Theorem 3.6 with Theorem 4.2's exact value mapping at δ(r) (derived here), stricter reading, "
                        "O-constants C_coll, C_band, M loopbound's own (from its construction)",
    "user": "the claimed bound",
}

COLUMN_GAP = "  "
"""Between every two columns, whatever the values: widths come from the content."""

THEOREM_CONSTANTS = ("C_coll", "C_band", "M")


def _theorem_constants(result: VerifyResult) -> list[str]:
    """One line per grid: the O-constants (loopbound's own) the theorem was evaluated with."""
    lines, seen = [], set()
    for row in result.measured:
        if row.grid in seen or not all(name in row.values for name in THEOREM_CONSTANTS):
            continue
        seen.add(row.grid)
        constants = ", ".join(f"{name} = {row.values[name]:.4g}" for name in THEOREM_CONSTANTS)
        lines.append(f"  loopbound's O-constants at grid {row.grid}: {constants}")
    return lines


def format_columns(header: Sequence[str], body: Sequence[Sequence[str]], *, left: Sequence[int] = (),
                   indent: str = "  ") -> list[str]:
    """Rows of cells as text: each column as wide as its widest cell (header included), columns
    separated by :data:`COLUMN_GAP`, right-aligned except the columns in ``left``; a row with fewer
    cells ends early (its last cell is not padded). No value can run into its neighbour."""
    widths = [len(h) for h in header]
    for cells in body:
        for i, cell in enumerate(cells[:-1] if len(cells) < len(header) else cells):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            spans = len(cells) < len(header) and i == len(cells) - 1  # a short row's last cell runs on
            if spans or (i == len(header) - 1 and i in left):
                parts.append(cell)
            else:
                parts.append(cell.ljust(widths[i]) if i in left else cell.rjust(widths[i]))
        return (indent + COLUMN_GAP.join(parts)).rstrip()

    return [line(header), *(line(cells) for cells in body)]


def format_table(result: VerifyResult) -> str:
    """Per r: grid, the construction's loops, the L^p error with its interval, the sup lower bound,
    the bound, the ratio and the status; then the rate and the verdict. Columns are sized from
    their content and separated by two spaces (:func:`format_columns`)."""
    variant = "with timestep scaling" if result.timestep else "without timestep scaling"
    pct = f"{result.level:.0%}"
    label = BOUND_LABELS["theorem_timestep" if result.bound_kind == "theorem" and result.timestep else result.bound_kind]
    lines = [
        f"verify {result.target}  (d={result.d}, N={result.N}, p={result.p:g}, {variant}, construction {result.construction})",
        (f"  error: L^p over the uniform cube, {result.scramblings} Sobol scramblings, {result.samples} points, "
         f"{pct} t-intervals (a statistical statement), seed {result.seed}, device {result.device}"),
        f"  bound: {label}: {result.bound.expression}  [{result.bound_status}]",
    ]
    if result.bound_kind == "theorem":
        lines.append("  reading: the stricter of the two reconstructed readings (a violation that holds under the other, "
                     "(Nd)^{1/p}[ω^tok + ω^cont + ω_f], is reported as such)")
    if result.hypotheses is not None:
        lines.append(f"  hypotheses: {result.hypotheses.describe()}"
                     + ("; this checks loopbound's extension, not the theorem as stated" if result.outside_hypotheses else ""))
    sources = result.moduli_sources()
    if sources:
        described = ", ".join(f"{name} {source}" for name, source in sources.items())
        notes = []
        if "bracketed" in described:
            notes.append("bracketed = certified lower bound and analytic upper bound: the bound is the range lo..hi")
        if "estimate" in described:
            notes.append("estimate = certified lower bound only: a violation is against the estimate")
        lines.append(f"  moduli: {described}" + (f"  ({'; '.join(notes)})" if notes else ""))
    if result.bound_kind in ("construction", "theorem"):
        lines.append(f"  sup|f| = {result.sup_target[0]:.6g} ({result.sup_target[1]})")
    header = ["r", "grid", "loops", "L^p error", f"[{pct} interval]", "sup err >=", "bound", "ratio", "status"]
    body: list[list[str]] = []
    for row in result.rows:
        if row.refused is not None:
            body.append([str(row.r), str(row.grid), "-", f"refused: {row.refused}"])
            continue
        lp = row.measurement.lp  # type: ignore[union-attr]
        sup = row.measurement.sup  # type: ignore[union-attr]
        ratio = row.ratio
        body.append([
            str(row.r), str(row.grid), str(row.loops), f"{lp.value:.4g}", f"[{lp.lower:.4g}, {lp.upper:.4g}]",
            "-" if sup is None else f"{sup.value:.4g}", row.bound_text(), "-" if ratio is None else f"{ratio:.4g}",
            result.status_text(row),
        ])
    lines.extend(format_columns(header, body, left=(8,)))
    for row in result.rows:
        for warning in row.warnings:
            lines.append(f"  ! r={row.r}: {warning}")
    if result.bound_kind == "construction":
        lines.extend(_construction_constants(result))
    if result.bound_kind == "theorem":
        lines.extend(_theorem_constants(result))
    verdict = result.verdict
    if verdict is not None:
        fit = verdict.rate
        if fit.fitted:
            claimed = "-" if verdict.claimed_exponent is None else f"{verdict.claimed_exponent:.3f}"
            lines.append(f"  rate: error ~ {fit.describe()}; claimed (the bound's slope) {claimed}: {verdict.rate_comparison}")
        else:
            lines.append(f"  rate: {fit.status}")
        lines.append(f"verdict: {verdict.summary()}")
    else:
        lines.append("verdict: nothing measured (every r refused)")
    return "\n".join(lines)
