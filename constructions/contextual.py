"""Contextual mappings: constructions, each with its guarantee, and the checker.

A contextual mapping sends every grid input with distinct tokens to N pairwise distinct values
that no non-permutation input shares (Yun et al. 2020, Def. 3.1; docs/theory.md §5). This module
gathers the public API of the smaller ones:

- :mod:`loopbound.constructions.contextual_check` — :func:`check_contextual_mapping` for any map from grid
  inputs [B, N, d] to values [B, N] (floats, or exact numbers), its
  :class:`ContextualMappingReport`, and the :class:`ContextualGuarantee` record every
  construction states (the grid and its inputs by cell: :mod:`loopbound.constructions.contextual_grid`);
- :mod:`loopbound.constructions.contextual_yun` — Yun et al.'s selective-shift mapping: δ^{−d} + 1 distinct
  hardmax layers with 2 heads of size 1, exact rational weights, separation δ, band [t_l, t_r];
- :mod:`loopbound.constructions.contextual_softmax` — one softmax layer with rank-1 weights through the
  Boltzmann operator (Kajitsuka & Sato 2024) and its exponentially small separation;
  :mod:`loopbound.constructions.contextual_onset` — :func:`softmax_onset`, the inverse temperature
  above which the property holds for good;
- :mod:`loopbound.constructions.contextual_looped` — the looped mapping: one weight-tied hardmax block
  applied N times gives own-token-first contextual ids (separation 1), the one the universal
  approximator fuses.
"""

from loopbound.constructions.contextual_check import (
    ContextualGuarantee,
    ContextualMappingReport,
    check_contextual_mapping,
)
from loopbound.constructions.contextual_grid import (
    canonical_inputs,
    cells_to_fractions,
    cells_to_tensor,
    duplicate_inputs,
    grid_steps,
    points_to_cells,
)
from loopbound.constructions.contextual_looped import build_looped_contextual, looped_contextual_spec
from loopbound.constructions.contextual_onset import (
    SoftmaxOnset,
    collision_point,
    order_violations,
    softmax_onset,
    witness_difference,
)
from loopbound.constructions.contextual_softmax import (
    DEFAULT_INVERSE_TEMPERATURE,
    BoltzmannContextualMapping,
    BoltzmannSpec,
    apply_softmax_block_mp,
    boltzmann_block,
    boltzmann_operator,
    boltzmann_separation_bound,
    boltzmann_spec,
    build_boltzmann,
    sufficient_inverse_temperature,
)
from loopbound.constructions.contextual_yun import (
    SelectiveShiftContextualMapping,
    SelectiveShiftSpec,
    build_selective_shift,
    last_id_range,
    selective_shift_band,
    selective_shift_layers,
    selective_shift_precision_bits,
    selective_shift_spec,
)

__all__ = [
    "ContextualGuarantee",
    "ContextualMappingReport",
    "check_contextual_mapping",
    "canonical_inputs",
    "duplicate_inputs",
    "cells_to_fractions",
    "cells_to_tensor",
    "grid_steps",
    "points_to_cells",
    "SelectiveShiftContextualMapping",
    "SelectiveShiftSpec",
    "build_selective_shift",
    "selective_shift_spec",
    "selective_shift_layers",
    "selective_shift_band",
    "selective_shift_precision_bits",
    "last_id_range",
    "BoltzmannContextualMapping",
    "BoltzmannSpec",
    "SoftmaxOnset",
    "DEFAULT_INVERSE_TEMPERATURE",
    "boltzmann_operator",
    "boltzmann_block",
    "boltzmann_spec",
    "build_boltzmann",
    "boltzmann_separation_bound",
    "sufficient_inverse_temperature",
    "softmax_onset",
    "order_violations",
    "witness_difference",
    "collision_point",
    "apply_softmax_block_mp",
    "build_looped_contextual",
    "looped_contextual_spec",
]
