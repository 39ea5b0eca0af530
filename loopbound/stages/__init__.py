"""The stages of ``loopbound run``, one module each, in the order they run (:data:`STAGES`):

- :mod:`~loopbound.stages.moduli`: the moduli of the built-in targets;
- :mod:`~loopbound.stages.approximation`: the universal construction's error against loops;
- :mod:`~loopbound.stages.regression`: looped linear attention as gradient descent;
- :mod:`~loopbound.stages.bounds`: every bound as a LaTeX document with provenance.

A stage is ``stage(out, seed) -> report lines``: it writes its records and figures under ``out``.
:mod:`~loopbound.stages.precision` holds the precision-wall rows of ``notebooks/precision_wall.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loopbound.stages.approximation import approximation_stage
from loopbound.stages.bounds import bounds_stage
from loopbound.stages.moduli import moduli_stage
from loopbound.stages.regression import regression_stage

Stage = Callable[[Path, int], list[str]]
"""Writes a stage's records and figures under the folder, with the seed; returns report lines."""

STAGES: tuple[tuple[str, Stage], ...] = (
    ("moduli", moduli_stage),
    ("approximation", approximation_stage),
    ("regression", regression_stage),
    ("bounds", bounds_stage),
)
"""The stages of ``loopbound run``, in order."""

__all__ = ["Stage", "STAGES", "moduli_stage", "approximation_stage", "regression_stage", "bounds_stage"]
