"""Training throughput of ``loopbound train``'s harness against a bare PyTorch loop, in one run.

Both train the same model (a fresh copy from the same seed) on the same batches for ``--steps``
steps: the harness is :meth:`loopbound.training.loop.Trainer.train` (learning-rate schedule, loss
over the last T loops, clipping, progress bar and running sums; no checkpoint); the bare loop is
forward, MSE over the same loops, ``backward``, ``clip_grad_norm_`` and ``AdamW.step`` written
out by hand. The two are timed alternately, ``--repeats`` times each, best time kept, and the
harness's cost is printed as harness time / bare time − 1 (the issue's budget: ≤ 10%).

Usage: ``python benchmarks/training.py [--model looped] [--loops 4] [--steps 100] [--repeats 3]
[--threads 1]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.machine import describe_machine  # noqa: E402
from loopbound.training.config import TrainConfig  # noqa: E402
from loopbound.training.loop import Trainer  # noqa: E402

CPU = torch.device("cpu")


class _NoBar:
    def update(self, count: int) -> None:
        pass

    def set_postfix(self, **_: object) -> None:
        pass


def harness(config: TrainConfig) -> float:
    trainer = Trainer(config, CPU)
    from tqdm import tqdm

    started = time.perf_counter()
    with tqdm(total=config.steps, disable=True) as bar:
        trainer.train(None, config.steps, bar, None)
    return time.perf_counter() - started


def bare(config: TrainConfig) -> float:
    trainer = Trainer(config, CPU)  # the same model, optimiser and data; the loop written out
    model, optimizer, task = trainer.model, trainer.optimizer, trainer.task
    loops, last = config.loops, int(config.last_loops or 1)
    started = time.perf_counter()
    for step in range(config.steps):
        X, Y, mask = task.batch(step, config.batch)
        loss = (model(X, loops, key_mask=mask, last=last) - Y).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="looped", choices=("standard", "looped", "timestep"))
    parser.add_argument("--loops", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainConfig("holder:alpha=0.5", model=args.model, loops=args.loops, d=1, N=2, steps=args.steps)
    times: dict[str, list[float]] = {"harness": [], "bare": []}
    for _ in range(args.repeats):
        times["bare"].append(bare(config))
        times["harness"].append(harness(config))
    tokens = config.batch * 2 * config.steps
    print(describe_machine())
    for name, values in times.items():
        print(
            f"{name:8s} best {min(values):.3f} s  {tokens / min(values):.0f} tokens/s  (runs: {', '.join(f'{v:.3f}' for v in values)})"
        )
    print(f"harness cost: {min(times['harness']) / min(times['bare']) - 1:+.1%} of the bare loop's time")


if __name__ == "__main__":
    main()
