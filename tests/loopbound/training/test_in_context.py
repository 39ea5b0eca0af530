"""In-context linear regression: the references on the held-out prompts against their exact
values, and (slow) a trained looped model between least squares and averaging at k = 2d."""

from __future__ import annotations

import pytest
import torch

from loopbound.training.config import TrainConfig
from loopbound.training.loop import train
from loopbound.training.tasks import InContextTask


def test_the_references_at_k_2d_match_their_exact_values() -> None:
    """At k = 2d examples: least squares recovers w (error/d at rounding level); averaging has
    E error/d = (d + 1)/k exactly for x, w ~ N(0, I) (E[(S − I)²] = (d + 1)/k · I for
    S = (1/k)Σ x xᵀ); the constant 0 has E error/d = 1. The intervals must contain the exact values."""
    d = 3
    task = InContextTask(TrainConfig("icl:linear", d=d), torch.device("cpu"))
    assert (task.N, task.k, task.tokens) == (7, 6, 14)
    baselines = task.baselines(loops=4)
    assert baselines["least_squares"].upper < 1e-20
    averaging = baselines["averaging"]
    assert averaging.lower <= (d + 1) / 6 <= averaging.upper, averaging
    assert baselines["constant"].lower <= 1.0 <= baselines["constant"].upper
    assert baselines["least_squares"].value < baselines["looped_gd"].value < averaging.value


def test_prompts_interleave_x_and_y_tokens_and_the_loss_reads_the_x_tokens() -> None:
    task = InContextTask(TrainConfig("icl:linear", d=2, N=3), torch.device("cpu"))
    tokens, labels, mask = task.batch(step=0, size=4, active_dim=1)
    assert tokens.shape == (4, 6, 3) and labels.shape == (4, 3, 1) and mask.shape == (4, 6, 6)
    assert torch.equal(tokens[:, 0::2, 2], torch.zeros(4, 3)) and torch.equal(tokens[:, 1::2, :2], torch.zeros(4, 3, 2))
    assert torch.equal(tokens[:, 0::2, 1], torch.zeros(4, 3))  # the curriculum's inactive coordinate
    assert torch.allclose(tokens[:, 1::2, 2], labels[..., 0])
    outputs = torch.zeros(1, 4, 6, 1)
    assert torch.isclose(task.loss(outputs, labels, 1), labels.pow(2).mean())


@pytest.mark.slow
def test_a_trained_looped_model_lies_between_least_squares_and_averaging_at_k_2d() -> None:
    """d = 3 (prompts of 7 pairs, error read at k = 6), width 32, r = 4, 1500 steps at the default
    rate 1e-3: about five minutes on one busy core. Its error/d must be above least squares', and
    below half of averaging's."""
    torch.set_num_threads(1)
    result = train(TrainConfig("icl:linear", model="looped", loops=4, d=3, steps=1500), progress=False)
    assert result.config["lr"] == 1e-3 and result.config["positions"] is True
    error, baselines = result.test_error, result.baselines
    assert baselines["least_squares"].upper < error.lower
    assert error.upper < 0.5 * baselines["averaging"].lower, (error, baselines["averaging"])
