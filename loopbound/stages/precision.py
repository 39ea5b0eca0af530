"""The precision wall that timestep scaling removes: for a target and a range of grid sizes, the
bits each variant of the universal construction needs, its loops, and the Lemma 4.1 value error
bound ε of the unscaled variant, as rows (``notebooks/precision_wall.py``; its figures are
:mod:`loopbound.figures.precision`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from loopbound.constructions.universal import universal_spec
from loopbound.theory.targets import Target


@dataclass(frozen=True)
class PrecisionRow:
    """One grid size: loops, bits with and without timestep scaling, and ε (per coordinate, max)."""

    target: str
    d: int
    N: int
    grid_size: int
    loops: int
    bits_timestep: int
    bits_unscaled: int
    value_error_bound: float

    @property
    def delta(self) -> float:
        return 1.0 / self.grid_size


def precision_rows(target: Target, grid_sizes: Sequence[int]) -> list[PrecisionRow]:
    """Build both variants as exact specs (no float module, so nothing is refused) per grid size."""
    rows = []
    for m in grid_sizes:
        scaled = universal_spec(target, Fraction(1, m), timestep=True).guarantee
        unscaled = universal_spec(target, Fraction(1, m), timestep=False).guarantee
        rows.append(
            PrecisionRow(
                target=target.spec,
                d=target.d,
                N=target.N,
                grid_size=m,
                loops=scaled.loops,
                bits_timestep=scaled.precision_bits,
                bits_unscaled=unscaled.precision_bits,
                value_error_bound=max(unscaled.value_error_bound),
            )
        )
    return rows
