"""The logic of ``loopbound verify``: a construction's error against loop count, held against a bound.

For a target f on [0,1]^{N×d} and each loop budget r:

1. the construction's grid m = ``grid_for_loops(r, d, N, timestep=…)`` (the largest grid whose
   loop count fits in r), δ = 1/m, and the construction g built at δ (one build per distinct m);
2. its error: ‖g − f‖_{L^p} over the uniform cube by randomised QMC, an estimate with a confidence
   interval, and a certified lower bound on the sup error (:mod:`theory.error_measure`);
3. the bound at r — by default Theorem 3.6 for the construction itself
   (:data:`theory.bounds.approximation.CONSTRUCTION_TEMPLATE`, derived in
   :func:`~theory.bounds.approximation.construction_bound`) with the constants of the guarantee of
   the construction built for that r (each row's ``values``); or
   ``"theorem"``, the reconstructed Theorem 3.6 / 4.2 at δ(r) with the O-constants fixed by the
   construction; or a user's sympy expression in r, d, N, p, delta and the moduli w, w_tok, w_cont;
4. the verdict (:func:`theory.rate_fit.judge`): held / violated / inconclusive per r, the fitted
   rate against the bound's own slope.

Where the values come from (said in every result):

- ``delta`` is the construction's grid 1/m at r (not δ(r) of the theorem, except for ``"theorem"``);
  ``r`` is the budget asked for (the construction's own loop count, ≤ r, is reported beside it);
- w = ω_f(δ√(Nd)), w_tok = ω^tok_f(δ√d), w_cont = ω^cont_f(δ√(Nd)) are the target's exact moduli
  where known; else each is *bracketed*: a certified lower bound (:func:`theory.modulus.estimate_modulus`,
  a witness pair) and the target's analytic upper bound where it has one. The bound then has a
  range [B(lower), B(upper)] (:mod:`theory.bounds.bracket`): "held" needs the measured interval
  below B(lower), "violated" above B(upper); in between the verdict is inconclusive. Evaluating at
  the upper bounds alone would pass a false claim. Where no upper bound is known (a user's target)
  the upper end is the estimate too, and a "violated" verdict is against the estimate; the result
  says which was used;
- S = sup|f| (entrywise) is exact for the built-ins (:func:`theory.bounds.approximation.target_sup`),
  else an estimate from samples.

Construction families: any module with ``build_universal`` (or ``build``), ``loops_for_grid`` and
``grid_for_loops`` of the universal construction's signatures (``constructions.universal`` by
default; your own with ``--construction``).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import sympy
import torch

from constructions.blocks import LoopedTransformer
from loopbound.user_code import import_file, import_module
from theory.bounds.approximation import (
    SYMBOLS,
    THEOREM_3_6,
    THEOREM_4_2,
    CONSTRUCTION_TEMPLATE,
    construction_terms,
    modulus_arguments,
    target_sup,
    theorem_delta,
)
from theory.bounds.bracket import bound_range
from theory.bounds.core import Bound, Provenance
from theory.error_measure import ErrorMeasurement, measure_error
from theory.errors import InputError, PrecisionError
from theory.kinds import ModulusKind
from theory.norms import check_p
from theory.rate_fit import Verdict, judge
from theory.targets import Target

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
    "USER_SYMBOLS",
]

DEFAULT_CONSTRUCTION = "constructions.universal"
USER_SYMBOLS: tuple[str, ...] = ("r", "d", "N", "p", "delta", "w", "w_tok", "w_cont")
"""Symbols a user's ``--bound`` expression may use."""

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
    """A construction family from a module name (``constructions.universal``) or a ``.py`` file."""
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


def parse_bound(text: str) -> Bound:
    """A user's claimed bound: a sympy expression in r, d, N, p, delta, w, w_tok, w_cont
    (``^`` means power). Unknown symbols, undefined functions, relations and syntax errors are
    :class:`InputError` with one line."""
    from sympy.core.function import AppliedUndef
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    if not text.strip():
        raise InputError("--bound is empty")
    if "__" in text or ";" in text or "lambda" in text:
        raise InputError(f"--bound {text!r}: not a mathematical expression")
    local = {name: SYMBOLS[name] for name in USER_SYMBOLS}
    try:
        expression = parse_expr(text, local_dict=local, transformations=standard_transformations + (convert_xor,))
    except Exception as error:  # sympy raises SyntaxError, TokenError, TypeError, …: all the user's to fix
        reason = " ".join(str(error).split()) or type(error).__name__
        raise InputError(f"--bound {text!r} does not parse: {reason}") from None
    if not isinstance(expression, sympy.Expr):
        raise InputError(f"--bound {text!r} is a {type(expression).__name__}, not an expression")
    undefined = sorted(str(f.func) for f in expression.atoms(AppliedUndef))
    if undefined:
        raise InputError(f"--bound {text!r} uses unknown function(s) {', '.join(undefined)}")
    unknown = sorted(s.name for s in expression.free_symbols if s.name not in USER_SYMBOLS)
    if unknown:
        raise InputError(f"--bound {text!r} uses unknown symbol(s) {', '.join(unknown)}; allowed: {', '.join(USER_SYMBOLS)}")
    symbols = tuple(SYMBOLS[name] for name in USER_SYMBOLS)
    provenance = Provenance(source="the user", statement=f"claimed bound {text}", status="paper")
    return Bound("claimed bound", expression, symbols, provenance, "Given on the command line.")


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
    :func:`theory.modulus.estimate_modulus`) with the target's analytic upper bound where it has one.
    Both ends are kept: a bound evaluated only at the upper end can pass a false claim
    (:mod:`theory.bounds.bracket`)."""
    from theory.modulus import estimate_modulus

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
    (:class:`theory.bounds.bracket.BoundRange`). ``values`` holds the constants the bound was
    evaluated with (the construction's ε, B, B_C, μ_B, μ_C at this grid, S, p) and the moduli's
    lower ends."""

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
            "ratio": ratio,
            "values": dict(self.values),
            "moduli": [dataclasses.asdict(m) for m in self.moduli],
            "measurement": None if self.measurement is None else self.measurement.to_json(),
            "guarantee": None if self.guarantee is None else dict(self.guarantee),
            "refused": self.refused,
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
            "rows": [row.to_json() for row in self.rows],
            "verdict": None if self.verdict is None else self.verdict.to_json(),
            "refused": [row.r for row in self.refused],
            "seconds": self.seconds,
        }


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
        else:
            evaluated = bound  # type: ignore[assignment]
            fixed = {"r": r, "d": d, "N": N, "p": p, "delta": 1.0 / m}
            fixed.update({name: 0.0 for name in MODULUS_KINDS if name not in brackets})
        span = bound_range(evaluated, fixed, brackets)
        values.update({mv.name: mv.lower for mv in used})
        if math.isnan(span.low) or math.isnan(span.high):
            raise InputError(f"the bound is NaN at r={r} (values {dict(fixed, **values)})")
        rows.append(VerifyRow(
            r=r, grid=m, delta=1.0 / m, loops=int(getattr(model, "loops", getattr(guarantee, "loops", 0))),
            measurement=measurements[m], bound=span.low, values=values, moduli=used, guarantee=_guarantee_summary(guarantee),
            bound_upper=None if span.exact else span.high, bound_method=span.method,
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
            level=level, seed=seed,
        )
    return VerifyResult(
        target=getattr(target, "spec", type(target).__name__), d=d, N=N, p=p, timestep=timestep, construction=family.name,
        bound_kind=bound_kind, bound=shown_bound, sup_target=(sup_value, sup_source), rows=tuple(rows), verdict=verdict,
        samples=next(iter(measurements.values())).lp.samples if measurements else samples, scramblings=scramblings,
        level=level, seed=seed, device=str(device), seconds=time.perf_counter() - started,
    )


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
    "theorem": "Theorem 3.6/4.2 at δ(r) (reconstructed), O-constants fixed by the construction",
    "user": "the claimed bound",
}


def format_table(result: VerifyResult) -> str:
    """Per r: grid, the construction's loops, the L^p error with its interval, the sup lower bound,
    the bound, the ratio and the status; then the rate and the verdict."""
    variant = "with timestep scaling" if result.timestep else "without timestep scaling"
    pct = f"{result.level:.0%}"
    lines = [
        f"verify {result.target}  (d={result.d}, N={result.N}, p={result.p:g}, {variant}, construction {result.construction})",
        f"  error: L^p over the uniform cube, {result.scramblings} Sobol scramblings, {result.samples} points, "
        f"{pct} t-intervals, seed {result.seed}, device {result.device}",
        f"  bound: {BOUND_LABELS[result.bound_kind]}: {result.bound.expression}  [{result.bound_status}]",
    ]
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
    ranged = any(row.bound_upper is not None for row in result.rows)
    width = 21 if ranged else 12
    lines.append(f"  {'r':>7}{'grid':>6}{'loops':>8}{'L^p error':>12}{'[' + pct + ' interval]':>26}{'sup err >=':>12}{'bound':>{width}}{'ratio':>10}  status")
    statuses = result.statuses
    for row in result.rows:
        if row.refused is not None:
            lines.append(f"  {row.r:>7}{row.grid:>6}{'-':>8}  refused: {row.refused}")
            continue
        lp = row.measurement.lp  # type: ignore[union-attr]
        sup = row.measurement.sup  # type: ignore[union-attr]
        interval = f"[{lp.lower:.4g}, {lp.upper:.4g}]"
        sup_shown = "-" if sup is None else f"{sup.value:.4g}"
        lines.append(
            f"  {row.r:>7}{row.grid:>6}{row.loops:>8}{lp.value:>12.4g}{interval:>26}"
            f"{sup_shown:>12}{row.bound_text():>{width}}{row.ratio:>10.4g}  {statuses.get(row.r, '')}"
        )
    if result.bound_kind == "construction":
        lines.extend(_construction_constants(result))
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
