"""The stages of ``loopbound run``, one module each, in the order they run (:data:`STAGES`):

- :mod:`~loopbound.stages.moduli`: the moduli of the built-in targets;
- :mod:`~loopbound.stages.approximation`: the universal construction's error against loops;
- :mod:`~loopbound.stages.regression`: looped linear attention as gradient descent;
- :mod:`~loopbound.stages.bounds`: every bound as a LaTeX document with provenance.

A stage is ``stage(context) -> StageReport`` (:mod:`loopbound.stages.report`): given the folder,
seed, scale and a progress callback, it writes its records and figures under the folder and hands
back its report lines, verdict rows, figures and bounds. Each module also keeps
``<name>_stage(out, seed) -> report lines`` at the default scale.
:mod:`~loopbound.stages.precision` holds the precision-wall rows of ``notebooks/precision_wall.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from loopbound.stages.approximation import approximation_report, approximation_stage
from loopbound.stages.bounds import bounds_report, bounds_stage
from loopbound.stages.moduli import moduli_report, moduli_stage
from loopbound.stages.regression import regression_report, regression_stage
from loopbound.stages.report import SCALES, StageContext, StageReport

Stage = Callable[[StageContext], StageReport]
"""Writes a stage's records and figures under ``context.out`` at ``context.scale``; returns its report."""

STAGES: tuple[tuple[str, Stage], ...] = (
    ("moduli", moduli_report),
    ("approximation", approximation_report),
    ("regression", regression_report),
    ("bounds", bounds_report),
)
"""The stages of ``loopbound run``, in order."""

STAGE_NAMES: tuple[str, ...] = tuple(name for name, _ in STAGES)
"""Their names, as ``loopbound run --stages`` takes them."""

__all__ = [
    "Stage",
    "STAGES",
    "STAGE_NAMES",
    "SCALES",
    "StageContext",
    "StageReport",
    "moduli_stage",
    "approximation_stage",
    "regression_stage",
    "bounds_stage",
]
