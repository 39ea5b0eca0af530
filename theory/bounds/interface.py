"""What a bound needs from a construction: the interface theory owns and constructions implement.

:func:`loopbound.theory.bounds.construction.construction_terms` reads the constants of the
construction bound (docs/theory.md) through :class:`ConstructionGuarantee`. A construction's guarantee
meets it by structure (it has these attributes); theory never imports a construction.

On the *good set* (inputs off the transition bands with no two tokens in one grid cell) every output
entry n, j of the construction at grid δ = 1/m lies within ``value_error_bound[j]`` (plus
``label_rounding``, where stated) of f at the cell's lower corner; on the band set (measure at most
``band_measure``) every entry is at most ``output_bound`` in absolute value; on the collision set off
the bands (measure at most ``collision_measure``) at most ``collision_output_bound`` where stated,
else ``output_bound``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Protocol, runtime_checkable

__all__ = ["ConstructionGuarantee", "OPTIONAL_FIELDS"]


@runtime_checkable
class ConstructionGuarantee(Protocol):
    """The fields the construction bound reads (module docstring for their meaning).

    Two further fields are read when present (:data:`OPTIONAL_FIELDS`): ``label_rounding`` ρ (the
    rounding of the stored values; 0 if absent) and ``collision_output_bound`` B_C (B if absent);
    ``grid_size`` m and ``sharpness`` M (the quantiser's ramp slope, ∞ if absent) are read by the
    theorem's constants.
    """

    @property
    def delta(self) -> Fraction | float: ...

    @property
    def timestep(self) -> bool: ...

    @property
    def N(self) -> int: ...

    @property
    def d_out(self) -> int: ...

    @property
    def value_error_bound(self) -> Sequence[float] | float: ...

    @property
    def output_bound(self) -> float: ...

    @property
    def band_measure(self) -> float: ...

    @property
    def collision_measure(self) -> float: ...


OPTIONAL_FIELDS = ("label_rounding", "collision_output_bound", "grid_size", "sharpness", "d")
"""Read when the guarantee has them (defaults: ρ = 0, B_C = B, m = 1/δ, M = ∞, d from the target)."""
