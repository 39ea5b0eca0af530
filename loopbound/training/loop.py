"""The training loop: AdamW, warm-up and cosine decay, the loss over the last T loops, truncated
backpropagation, the curriculum, checkpoints and resume, and the measured result.

Objective (Yang et al. 2024, arXiv 2311.12424, eq. (3)): with r_s the loop count at step s (r, or
the curriculum's ⌈r·min(1, 2s/S)⌉) and T_s = min(T, r_s), the loss is the mean over the loops
t = r_s − T_s + 1 … r_s of the task's loss of the readout after loop t; with ``truncate`` the first
r_s − T_s loops run without gradients. With ``past_r`` the step runs ρ_s loops, ρ_s = 2r_s
(``window``) or drawn uniformly from {r_s, …, 2r_s} by a generator seeded with (seed, step)
(``random``), and the loss covers the loops r_s − T_s + 1 … ρ_s (:func:`loop_window`). AdamW (Loshchilov & Hutter 2019) with betas (0.9, 0.95),
weight decay on matrices only, gradient norm clipped at ``clip``; the learning rate rises linearly
over ``warmup`` steps, then follows a cosine down to ``min_lr_ratio``·lr. A plain loop, no framework.

**Checkpoints and resume.** Every ``checkpoint_every`` steps the model, the optimiser's state, the
step and the running sums are written atomically to one file with the resolved configuration.
Resuming loads it (refusing a checkpoint of another configuration) and continues; batches are
drawn from generators seeded by (seed, step) and the learning rate is a function of the step, so
on the CPU a resumed run ends bit-identical to an uninterrupted one (tested).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from loopbound.theory.errors import InputError
from loopbound.training.config import TrainConfig
from loopbound.training.models import TrainedTransformer, build_model, matched_width, parameter_count, parameters_of
from loopbound.training.result import TrainResult
from loopbound.training.tasks import CubeTask, InContextTask, make_task, stream_generator

__all__ = ["Trainer", "train", "learning_rate", "loops_at", "loop_window", "dims_at", "match_parameters"]

LOOPS_STREAM = 3
"""The random stream of the loop counts drawn by ``past_r = random`` (the tasks use 0, 1 and 2)."""

OnCheckpoint = Callable[[int], None]


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up to ``lr`` over ``warmup`` steps, then cosine decay to ``min_lr_ratio``·lr at the last step."""
    peak = float(config.lr or 0.0)
    if step < config.warmup:
        return peak * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    floor = config.min_lr_ratio * peak
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _ramp(config: TrainConfig, step: int, full: int) -> int:
    """⌈full·min(1, 2(step + 1)/steps)⌉, at least 1: linear growth over the first half of training."""
    return max(1, math.ceil(full * min(1.0, 2 * (step + 1) / config.steps)))


def loops_at(config: TrainConfig, step: int) -> int:
    """The loop count trained at ``step``: r, or the curriculum's ramp."""
    loops = 1 if config.model == "standard" else config.loops
    return _ramp(config, step, loops) if config.curriculum else loops


def loop_window(config: TrainConfig, step: int) -> tuple[int, int]:
    """(loops run, loops in the loss) at ``step``: (r_s, T_s) (module docstring), or with
    ``past_r`` (ρ_s, T_s + ρ_s − r_s), ρ_s = 2r_s or uniform on {r_s, …, 2r_s}, a function of
    (seed, step) only, so a resumed run draws the same counts."""
    loops = loops_at(config, step)
    last = min(int(config.last_loops or 1), loops)
    if config.past_r == "none":
        return loops, last
    drawn = 2 * loops
    if config.past_r == "random":
        generator = stream_generator(config.seed, LOOPS_STREAM, step)
        drawn = int(torch.randint(loops, 2 * loops + 1, (1,), generator=generator))
    return drawn, last + drawn - loops


def dims_at(config: TrainConfig, step: int) -> int:
    """The active regression dimension at ``step`` (in-context regression with the curriculum)."""
    return _ramp(config, step, config.d) if config.curriculum and config.is_icl else config.d


def match_parameters(config: TrainConfig) -> TrainConfig:
    """``config`` at the width whose parameter count is nearest the looped model's (one block,
    ``config.width``, same task): the matched-parameter comparison."""
    import dataclasses

    task = make_task(config, torch.device("cpu"))
    reference = dataclasses.replace(config, model="looped", layers=None, last_loops=None, inject=None)
    params = parameters_of(reference, task.d_in, task.d_out)
    width = matched_width(config, task.d_in, task.d_out, params)
    return dataclasses.replace(config, width=width, match="params")


def _optimizer(model: TrainedTransformer, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), fused=device.type == "cuda")


@dataclass
class _Progress:
    """What a checkpoint carries beside the weights: the next step and the running sums."""

    step: int = 0
    train_seconds: float = 0.0
    tokens: int = 0
    last_loss: float = math.nan


class Trainer:
    """One training run of ``config`` on ``device``; :meth:`run` returns the :class:`TrainResult`."""

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        self.config, self.device = config, device
        self.task: CubeTask | InContextTask = make_task(config, device)
        self.model = build_model(config, self.task.d_in, self.task.d_out, device=device)
        self.optimizer = _optimizer(self.model, config, device)
        self.progress = _Progress()

    def step(self, step: int) -> float:
        """One optimiser step; returns the loss."""
        config = self.config
        (loops, last), dims = loop_window(config, step), dims_at(config, step)
        X, Y, mask = self.task.batch(step, config.batch, dims)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        outputs = self.model(X, loops, key_mask=mask, last=last, no_grad_loops=loops - last if config.truncate else 0)
        loss = self.task.loss(outputs, Y, dims)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.clip)
        self.optimizer.step()
        return float(loss.detach())

    def save(self, path: Path) -> None:
        from loopbound.atomic import write_atomic

        state = {
            "config": self.config.to_json(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": vars(self.progress),
        }
        write_atomic(path, lambda temporary: torch.save(state, temporary))

    def load(self, path: Path) -> None:
        """Resume from ``path``; a checkpoint of another configuration is an InputError."""
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as error:  # a truncated or foreign file: the user's to remove
            raise InputError(
                f"checkpoint {path} cannot be read ({type(error).__name__}); delete it to start over"
            ) from None
        if state.get("config") != self.config.to_json():
            raise InputError(f"checkpoint {path} belongs to another configuration; use another --checkpoint path")
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.progress = _Progress(**state["progress"])

    def train(self, checkpoint: Path | None, every: int, bar: Any, on_checkpoint: OnCheckpoint | None) -> None:
        """Steps from the saved progress to the last, checkpointing every ``every`` steps."""
        config, progress = self.config, self.progress
        bar.update(progress.step)
        self.model.train()
        while progress.step < config.steps:
            started = time.perf_counter()
            progress.last_loss = self.step(progress.step)
            progress.train_seconds += time.perf_counter() - started
            progress.tokens += config.batch * self.task.tokens
            progress.step += 1
            bar.update(1)
            if progress.step % 10 == 0:
                bar.set_postfix(loss=f"{progress.last_loss:.3g}", refresh=False)
            if checkpoint is not None and (progress.step % every == 0 or progress.step == config.steps):
                self.save(checkpoint)
                if on_checkpoint is not None:
                    on_checkpoint(progress.step)

    def measure(self, seconds: float) -> TrainResult:
        """The test error at r (and at 2r for looped models), the baselines, the throughput."""
        config = self.config
        self.model.eval()
        loops = 1 if config.model == "standard" else config.loops
        error, curve = self.task.evaluate(self.model, loops)
        doubled = None if config.model == "standard" else self.task.evaluate(self.model, 2 * loops)[0]
        train_seconds = self.progress.train_seconds
        return TrainResult(
            task="icl" if config.is_icl else "cube",
            target=config.target,
            model=config.model,
            loops=config.loops,
            layers=int(config.layers or 1),
            width=config.width,
            d=config.d,
            N=int(config.N or 1),
            params=parameter_count(self.model),
            steps=config.steps,
            seed=config.seed,
            test_error=error,
            test_error_2r=doubled,
            baselines=self.task.baselines(loops),
            train_loss=self.progress.last_loss,
            curve=curve,
            tokens_per_second=self.progress.tokens / train_seconds if train_seconds > 0 else None,
            seconds=seconds,
            device=str(self.device),
            config=config.to_json(),
        )


def train(
    config: TrainConfig,
    *,
    device: torch.device | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: int | None = None,
    progress: bool | None = None,
    on_checkpoint: OnCheckpoint | None = None,
) -> TrainResult:
    """Train ``config``'s model and measure it (module docstring). ``checkpoint``: the file to
    write every ``checkpoint_every`` steps (default: a tenth of the steps); ``resume``: continue from
    it when it exists (without ``resume`` an existing checkpoint is refused, so no run is lost).
    ``progress``: a tqdm bar on stderr (None: when stderr is a terminal). ``on_checkpoint(step)``
    is called after each checkpoint is written."""
    from tqdm import tqdm

    started = time.perf_counter()
    device = torch.device(config.device) if device is None else device
    trainer = Trainer(config, device)
    path = None if checkpoint is None else Path(checkpoint)
    if path is not None and path.exists():
        if not resume:
            raise InputError(f"checkpoint {path} exists: pass --resume to continue it, or choose another path")
        trainer.load(path)
    every = checkpoint_every or max(1, config.steps // 10)
    disable = None if progress is None else not progress
    with tqdm(
        total=config.steps, desc=f"train {config.model} r={config.loops}", file=sys.stderr, disable=disable
    ) as bar:
        trainer.train(path, every, bar, on_checkpoint)
    return trainer.measure(time.perf_counter() - started)
