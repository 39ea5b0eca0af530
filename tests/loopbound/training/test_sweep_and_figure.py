"""The ``train`` sweep cell kind through the engine, and the figure of trained error against r."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from loopbound.figures.training import plot_trained_vs_loops, training_figure
from loopbound.sweep import compute
from loopbound.sweep.cells import expand_cells
from loopbound.sweep.config import SweepConfig
from loopbound.theory.errors import InputError
from loopbound.training.result import TrainResult

PARAMS = {"model": ("looped", "standard"), "loops": (1, 2), "steps": 4, "width": 8, "samples": 64}


def _sweep(**params) -> SweepConfig:
    return SweepConfig(
        name="train-test",
        cell="train",
        targets=("holder",),
        d=(1,),
        N=(2,),
        p=(2.0,),
        seeds=(0,),
        device="cpu",
        params=tuple({**PARAMS, **params}.items()),
    )


@pytest.fixture(scope="module")
def results() -> list[TrainResult]:
    return compute(_sweep())


def test_train_cells_run_through_the_engine_without_timings(results: list[TrainResult]) -> None:
    assert len(results) == 4 and all(isinstance(result, TrainResult) for result in results)
    assert {(result.model, result.loops) for result in results} == {
        (m, r) for m in ("looped", "standard") for r in (1, 2)
    }
    assert all(result.seconds is None and result.tokens_per_second is None for result in results)
    assert len({cell.hash for cell in expand_cells(_sweep())}) == 4


def test_matched_parameters_narrow_the_standard_model() -> None:
    [matched] = compute(_sweep(model="standard", loops=4, match="params", width=16))
    [plain] = compute(_sweep(model="standard", loops=4, width=16))
    assert matched.width < plain.width and matched.config["match"] == "params"


def test_a_bad_train_table_is_refused() -> None:
    with pytest.raises(InputError, match="model"):
        expand_cells(_sweep(model="deep"))


def test_the_figure_draws_one_line_per_model_and_the_floor(results: list[TrainResult], tmp_path: Path) -> None:
    ax = plot_trained_vs_loops(results)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "looped" in labels and "standard (L = r layers)" in labels and "constant predictor" in labels
    construction = [
        {
            "target": "holder",
            "d": 1,
            "N": 2,
            "p": 2.0,
            "timestep": False,
            "bound": {"kind": "construction"},
            "rows": [{"r": 9, "error": 0.1, "lower": 0.09, "upper": 0.11, "bound": 0.5}],
        }
    ]
    ax = plot_trained_vs_loops([r.to_record() for r in results], construction=construction)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "construction (measured)" in labels and "Thm 3.6 bound (construction)" in labels
    figure = training_figure(results)
    figure.savefig(tmp_path / "training.png")
    assert (tmp_path / "training.png").stat().st_size > 0
