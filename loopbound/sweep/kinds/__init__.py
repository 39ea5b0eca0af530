"""The cell kinds that ship with loopbound, one module each (docs/sweeps.md lists them):

- ``modulus`` (:mod:`~loopbound.sweep.kinds.modulus`): a certified modulus curve of a target;
- ``approximation`` (:mod:`~loopbound.sweep.kinds.approximation`): the universal construction's
  error at one loop budget r;
- ``approximation_curve`` (:mod:`~loopbound.sweep.kinds.approximation_curve`): the same at a list
  of loop budgets, with the verdict over them;
- ``looped_gd`` (:mod:`~loopbound.sweep.kinds.looped_gd`): looped GD on in-context regression;
- ``reference_curves`` (:mod:`~loopbound.sweep.kinds.reference`): the reference estimators;
- ``newton_schulz`` (:mod:`~loopbound.sweep.kinds.newton_schulz`): the Newton–Schulz transformer.
- ``train`` (:mod:`~loopbound.sweep.kinds.train`): a trained model at one loop count r.

Each module defines its kind as ``KIND`` without registering it; :mod:`loopbound.sweep.cells`
registers :data:`SHIPPED_KINDS`. Heavy imports (verify, the constructions' float modules) stay
inside the kinds' functions where a kind does not need them to validate its parameters.
"""

from __future__ import annotations

from loopbound.sweep.cell import CellKind
from loopbound.sweep.kinds import (
    approximation,
    approximation_curve,
    looped_gd,
    modulus,
    newton_schulz,
    reference,
    train,
)

SHIPPED_KINDS: tuple[CellKind, ...] = (
    modulus.KIND,
    approximation.KIND,
    approximation_curve.KIND,
    looped_gd.KIND,
    reference.KIND,
    newton_schulz.KIND,
    train.KIND,
)
"""Every cell kind of this package, registered when :mod:`loopbound.sweep.cells` is imported."""

__all__ = ["SHIPPED_KINDS"]
