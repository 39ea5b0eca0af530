"""The looped universal approximator: d = 1, N ∈ {1, 2}, δ ∈ {1/2, 1/4, 1/8}, several
built-in targets. At points inside grid cells away from bands and collisions the output equals f at
the cell's representative exactly (up to the reported label rounding) with timestep scaling, and
within the Lemma 4.1 bound without; the loop count is the documented budget; one block object
serves every loop; the precision each variant needs, and refusals."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loopbound.constructions.blocks import ResidualBlock
from loopbound.constructions.universal import (
    build_universal,
    grid_for_loops,
    largest_valid_id,
    loops_for_grid,
    universal_spec,
)
from loopbound.testing import (
    assert_contextual_mapping,
    assert_permutation_equivariant,
    assert_within_guarantee,
)
from loopbound.testing import strategies as lbst
from loopbound.testing.construction_assertions import failure_set
from loopbound.theory.errors import InputError, PrecisionError
from loopbound.theory.targets import CallableTarget, builtin_target

TARGETS = ["holder", "contextual_max", "smooth", "attention"]
DELTAS = [Fraction(1, 2), Fraction(1, 4), Fraction(1, 8)]


def inside_cells(data: st.DataObject, delta: Fraction, N: int, count: int) -> torch.Tensor:
    """Points whose tokens sit in distinct cells, at least δ/10 from every cell edge (off bands)."""
    points = []
    for _ in range(count):
        corners = data.draw(lbst.grid_inputs(delta=delta, d=1, N=N, distinct_tokens=True))
        offsets = torch.tensor(data.draw(st.lists(st.floats(0.1, 0.9), min_size=N, max_size=N)), dtype=torch.float64)
        points.append(corners + offsets[:, None] * float(delta))
    return torch.stack(points)


@settings(max_examples=25)
@given(data=st.data())
def test_timestep_scaling_is_exact_at_the_cell_representative(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(TARGETS))
    N = data.draw(st.sampled_from([1, 2]))
    delta = data.draw(st.sampled_from(DELTAS))
    target = builtin_target(name, d=1, N=N)
    approximator = build_universal(target, delta, timestep=True).model
    X = inside_cells(data, delta, N, 16)
    assert approximator.guarantee.value_error_bound == (0.0,)
    assert_within_guarantee(approximator, target, X, approximator.guarantee)  # within the label rounding


@pytest.mark.parametrize("delta", DELTAS)
@pytest.mark.parametrize("N", [1, 2])
@pytest.mark.parametrize("name", TARGETS)
@settings(max_examples=3)
@given(data=st.data())
def test_without_scaling_the_error_is_within_the_lemma_4_1_bound(
    name: str, N: int, delta: Fraction, data: st.DataObject
) -> None:
    """In float64 where it holds the construction's bits, in exact arithmetic where it does not."""
    target = builtin_target(name, d=1, N=N)
    needs = universal_spec(target, delta, timestep=False).guarantee.precision_bits
    approximator = build_universal(target, delta, timestep=False, exact=needs > 53).model
    X = inside_cells(data, delta, N, 2 if needs > 53 else 16)
    assert_within_guarantee(approximator, target, X, approximator.guarantee)


@pytest.mark.parametrize("N", [1, 2])
def test_without_scaling_at_delta_one_eighth_in_exact_arithmetic(N: int) -> None:
    """Float64 cannot hold the ~K bits of the unscaled value mapping at δ = 1/8: it is refused, and
    the same weights evaluated in rational arithmetic stay within the Lemma 4.1 bound."""
    target = builtin_target("smooth", d=1, N=N)
    with pytest.raises(PrecisionError, match="float64 has 53"):
        build_universal(target, Fraction(1, 8), timestep=False)
    exact = build_universal(target, Fraction(1, 8), timestep=False, exact=True).model
    X = torch.tensor([[[0.06], [0.81]], [[0.44], [0.3]]], dtype=torch.float64)[:, :N]
    assert_within_guarantee(exact, target, X, exact.guarantee)


@pytest.mark.parametrize("N", [1, 2])
@pytest.mark.parametrize("m", [2, 4, 8])
def test_loop_count_is_the_documented_budget_and_one_block_serves_every_loop(N: int, m: int) -> None:
    approximator = build_universal(builtin_target("holder", d=1, N=N), Fraction(1, m), timestep=True).model
    guarantee = approximator.guarantee
    K = largest_valid_id(m, 1, N)
    assert guarantee.loops == (m - 1) + N + K == loops_for_grid(m, 1, N) == approximator.model.loops
    assert (guarantee.quantisation_loops, guarantee.contextual_loops, guarantee.value_loops) == (m - 1, N, K)
    blocks = [module for module in approximator.model.modules() if isinstance(module, ResidualBlock)]
    assert len(blocks) == 1
    calls: list[int] = []
    handle = blocks[0].register_forward_hook(lambda module, args, out: calls.append(id(module)))
    approximator(torch.full((1, N, 1), 0.3, dtype=torch.float64))
    handle.remove()
    assert calls == [id(blocks[0])] * guarantee.loops


def test_grid_for_loops_inverts_the_budget() -> None:
    for N in (1, 2):
        for r in (5, 9, 50, 600, 10_000):
            m = grid_for_loops(r, 1, N)
            if m is None:
                assert loops_for_grid(2, 1, N) > r
                continue
            assert loops_for_grid(m, 1, N) <= r < loops_for_grid(m + 1, 1, N)


@settings(max_examples=15)
@given(data=st.data())
def test_named_capture_points(data: st.DataObject) -> None:
    delta = Fraction(1, 4)
    approximator = build_universal(builtin_target("smooth", d=1, N=2), delta, timestep=True).model
    X = inside_cells(data, delta, 2, 8)
    stages = approximator.stages(X)
    assert torch.equal(stages["grid"], torch.floor(X * 4))
    assert_contextual_mapping(stages["contextual_id"], X, delta=delta)
    assert_permutation_equivariant(lambda Z: approximator.stages(Z)["contextual_id"], X, atol=0)


def test_float32_is_refused_where_float64_works() -> None:
    target = builtin_target("holder", d=1, N=2)
    build_universal(target, Fraction(1, 4), timestep=True, dtype=torch.float64)
    with pytest.raises(PrecisionError, match="float32 has 24"):
        build_universal(target, Fraction(1, 4), timestep=True, dtype=torch.float32)


def test_precision_side_by_side_the_wall_that_timestep_scaling_removes() -> None:
    """Bits against δ: the unscaled value mapping needs about one bit per value loop; with timestep
    scaling the need stays flat."""
    target = builtin_target("smooth", d=1, N=2)
    scaled = [universal_spec(target, Fraction(1, m), timestep=True).guarantee for m in (2, 4, 8, 16)]
    unscaled = [universal_spec(target, Fraction(1, m), timestep=False).guarantee for m in (2, 4, 8, 16)]
    assert all(g.precision_bits <= 53 for g in scaled)
    for g in unscaled:
        assert g.precision_bits >= g.value_loops
    assert unscaled[-1].precision_bits > 4000


def test_value_error_bound_shrinks_with_delta_for_d1() -> None:
    """ε = O(δ) for d = 1, N ≤ 2 (module docstring): the Lemma 4.1 term of Theorem 3.6 vanishes."""
    for N in (1, 2):
        target = builtin_target("smooth", d=1, N=N)
        bounds = [
            universal_spec(target, Fraction(1, m), timestep=False).guarantee.value_error_bound[0]
            for m in (4, 8, 16, 32)
        ]
        assert all(later < earlier for earlier, later in zip(bounds, bounds[1:]))
        assert bounds[-1] < bounds[0] / 4


def test_non_equivariant_targets_are_refused_and_callables_are_checked() -> None:
    with pytest.raises(InputError, match="not permutation-equivariant"):
        build_universal(builtin_target("linear", d=1, N=2), Fraction(1, 4))
    symmetric = CallableTarget(d=1, N=2, function=lambda X: X + X.sum(dim=1, keepdim=True), label="sum")
    assert build_universal(symmetric, Fraction(1, 4), timestep=True).guarantee.equivariance == "checked numerically"


def test_sizes_are_reported_and_below_the_theorem_budget() -> None:
    guarantee = build_universal(builtin_target("holder", d=1, N=2), Fraction(1, 4), timestep=True).guarantee
    assert guarantee.embedding_width <= guarantee.theory_embedding_width
    assert guarantee.ff_width <= guarantee.theory_ff_width
    assert guarantee.heads == 2 and guarantee.head_size == 1  # the theorem's two heads of size 1
    assert 0 < guarantee.band_measure < 1e-6 and guarantee.collision_measure == pytest.approx(0.25)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_widths_follow_the_documented_formulas_and_do_not_depend_on_N(d: int) -> None:
    for N in (1, 2):
        scaled = universal_spec(builtin_target("holder", d=d, N=N), Fraction(1, 2), timestep=True).guarantee
        unscaled = universal_spec(builtin_target("holder", d=d, N=N), Fraction(1, 2), timestep=False).guarantee
        rank = min(1, d - 1)  # the rank coordinate exists for d >= 2 (it is g0 for d = 1)
        assert (scaled.embedding_width, scaled.ff_width) == (4 * d + rank + d + 7, 9 * d + 2 * d * rank + 18)
        assert (unscaled.embedding_width, unscaled.ff_width) == (
            4 * d + rank + 3 * d + 8,
            9 * d + 2 * d * rank + 8 * d + 21,
        )


@pytest.mark.parametrize("timestep", [True, False])
def test_collisions_away_from_bands_stay_within_the_collision_output_bound(timestep: bool) -> None:
    target = builtin_target("smooth", d=1, N=2)
    approximator = build_universal(target, Fraction(1, 4), timestep=timestep, exact=not timestep).model
    torch.manual_seed(0)
    cells = torch.randint(0, 4, (6, 1, 1)).to(torch.float64)
    X = (cells + 0.2 + 0.6 * torch.rand(6, 2, 1, dtype=torch.float64)) / 4  # both tokens in one cell
    band, collision = failure_set(X, delta=Fraction(1, 4), sharpness=approximator.guarantee.sharpness)
    assert bool(collision.all()) and not bool(band.any())
    assert_within_guarantee(approximator, target, X, approximator.guarantee)  # the collision output bound
    assert approximator.guarantee.collision_output_bound <= approximator.guarantee.output_bound
