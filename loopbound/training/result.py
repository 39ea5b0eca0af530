"""The typed result of one training run (a sweep cell's record, and ``loopbound train --json``).

This module imports nothing of loopbound.training, so the ``train`` sweep kind can name the result
type when the sweep package is imported, without an import cycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopbound.sweep.result import JsonRecord

__all__ = ["ErrorValue", "TrainResult"]


@dataclass(frozen=True)
class ErrorValue(JsonRecord):
    """An error estimate ``value`` with its interval [``lower``, ``upper``] at ``level``."""

    value: float
    lower: float
    upper: float
    level: float


@dataclass(frozen=True)
class TrainResult(JsonRecord):
    """A trained model's measured error, with the floor and references it is read against.

    ``test_error``: an **estimate** with its interval — for a cube target the L^p error over the
    cube by randomised QMC (the estimate ``loopbound verify`` reports), for ``icl`` the error/d at
    k = 2d examples with its CLT interval; ``test_error_2r``: the same with the loop count doubled
    (None for the standard model); ``baselines``: ``constant`` (the floor), and for ``icl`` also
    ``least_squares``, ``averaging`` and ``looped_gd`` (the construction at r loops), measured on the
    same held-out data; ``curve``: error/d against k for ``icl``. ``params`` counts every trainable
    parameter (the timestep network included). ``tokens_per_second`` counts training tokens over the
    training steps' wall time; it and ``seconds`` are timings (None in sweep records, whose result
    is a pure function of the cell). ``config``: the resolved :class:`~loopbound.training.config.TrainConfig`."""

    task: str
    target: str
    model: str
    loops: int
    layers: int
    width: int
    d: int
    N: int
    params: int
    steps: int
    seed: int
    test_error: ErrorValue
    test_error_2r: ErrorValue | None
    baselines: Mapping[str, ErrorValue]
    train_loss: float
    curve: Mapping[str, Any] | None
    tokens_per_second: float | None
    seconds: float | None
    device: str
    config: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``loopbound train --json`` (the record, baselines as plain objects)."""
        record = self.to_record()
        record["baselines"] = {name: value.to_record() for name, value in self.baselines.items()}
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TrainResult:
        result = super().from_record(record)
        baselines = {
            name: value if isinstance(value, ErrorValue) else ErrorValue.from_record(value)
            for name, value in result.baselines.items()
        }
        return cls(**{**result.__dict__, "baselines": baselines})

    def without_timings(self) -> TrainResult:
        """The same result with ``tokens_per_second`` and ``seconds`` set to None."""
        return TrainResult(**{**self.__dict__, "tokens_per_second": None, "seconds": None})
