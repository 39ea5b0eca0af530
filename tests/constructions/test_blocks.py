"""Blocks, the looped transformer, and the spec → module / exact-evaluator pair."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from loopbound.constructions import gadgets
from loopbound.constructions.blocks import (
    FeedForward,
    LoopedTransformer,
    MultiHeadAttention,
    ResidualBlock,
    SinusoidalTimestepModulation,
    TableModulation,
    hardmax,
)
from loopbound.constructions.exact import exact_forward
from loopbound.constructions.spec import BlockSpec, Head, LoopedSpec, Unit, to_module, var
from loopbound.testing import assert_matches_reference
from loopbound.theory.errors import InputError, PrecisionError


def test_hardmax_splits_ties_equally_and_respects_the_mask() -> None:
    scores = torch.tensor([[[1.0, 3.0, 3.0, 2.0]]])
    assert torch.equal(hardmax(scores), torch.tensor([[[0.0, 0.5, 0.5, 0.0]]]))
    mask = torch.tensor([[[True, False, True, True]]])
    assert torch.equal(hardmax(scores, mask), torch.tensor([[[0.0, 0.0, 1.0, 0.0]]]))


def _attention(kind: str, **kwargs) -> MultiHeadAttention:
    torch.manual_seed(0)
    attention = MultiHeadAttention(3, 2, 2, kind, **kwargs)
    for parameter in attention.parameters():
        torch.nn.init.normal_(parameter)
    return attention


@pytest.mark.parametrize("inverse_temperature", [1.0, 10.0, 100.0])
def test_softmax_weights_approach_hardmax_at_the_rate_set_by_the_score_gap(inverse_temperature: float) -> None:
    """Per query row with a unique top score and gap g to the runner-up, the total variation
    between softmax and hardmax weights is at most 2(N − 1)·exp(−λ g)."""
    torch.manual_seed(3)
    Z = torch.rand(4, 5, 3, dtype=torch.float64)
    hard = _attention("hardmax")
    soft = _attention("softmax", inverse_temperature=inverse_temperature)
    scores = hard.weights(Z)  # only to get the shapes
    Q = torch.einsum("hdw,bnw->bhnd", soft.W_Q, Z)
    K = torch.einsum("hdw,bnw->bhnd", soft.W_K, Z)
    raw = Q @ K.transpose(-1, -2)
    top2 = raw.topk(2, dim=-1).values
    gap = top2[..., 0] - top2[..., 1]
    deviation = (soft.weights(Z) - hard.weights(Z)).abs().sum(dim=-1)
    bound = 2 * (scores.shape[-1] - 1) * torch.exp(-inverse_temperature * gap)
    assert bool((gap > 0).all())
    assert bool((deviation <= bound + 1e-12).all())


def test_linear_and_sigmoid_attention_are_unnormalised() -> None:
    Z = torch.rand(2, 4, 3, dtype=torch.float64)
    linear = _attention("linear")
    Q = torch.einsum("hdw,bnw->bhnd", linear.W_Q, Z)
    K = torch.einsum("hdw,bnw->bhnd", linear.W_K, Z)
    torch.testing.assert_close(linear.weights(Z), Q @ K.transpose(-1, -2))
    sigmoid = _attention("sigmoid", inverse_temperature=1.0, sigmoid_bias=-2.0)
    expected = torch.sigmoid(Q @ K.transpose(-1, -2) - 2.0)
    torch.testing.assert_close(sigmoid.weights(Z), expected)


def test_key_mask_removes_keys_for_every_kind() -> None:
    Z = torch.rand(1, 3, 3, dtype=torch.float64)
    mask = torch.tensor([[True, True, False]])
    for kind in ("hardmax", "softmax", "sigmoid", "linear"):
        weights = _attention(kind).weights(Z, mask)
        assert torch.all(weights[..., 2] == 0), kind


def _looped(loops: int = 5, modulation=None) -> LoopedTransformer:
    torch.manual_seed(1)
    block = ResidualBlock(MultiHeadAttention(4, 1, 2, "softmax"), FeedForward(4, 6))
    for parameter in block.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    return LoopedTransformer(
        torch.nn.Linear(2, 4, dtype=torch.float64),
        block,
        torch.nn.Linear(4, 1, dtype=torch.float64),
        loops=loops,
        modulation=modulation,
    )


def test_looping_applies_the_same_block_and_trace_and_capture_agree() -> None:
    model = _looped()
    X = torch.rand(3, 2, 2, dtype=torch.float64)
    out, states = model(X, trace=True)
    assert states.shape == (6, 3, 2, 4)
    Z = model.embed(X)
    for t in range(1, 6):
        Z = model.block(Z)
        torch.testing.assert_close(states[t], Z, rtol=0, atol=0)
    captured = {}
    model(X, capture=lambda t, Z: captured.__setitem__(t, Z.clone()))
    assert sorted(captured) == list(range(6)) and torch.equal(captured[5], states[5])
    torch.testing.assert_close(out, model.readout(states[5]))
    torch.testing.assert_close(model(X, loops=2), model.readout(states[2]))


def test_table_modulation_scales_the_feed_forward_update_per_loop() -> None:
    table = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    model = _looped(loops=2, modulation=TableModulation(table))
    X = torch.rand(1, 2, 2, dtype=torch.float64)
    _, states = model(X, trace=True)
    after_attention = states[1] + model.block.attention(states[1])
    torch.testing.assert_close(states[2], after_attention)  # η(2) = 0: the FF update is removed


def test_zero_initialised_timestep_modulation_starts_as_identity() -> None:
    model = _looped(loops=3, modulation=SinusoidalTimestepModulation(4, frequencies=16, dtype=torch.float64))
    X = torch.rand(2, 2, 2, dtype=torch.float64)
    _, states = model(X, trace=True)
    torch.testing.assert_close(states[3], states[0])


def test_bad_shapes_and_loops_are_input_errors() -> None:
    model = _looped()
    with pytest.raises(InputError, match=r"\[B, N, 2\]"):
        model(torch.rand(2, 3))
    with pytest.raises(InputError, match="loops"):
        model(torch.rand(1, 2, 2, dtype=torch.float64), loops=-1)
    with pytest.raises(InputError, match="attention kind"):
        MultiHeadAttention(2, 1, 1, "cosine")


def _counter_spec() -> LoopedSpec:
    """A tiny hardmax spec: each token's 'count' grows by one per loop; 'big' receives the largest
    input value through attention, and the feed-forward moves it into 'acc' in the same loop."""
    coordinates = ("one", "x", "count", "big", "acc")
    units = [*gadgets.nonnegative(var("one"), {"count": 1}), *gadgets.copy(var("big"), {"big": -1, "acc": 1})]
    head = Head(query=var("one"), key=var("x"), value=var("x"), out={"big": 1})
    block = BlockSpec(coordinates, (head,), tuple(units), attention="hardmax")
    embed = {"one": var("in0") * 0 + 1, "x": var("in0")}
    return LoopedSpec(block, d_in=1, embed=embed, readout=(var("count") + var("acc"),), loops=3)


def test_spec_builds_a_strictly_loaded_module_that_matches_exact_evaluation() -> None:
    spec = _counter_spec()
    model = to_module(spec)
    X = [[Fraction(1, 4)], [Fraction(3, 4)], [Fraction(1, 2)]]
    assert_matches_reference(
        spec, lambda batch: model(torch.tensor(batch, dtype=torch.float64)).tolist(), [X], exact=True
    )
    assert exact_forward(spec, X) == [[Fraction(3) + 3 * Fraction(3, 4)]] * 3


@given(st.lists(st.fractions(min_value=0, max_value=1, max_denominator=64), min_size=1, max_size=4))
def test_exact_and_float_evaluations_agree_on_dyadic_inputs(values: list[Fraction]) -> None:
    spec = _counter_spec()
    X = torch.tensor([[[float(v)] for v in values]], dtype=torch.float64)
    exact = lambda Z: torch.tensor([exact_forward(spec, sample) for sample in Z.tolist()], dtype=torch.float64)  # noqa: E731
    assert_matches_reference(to_module(spec), exact, X, atol=0, rtol=1e-15)


def test_a_dtype_without_the_needed_bits_is_refused() -> None:
    with pytest.raises(PrecisionError, match="needs 40 bits.*float32 has 24"):
        to_module(_counter_spec(), dtype=torch.float32, precision_bits=40)


def test_unknown_coordinates_are_rejected_when_the_spec_is_built() -> None:
    with pytest.raises(ValueError, match="unknown coordinates"):
        BlockSpec(("one",), (), (Unit(var("two"), {"one": 1}),))
