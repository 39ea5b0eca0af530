"""The dtype guard of :class:`loopbound.constructions.blocks.LoopedTransformer`: a construction cast after it
was built to a dtype without the bits it states refuses at forward time (it evaluated silently wrong
before: 0 of 4000 points right), and an input of another dtype than the weights is one line."""

from __future__ import annotations

import pytest
import torch

from loopbound.constructions.blocks import FeedForward, LoopedTransformer, MultiHeadAttention, ResidualBlock
from loopbound.constructions.universal import build_universal
from loopbound.theory.errors import InputError, PrecisionError
from loopbound.theory.targets import builtin_target


@pytest.fixture(scope="module")
def approximator():
    return build_universal(builtin_target("holder", d=1, N=2), 0.25, timestep=True).model


def _inputs(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.rand(64, 2, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(dtype)


def test_a_construction_cast_to_float32_refuses_naming_the_bits() -> None:
    approximator = build_universal(builtin_target("holder", d=1, N=2), 0.25, timestep=True).model  # cast below: its own
    bits = approximator.guarantee.precision_bits
    assert bits > 24  # the premise: float32 cannot hold this construction
    assert approximator(_inputs()).dtype == torch.float64  # built in float64, it computes
    approximator.to(torch.float32)
    with pytest.raises(PrecisionError) as refusal:
        approximator(_inputs(torch.float32))
    message = str(refusal.value)
    assert "\n" not in message
    assert f"needs {bits} bits" in message and "float32 has 24" in message


def test_a_float32_input_to_a_float64_model_is_one_line(approximator) -> None:
    with pytest.raises(InputError) as refusal:
        approximator(_inputs(torch.float32))
    assert not isinstance(refusal.value, PrecisionError)
    message = str(refusal.value)
    assert "\n" not in message and "float32" in message and "float64" in message


def _small_model(precision_bits: int | None) -> LoopedTransformer:
    torch.manual_seed(0)
    block = ResidualBlock(MultiHeadAttention(4, 1, 2, "softmax"), FeedForward(4, 6))
    block = block.to(torch.float64)
    return LoopedTransformer(
        torch.nn.Linear(2, 4, dtype=torch.float64),
        block,
        torch.nn.Linear(4, 1, dtype=torch.float64),
        loops=3,
        precision_bits=precision_bits,
    )


@pytest.mark.parametrize("bits, refused", [(None, False), (24, False), (25, True)])
def test_the_stated_bits_decide_against_the_dtype_held_now(bits, refused) -> None:
    model = _small_model(bits).to(torch.float32)
    X = torch.rand(5, 3, 2, dtype=torch.float32)
    if refused:
        with pytest.raises(PrecisionError, match="needs 25 bits"):
            model(X)
    else:
        assert model(X).dtype == torch.float32


def test_the_check_runs_once_per_forward_not_per_loop(monkeypatch) -> None:
    model = _small_model(30)
    calls = []
    original = LoopedTransformer._check_dtype
    monkeypatch.setattr(LoopedTransformer, "_check_dtype", lambda self, X: calls.append(1) or original(self, X))
    model(torch.rand(5, 3, 2, dtype=torch.float64), loops=50)
    assert len(calls) == 1
