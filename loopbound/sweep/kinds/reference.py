"""The ``reference_curves`` sweep cell kind: Monte Carlo error/d against k for the reference
estimators of in-context regression, against their closed forms (docs/theory.md §6).

Least squares (numpy, the r → ∞ limit of the looped-GD transformer), averaging and the best
one-step GD, the last two predicted by the looped transformer with one loop (η = 1 and
η* = k/(k + d + 1)). One cell is one dimension d (the sweep's ``d``) and seed, with the whole k
grid; each point has an interval at ``level`` and a verdict under the simultaneous
``family_level`` (Bonferroni over the points), so a correct implementation fails it with
probability ≤ 1 − family_level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from loopbound.constructions.gradient_descent import looped_gd_predict
from loopbound.sweep.cell import Cell, CellKind
from loopbound.sweep.config import FieldError, require_float, require_int
from loopbound.sweep.kinds.looped_gd import RECORD_VERSION
from loopbound.sweep.result import REST, JsonRecord
from loopbound.theory.bounds.regression import ONE_STEP_OPTIMAL_ETA
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.theory.reference_curves import Estimator, ReferencePoint, least_squares_predict, reference_curves_mc

__all__ = [
    "ReferenceParams",
    "ReferenceConfig",
    "ReferencePointRecord",
    "ReferenceResult",
    "transformer_estimators",
    "reference_result",
    "run_reference_cell",
    "KIND",
]


@dataclass(frozen=True)
class ReferenceParams:
    """Examples ``ks`` (the curve), ``prompts`` prompts of ``queries`` queries each per k, and the
    levels: per point (figures) and for the family (the verdict)."""

    ks: tuple[int, ...] = (5, 10, 20, 40)
    prompts: int = 8000
    queries: int = 16
    level: float = 0.95
    family_level: float = 0.999

    def __post_init__(self) -> None:
        if not isinstance(self.ks, (list, tuple)) or not self.ks:
            raise FieldError("ks", f"must be a non-empty list of integers >= 1, got {self.ks!r}")
        object.__setattr__(self, "ks", tuple(require_int("ks", k, minimum=1) for k in self.ks))
        require_int("prompts", self.prompts, minimum=2)
        require_int("queries", self.queries, minimum=1)
        for name in ("level", "family_level"):
            if not 0 < require_float(name, getattr(self, name)) < 1:
                raise FieldError(name, f"must be in (0, 1), got {getattr(self, name)!r}")


@dataclass(frozen=True)
class ReferenceConfig(JsonRecord):
    """The settings of a reference-curve result (:class:`ReferenceParams`, d, seed, layout version)."""

    d: int
    ks: tuple[int, ...]
    prompts: int
    queries: int
    level: float
    family_level: float
    seed: int
    version: int


@dataclass(frozen=True)
class ReferencePointRecord(JsonRecord):
    """One point: error/d of ``estimator`` (curve ``curve``) at k examples, its Monte Carlo
    ``mean`` with the interval [``lower``, ``upper``] at ``level`` over ``samples`` prompts, the
    ``closed_form``, the z-score (None where the closed form is 0) and whether it ``agrees`` at the
    family level; ``extra`` holds any further values of the point."""

    curve: str
    d: int
    k: int
    closed_form: float
    estimator: str
    mean: float
    lower: float
    upper: float
    level: float
    samples: int
    seed: int | None
    z: float | None
    agrees: bool
    extra: Mapping[str, Any] = field(default_factory=dict, metadata=REST)


@dataclass(frozen=True)
class ReferenceResult(JsonRecord):
    """A ``reference_curves`` cell's result: the settings, the Bonferroni critical z, every point,
    and whether all agree."""

    kind: str  # "reference_curves"
    config: ReferenceConfig
    z_critical: float
    points: tuple[ReferencePointRecord, ...]
    all_agree: bool


def transformer_estimators(*, device: torch.device | None = None) -> dict[str, Estimator]:
    """The reference estimators as the paper's curves are produced here: averaging and the best
    one-step GD by the looped-GD transformer with one loop (η = 1 and η* = k/(k + d + 1)),
    least squares by numpy's SVD (the r → ∞ limit of the same transformer)."""

    def averaging(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        return looped_gd_predict(X, y, queries, loops=1, eta=1.0, device=device)

    def one_step_gd(X: torch.Tensor, y: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        _, n, d = X.shape
        return looped_gd_predict(
            X, y, queries, loops=1, eta=float(ONE_STEP_OPTIMAL_ETA.evaluate(n=n, d=d)), device=device
        )

    averaging.__qualname__ = "looped GD transformer, 1 loop, eta=1"
    one_step_gd.__qualname__ = "looped GD transformer, 1 loop, eta=k/(k+d+1)"
    return {"least_squares": least_squares_predict, "averaging": averaging, "one_step_gd": one_step_gd}


def reference_result(
    params: ReferenceParams,
    *,
    d: int,
    seed: int,
    device: torch.device | None = None,
    estimators: Mapping[str, Estimator] | None = None,
) -> ReferenceResult:
    """The reference-curve result: every point with its interval, z-score and verdict under the
    simultaneous ``family_level`` (z_crit from Bonferroni over the points)."""
    chosen = transformer_estimators(device=device) if estimators is None else estimators
    with intra_op_threads(1):
        points = reference_curves_mc(
            d,
            params.ks,
            prompts=params.prompts,
            queries=params.queries,
            seed=seed,
            level=params.level,
            estimators=chosen,
            device=device,
        )
    z_critical = ReferencePoint.bonferroni_z(params.family_level, len(points))
    config = {
        "d": d,
        "ks": list(params.ks),
        "prompts": params.prompts,
        "queries": params.queries,
        "level": params.level,
        "family_level": params.family_level,
        "seed": seed,
        "version": RECORD_VERSION,
    }
    return ReferenceResult.from_record(
        {
            "kind": "reference_curves",
            "config": config,
            "z_critical": z_critical,
            "points": [{**p.to_json(), "z": p.z_score(), "agrees": p.consistent(z_critical)} for p in points],
            "all_agree": all(p.consistent(z_critical) for p in points),
        }
    )


def run_reference_cell(cell: Cell) -> ReferenceResult:
    """The cell's reference curves with the transformer's estimators."""
    assert cell.d is not None
    return reference_result(cell.params, d=cell.d, seed=cell.seed, device=resolve_device(cell.device))


KIND = CellKind(
    "reference_curves", run_reference_cell, params=ReferenceParams, common_axes=("d",), result=ReferenceResult
)
