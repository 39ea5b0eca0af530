"""The construction at one grid m, built in the arithmetic ``loopbound verify`` asks for: float64,
or exact rational arithmetic (:mod:`loopbound.constructions.exact_batch`) where float64 cannot hold
the bits the construction needs — and the refusal, as a row, of a grid that cannot be evaluated
(no exact arithmetic in the family, or an estimated time over the row limit)."""

from __future__ import annotations

import dataclasses
import inspect
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

__all__ = ["ARITHMETICS", "GridModel", "PROBE_POINTS", "build_grid", "refuse_slow"]


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
    error: PrecisionError | None = None
    if arithmetic != "exact":
        try:
            result = family.build(target, 1.0 / m, timestep=timestep, dtype=torch.float64, device=device)
            model = result.model if isinstance(result, Built) else result  # a user family may return the module
            if compile and isinstance(getattr(model, "model", None), LoopedTransformer):
                model.model.compile_block()
            return GridModel(model, "float64")
        except PrecisionError as refused:
            error = refused
    if arithmetic != "float64":
        if _accepts_exact(family.build):
            result = family.build(target, 1.0 / m, timestep=timestep, exact=True)
            return GridModel(result.model if isinstance(result, Built) else result, "exact")
        reason = f"construction {family.name} has no exact arithmetic (its build takes no exact=)"
        error = error or PrecisionError(reason)
    message = f"r={first_r} (grid {m}): {' '.join(str(error).split())}"
    return GridModel(refused=message)


PROBE_POINTS = 16
"""Points timed to estimate an exact-arithmetic grid's evaluation time."""


def refuse_slow(
    built: GridModel, m: int, first_r: int, target: Target, sampling: dict[str, Any], limit: float
) -> GridModel:
    """``built`` refused when evaluating it at every measured point (and the sup search's) is
    estimated to take more than ``limit`` seconds: the time of :data:`PROBE_POINTS` random inputs,
    scaled linearly in the number of points."""
    N, d = target.N, target.d
    points = points_measured(sampling["samples"], sampling["scramblings"])
    points += sup_points(N, d) if sampling["sup_search"] else 0
    generator = torch.Generator().manual_seed(int(sampling["seed"]))
    X = torch.rand(PROBE_POINTS, N, d, generator=generator, dtype=torch.float64)
    began = time.perf_counter()
    built.model(X)
    estimate = (time.perf_counter() - began) * points / PROBE_POINTS
    if estimate <= limit:
        return built
    reason = (
        f"r={first_r} (grid {m}): exact arithmetic at {points} points would take about {estimate:.0f} s, "
        f"over the row limit of {limit:.0f} s (fewer --samples, --no-sup, or a higher --row-seconds)"
    )
    return dataclasses.replace(built, refused=reason)
