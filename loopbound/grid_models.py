"""The construction at one grid m, built in the arithmetic ``loopbound verify`` asks for: float64,
or exact rational arithmetic (:mod:`loopbound.constructions.exact_batch`) where float64 cannot hold
the bits the construction needs — and the refusal, as a row, of a grid that cannot be evaluated
(no exact arithmetic in the family, or an estimated time over the row limit)."""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from loopbound.construction_family import ConstructionFamily
from loopbound.constructions.blocks import LoopedTransformer
from loopbound.constructions.built import Built
from loopbound.size_checks import sup_points
from loopbound.theory.errors import PrecisionError
from loopbound.theory.targets import Target
from loopbound.work_estimate import points_measured

__all__ = ["ARITHMETICS", "GridModel", "PROBE_POINTS", "SUP_CALLS", "build_grid", "refuse_slow"]


ARITHMETICS = ("auto", "float64", "exact")
"""``auto``: float64 where the construction's bits fit, exact rational arithmetic past it; ``float64``:
float64 only (a grid beyond it is a refused row); ``exact``: exact arithmetic at every grid."""


@dataclass(frozen=True)
class GridModel:
    """The construction built at one grid m: its model and the arithmetic it is evaluated in, or
    why it was refused (one line)."""

    model: Any = None
    arithmetic: str | None = None
    refused: str | None = None


def _accepts_exact(build: Any) -> bool:
    try:
        return "exact" in inspect.signature(build).parameters
    except (TypeError, ValueError):
        return False


def build_grid(
    family: ConstructionFamily,
    target: Target,
    m: int,
    first_r: int,
    *,
    timestep: bool,
    device: torch.device,
    compile: bool,
    arithmetic: str,
) -> GridModel:
    """The construction at grid m in the arithmetic asked for (``auto``: float64, and exact rational
    arithmetic where float64 cannot hold the bits the construction needs); a PrecisionError is the
    refusal, naming the first r of the grid."""
    error: str | None = None
    try:
        if arithmetic != "exact":
            try:
                result = family.build(target, 1.0 / m, timestep=timestep, dtype=torch.float64, device=device)
                model = result.model if isinstance(result, Built) else result  # a user family may return the module
                if compile and isinstance(getattr(model, "model", None), LoopedTransformer):
                    model.model.compile_block()
                return GridModel(model, "float64")
            except PrecisionError as refused:
                error = " ".join(str(refused).split())
        if arithmetic != "float64":
            if _accepts_exact(family.build):
                result = family.build(target, 1.0 / m, timestep=timestep, exact=True)
                return GridModel(result.model if isinstance(result, Built) else result, "exact")
            lacking = f"construction {family.name} has no exact arithmetic (its build takes no exact=)"
            error = lacking if error is None else f"{error.split(' (beyond float64')[0]}, and {lacking}"
    except OverflowError as overflow:
        error = f"the construction's numbers overflow ({overflow}): the target's values are too large for it"
    except MemoryError:
        error = "out of memory while building it"
    return GridModel(refused=f"r={first_r} (grid {m}): {error}")


PROBE_POINTS = (16, 128)
"""Batch sizes timed (after a one-point warm-up) to estimate an exact-arithmetic grid's evaluation time."""
SUP_CALLS = 21
"""Model calls of the sup-error search (its steps, and the starts), each a small batch."""


def _probe(model: Any, N: int, d: int, seed: int) -> tuple[float, float]:
    """The exact evaluator's cost per call (a) and per point (b), t(n) ≈ a + b·n, from the times
    of two batch sizes after a warm-up call (which compiles the evaluator): its work is mostly per
    loop and column, so a small batch costs nearly as much as a large one and a single probe scaled
    linearly would overestimate many times."""
    generator = torch.Generator().manual_seed(seed)
    model(torch.rand(1, N, d, generator=generator, dtype=torch.float64))
    times = []
    for n in PROBE_POINTS:
        X = torch.rand(n, N, d, generator=generator, dtype=torch.float64)
        began = time.perf_counter()
        model(X)
        times.append(time.perf_counter() - began)
    small, large = PROBE_POINTS
    per_point = max(0.0, (times[1] - times[0]) / (large - small))
    per_call = max(0.0, times[0] - small * per_point)
    return per_call, per_point


def refuse_slow(
    built: GridModel, m: int, first_r: int, target: Target, sampling: dict[str, Any], limit: float
) -> GridModel:
    """``built`` refused when evaluating it at every measured point (and the sup search's) is
    estimated to take more than ``limit`` seconds: calls × a + points × b with a, b from
    :func:`_probe` and one call per chunk of points (and per step of the sup search)."""
    N, d = target.N, target.d
    measured = points_measured(sampling["samples"], sampling["scramblings"])
    calls = math.ceil(measured / int(sampling.get("chunk") or 8192))
    points = measured
    if sampling["sup_search"]:
        points, calls = points + sup_points(N, d), calls + SUP_CALLS
    try:
        per_call, per_point = _probe(built.model, N, d, int(sampling["seed"]))
    except MemoryError:
        return dataclasses.replace(built, refused=f"r={first_r} (grid {m}): out of memory while evaluating it")
    estimate = calls * per_call + points * per_point
    if estimate <= limit:
        return built
    reason = (
        f"r={first_r} (grid {m}): exact arithmetic at {points} points would take about {estimate:.3g} s, "
        f"over the row limit of {limit:.3g} s (fewer --samples, --no-sup, or a higher --row-seconds)"
    )
    return dataclasses.replace(built, refused=reason)
