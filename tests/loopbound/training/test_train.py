"""Training at tiny size: a trained model beats the constant predictor by 5×, the same seed gives
bit-identical results, a killed run resumes to the same final error, and the command line. (The
error at 2r loops against the error at r is tested at the default size in test_past_r.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from loopbound.theory.errors import InputError
from loopbound.training.config import TrainConfig
from loopbound.training.loop import Trainer, train
from loopbound.training.result import TrainResult
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

TINY = {"d": 1, "N": 2, "width": 16, "batch": 32, "eval_samples": 512, "warmup": 10}


class Killed(Exception):
    """Stands for the process being killed right after a checkpoint."""


@pytest.fixture(scope="module")
def trained() -> TrainResult:
    """A looped model (r = 4, loss over every loop, the loop curriculum) trained 150 steps on the
    Hölder target at width 16; a few seconds on one core."""
    torch.set_num_threads(1)
    config = TrainConfig("holder:alpha=0.5", model="looped", loops=4, steps=150, curriculum=True, **TINY)
    return train(config, progress=False)


def test_a_trained_model_beats_the_constant_predictor_five_times_on_held_out_points(trained: TrainResult) -> None:
    constant = trained.baselines["constant"]
    assert trained.test_error.upper < 0.2 * constant.lower, (trained.test_error, constant)
    assert trained.test_error.lower <= trained.test_error.value <= trained.test_error.upper
    assert trained.params > 0 and trained.tokens_per_second and trained.tokens_per_second > 0


def test_the_same_seed_gives_bit_identical_models_and_errors() -> None:
    config = TrainConfig("contextual_max", model="timestep", loops=2, steps=12, **TINY)
    first, second = Trainer(config, torch.device("cpu")), Trainer(config, torch.device("cpu"))
    for trainer in (first, second):
        for step in range(config.steps):
            trainer.step(step)
    for (name, a), (_, b) in zip(first.model.state_dict().items(), second.model.state_dict().items()):
        assert torch.equal(a, b), name
    assert first.task.evaluate(first.model, 2)[0] == second.task.evaluate(second.model, 2)[0]
    other = Trainer(
        TrainConfig("contextual_max", model="timestep", loops=2, steps=12, seed=1, **TINY), torch.device("cpu")
    )
    other.step(0)
    assert not torch.equal(other.model.embed.weight, first.model.embed.weight)


@pytest.mark.parametrize("past_r", ["none", "random"])
def test_a_run_killed_after_a_checkpoint_resumes_to_the_same_final_error(tmp_path: Path, past_r: str) -> None:
    config = TrainConfig("holder:alpha=0.5", model="looped", loops=2, steps=30, past_r=past_r, **TINY)
    whole = train(config, progress=False)
    path = tmp_path / "run.pt"

    def kill(step: int) -> None:
        if step == 10:
            raise Killed

    with pytest.raises(Killed):
        train(config, checkpoint=path, checkpoint_every=10, progress=False, on_checkpoint=kill)
    assert torch.load(path, weights_only=True)["progress"]["step"] == 10
    with pytest.raises(InputError, match="--resume"):
        train(config, checkpoint=path, progress=False)
    resumed = train(config, checkpoint=path, resume=True, checkpoint_every=10, progress=False)
    assert resumed.test_error == whole.test_error
    assert resumed.test_error_2r == whole.test_error_2r and resumed.train_loss == whole.train_loss
    other = TrainConfig("holder:alpha=0.5", model="looped", loops=2, steps=40, **TINY)
    with pytest.raises(InputError, match="another configuration"):
        train(other, checkpoint=path, resume=True, progress=False)


def test_the_record_round_trips_and_drops_timings(trained: TrainResult) -> None:
    record = json.loads(json.dumps(trained.to_json()))
    assert TrainResult.from_record(record) == trained
    assert trained.without_timings().seconds is None and trained.without_timings().tokens_per_second is None


def test_the_command_prints_the_json_contract(tmp_path: Path) -> None:
    completed = run_cli(
        "train",
        "holder",
        "--model",
        "standard",
        "--loops",
        "2",
        "--steps",
        "5",
        "--width",
        "8",
        "--samples",
        "64",
        "--json",
    )
    assert completed.code == 0, completed.stderr
    payload = json.loads(completed.stdout)
    for key in ("task", "model", "loops", "layers", "params", "steps", "seed", "tokens_per_second", "seconds"):
        assert key in payload
    assert set(payload["test_error"]) >= {"value", "lower", "upper"} and "constant" in payload["baselines"]
    assert (payload["task"], payload["model"], payload["layers"], payload["test_error_2r"]) == (
        "cube",
        "standard",
        2,
        None,
    )


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["nosuch"], "unknown target"),
        (["holder", "--loops", "0"], "--loops"),
        (["holder", "--loops", "2", "--last-loops", "3"], "last_loops"),
        (["holder", "--lr", "-1"], "lr"),
        (["holder", "--device", "cuda:7"], "cuda"),
        (["icl:linear", "--N", "1"], "N"),
        (["holder", "--model", "standard", "--past-r", "window"], "past_r"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli("train", *argv, "--steps", "1"), fragment)
