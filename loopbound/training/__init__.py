"""Trained standard, looped and timestep-modulated looped transformers against loop count
(docs/training.md): the configuration (:mod:`~loopbound.training.config`), the models
(:mod:`~loopbound.training.models`), the tasks (:mod:`~loopbound.training.tasks`), the loop with
checkpoints (:mod:`~loopbound.training.loop`) and the typed result (:mod:`~loopbound.training.result`)."""

from loopbound.training.config import ICL_TARGET, MODELS, SIZES, TrainConfig, config_for_size
from loopbound.training.loop import train
from loopbound.training.models import build_model, matched_width, parameter_count
from loopbound.training.result import TrainResult

__all__ = [
    "ICL_TARGET",
    "MODELS",
    "SIZES",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "config_for_size",
    "matched_width",
    "parameter_count",
    "train",
]
