"""The three trained models: timestep loops start as the identity, parameter counts, matched
width, the training initialisation and the per-query (causal) key mask of the blocks."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from loopbound.constructions.blocks import FeedForward, MultiHeadAttention, ResidualBlock, init_for_training
from loopbound.theory.errors import InputError
from loopbound.training.config import TrainConfig, config_for_size
from loopbound.training.loop import learning_rate, loops_at, match_parameters
from loopbound.training.models import build_model, matched_width, parameter_count, parameters_of


def _X(B: int = 5, N: int = 3, d: int = 2, seed: int = 1, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.rand(B, N, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_every_loop_of_the_timestep_model_is_exactly_the_identity_at_initialisation() -> None:
    config = TrainConfig("holder", model="timestep", loops=3, d=2, N=3, dtype="float64")
    model = build_model(config, 2, 2)
    X = _X()
    with torch.no_grad():
        direct = model.readout(model.norm(model.embed(X)))  # zero loops
        outputs = [model(X, r)[-1] for r in (1, 2, 5, 17)]
    for output in outputs:
        assert torch.equal(output, direct)
    assert not torch.equal(direct, torch.zeros_like(direct))  # a real output, not an all-zero model


def test_the_looped_model_is_not_the_identity_and_its_output_depends_on_r() -> None:
    config = TrainConfig("holder", model="looped", loops=3, d=2, N=3, dtype="float64")
    model = build_model(config, 2, 2)
    with torch.no_grad():
        assert not torch.equal(model(_X(), 1)[-1], model(_X(), 2)[-1])


def test_forward_returns_the_last_T_loops_and_they_are_the_loops_of_shorter_runs() -> None:
    config = TrainConfig("holder", model="looped", loops=4, d=2, N=3, dtype="float64")
    model = build_model(config, 2, 2)
    with torch.no_grad():
        last = model(_X(), 4, last=3)
        assert last.shape == (3, 5, 3, 2)
        for offset, r in enumerate((2, 3, 4)):
            assert torch.equal(last[offset], model(_X(), r)[-1])
        assert torch.equal(model(_X(), 4, last=2, no_grad_loops=2), last[1:])


def test_parameter_counts_standard_has_r_blocks_looped_one_and_timestep_adds_its_network() -> None:
    d_in, d_out, W = 1, 1, 32
    looped = parameter_count(build_model(TrainConfig("holder", model="looped", loops=8), d_in, d_out))
    standard = parameter_count(build_model(TrainConfig("holder", model="standard", loops=8), d_in, d_out))
    timestep = parameter_count(build_model(TrainConfig("holder", model="timestep", loops=8), d_in, d_out))
    block = 4 * 2 * 16 * W + 2 * 4 * W * W + 4 * W + W  # attention + feed-forward (with biases)
    outside = (d_in + 1) * W + W + (W + 1) * d_out  # embedding, final RMSNorm gain, readout
    assert looped == block + outside
    assert standard == 8 * block + outside
    network = 256 * W + W + W * W + W + W * 4 * W + 4 * W  # sinusoid → Linear → SiLU → Linear; → 4W
    assert timestep == looped + network
    assert parameters_of(TrainConfig("holder", model="standard", loops=8), d_in, d_out) == standard


def test_matched_parameters_give_the_standard_model_a_narrower_width() -> None:
    config = TrainConfig("holder", model="standard", loops=4, d=1, N=2)
    matched = match_parameters(config)
    looped = parameters_of(TrainConfig("holder", model="looped", loops=4, d=1, N=2), 1, 1)
    assert matched.match == "params" and matched.width < config.width
    assert abs(parameters_of(matched, 1, 1) - looped) <= abs(parameters_of(config, 1, 1) - looped)
    neighbours = [dataclasses.replace(matched, width=matched.width + step) for step in (-2, 2)]
    gap = abs(parameters_of(matched, 1, 1) - looped)
    assert all(abs(parameters_of(n, 1, 1) - looped) >= gap for n in neighbours)
    assert matched_width(config, 1, 1, looped) == matched.width


def test_the_training_initialisation_scales_the_residual_projections_by_depth() -> None:
    block = ResidualBlock(MultiHeadAttention(64, 4, 16), FeedForward(64, 256))
    init_for_training(block, depth=8, generator=torch.Generator().manual_seed(0))
    assert abs(float(block.attention.W_Q.detach().std()) - 0.02) < 0.002
    assert abs(float(block.feed_forward.W_out.detach().std()) - 0.02 / 4) < 0.0005
    assert torch.equal(block.feed_forward.b_in, torch.zeros(256, dtype=torch.float64))
    with pytest.raises(InputError):
        init_for_training(block, depth=0)


def test_a_per_query_key_mask_is_causal_and_a_uniform_one_equals_the_two_dimensional_mask() -> None:
    attention = MultiHeadAttention(4, 2, 2)
    with torch.no_grad():
        for weight in (attention.W_Q, attention.W_K, attention.W_V, attention.W_O):
            weight.normal_(generator=torch.Generator().manual_seed(3))
    Z = _X(2, 5, 4)
    keys = torch.tensor([[True, True, False, True, False]] * 2)
    assert torch.equal(attention(Z, keys), attention(Z, keys[:, None, :].expand(2, 5, 5)))
    causal = torch.ones(5, 5, dtype=torch.bool).tril()[None].expand(2, 5, 5)
    changed = Z.clone()
    changed[:, 3:] += 1.0
    first, second = attention(Z, causal), attention(changed, causal)
    assert torch.equal(first[:, :3], second[:, :3]) and not torch.equal(first[:, 3:], second[:, 3:])


def test_schedule_warm_up_cosine_and_the_loop_curriculum() -> None:
    config = TrainConfig("holder", steps=100, warmup=10, lr=1e-3, min_lr_ratio=0.1, loops=8, curriculum=True)
    assert learning_rate(config, 0) == pytest.approx(1e-4)
    assert learning_rate(config, 9) == pytest.approx(1e-3)
    assert learning_rate(config, 99) == pytest.approx(1e-4, rel=1e-2)
    assert [loops_at(config, s) for s in (0, 24, 49, 99)] == [1, 4, 8, 8]
    assert loops_at(dataclasses.replace(config, curriculum=False), 0) == 8


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"model": "deep"}, "model"),
        ({"loops": 0}, "loops"),
        ({"last_loops": 5, "loops": 4}, "last_loops"),
        ({"lr": 0.0}, "lr"),
        ({"width": 2, "heads": 4}, "heads"),
        ({"size": "huge"}, "size"),
    ],
)
def test_bad_configurations_are_input_errors_naming_the_field(fields: dict, message: str) -> None:
    size = fields.pop("size", "tiny")
    with pytest.raises(InputError, match=message):
        config_for_size(size, target="holder", **fields)


def test_defaults_resolve_layers_T_and_injection() -> None:
    standard = TrainConfig("holder", model="standard", loops=6)
    looped = TrainConfig("holder", model="looped", loops=6)
    timestep = TrainConfig("holder", model="timestep", loops=6)
    assert (standard.layers, standard.last_loops, standard.applications) == (6, 1, 6)
    assert (looped.layers, looped.last_loops, looped.inject) == (1, 6, True)
    assert (timestep.inject, TrainConfig("icl:linear", d=3).N) == (False, 7)


def test_in_context_models_carry_positions_and_cube_models_do_not() -> None:
    icl = build_model(TrainConfig("icl:linear", model="looped", loops=2, d=3), 4, 1)
    cube = build_model(TrainConfig("holder", model="looped", loops=2), 1, 1)
    assert icl.positions is not None and tuple(icl.positions.shape) == (14, 32) and cube.positions is None
    X = torch.zeros(2, 14, 4)
    with torch.no_grad():
        out = icl(X)[-1]
    assert not torch.equal(out[:, 0], out[:, 1])  # equal tokens, different positions
