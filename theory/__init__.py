"""The mathematics loopbound checks: targets, moduli of continuity, bounds and rates.

This package knows no construction (dependencies point loopbound → constructions → theory).
Conventions (docs/architecture.md): tensors are ``[batch, N, d]`` with tokens on dim 1; input distances are
entrywise 2-norms, output differences entrywise p-norms.
"""

from loopbound.theory.errors import InputError, PrecisionError, TargetError
from loopbound.theory.kinds import ModulusKind

__all__ = ["InputError", "PrecisionError", "TargetError", "ModulusKind"]
