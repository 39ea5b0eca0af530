"""Layer and loop budgets as sympy bounds (loopbound.theory.bounds.budgets): each of the construction's
counts equals the size of the block it builds, and its loop count the builder's own; the
construction stays within the theorem's budgets."""

from __future__ import annotations

import pytest
import torch

from loopbound.constructions import universal
from loopbound.theory.bounds.approximation import THEORY_LOOPS
from loopbound.theory.bounds.budgets import (
    BUDGETS,
    CONSTRUCTION_EMBEDDING_WIDTH,
    CONSTRUCTION_FF_WIDTH,
    CONSTRUCTION_HEADS,
    CONSTRUCTION_LOOPS,
    THEORY_EMBEDDING_WIDTH,
    THEORY_FF_WIDTH,
    THEORY_HEADS,
)
from loopbound.theory.targets import CallableTarget, builtin_target


def _two_outputs(X: torch.Tensor) -> torch.Tensor:
    """A permutation-equivariant target with d_out = 2d: each token's x and x²."""
    return torch.cat([X, X**2], dim=-1)


@pytest.mark.parametrize(
    "d, N, m, timestep, two_outputs",
    [
        (1, 1, 3, True, False),
        (2, 1, 2, True, False),
        (3, 2, 2, True, False),
        (1, 2, 3, True, True),
        (1, 1, 4, False, False),
        (2, 1, 2, False, False),
        (1, 2, 2, False, True),
    ],
)
def test_the_construction_sizes_are_the_sizes_of_the_built_block(
    d: int, N: int, m: int, timestep: bool, two_outputs: bool
) -> None:
    target = (
        CallableTarget(d=d, N=N, function=_two_outputs, label="x,x^2")
        if two_outputs
        else builtin_target("holder", d=d, N=N)
    )
    built = universal.build_universal(target, 1.0 / m, timestep=timestep)
    guarantee, block = built.guarantee, built.model.spec.block
    d_out = target.d_out
    # the block as built, not only the guarantee (which takes its sizes from these formulas)
    assert block.width == CONSTRUCTION_EMBEDDING_WIDTH[timestep].evaluate(d=d, d_out=d_out)
    assert len(block.units) == CONSTRUCTION_FF_WIDTH[timestep].evaluate(d=d, d_out=d_out)
    assert len(block.heads) == CONSTRUCTION_HEADS.evaluate(d=d)
    assert built.model.model.loops == CONSTRUCTION_LOOPS.evaluate(m=m, d=d, N=N)
    assert guarantee.parameter_count == built.model.model.parameter_count()
    assert guarantee.embedding_width == CONSTRUCTION_EMBEDDING_WIDTH[timestep].evaluate(d=d, d_out=d_out)
    assert guarantee.ff_width == CONSTRUCTION_FF_WIDTH[timestep].evaluate(d=d, d_out=d_out)
    assert guarantee.heads == CONSTRUCTION_HEADS.evaluate(d=d)
    assert guarantee.loops == CONSTRUCTION_LOOPS.evaluate(m=m, d=d, N=N)
    # within the theorem's block and its loop budget
    assert guarantee.embedding_width <= THEORY_EMBEDDING_WIDTH.evaluate(d=d)
    assert guarantee.ff_width <= THEORY_FF_WIDTH.evaluate(d=d)
    assert guarantee.heads <= THEORY_HEADS.evaluate(d=d)
    assert guarantee.loops <= THEORY_LOOPS.evaluate(delta=1.0 / m, d=d, N=N)


def test_the_closed_form_loop_count_equals_the_builders_on_a_grid_of_sizes() -> None:
    for m in range(2, 12):
        for d in (1, 2, 3):
            for N in range(1, 5):
                if N > m**d or universal.loops_for_grid(m, d, N) >= 2**52:
                    continue
                assert CONSTRUCTION_LOOPS.evaluate(m=m, d=d, N=N) == universal.loops_for_grid(m, d, N), (m, d, N)


def test_every_budget_has_provenance_and_renders_as_latex() -> None:
    for bound in BUDGETS:
        assert bound.provenance.status in ("reconstructed", "derived here")
        assert bound.latex() and bound.derivation
