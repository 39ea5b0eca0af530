# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Trained looped transformers against loop count, beside the construction and its bound
#
# Standard (L = r distinct pre-norm blocks), looped (one block applied r times with input
# injection) and timestep-modulated looped transformers, trained by AdamW on a target on the cube
# (d = 1, N = 2), their L² test error over the cube (randomised QMC, 95% band) against r, with the
# constant predictor as the floor, and the universal construction's measured error with the
# Theorem 3.6 bound for it on the same axes (docs/training.md).
#
# Run as a script: `python notebooks/training.py [OUT]` writes `training.{pdf,png,json}` under OUT
# (default `runs/notebooks/`). The CI size trains short runs at r ∈ {1, 2, 4} on one target in
# about a minute; `LOOPBOUND_NOTEBOOK_SIZE=paper` trains the tiny configuration (600 steps) at
# r ∈ {1, 2, 4, 8, 16} on two targets (tens of minutes on one CPU core).

# %%
import json

from loopbound.notebook_setup import notebook_size, output_folder, setup_matplotlib

setup_matplotlib()

import torch  # noqa: E402

from loopbound.atomic import write_text_atomic  # noqa: E402
from loopbound.constructions.universal import loops_for_grid  # noqa: E402
from loopbound.figures.save import save_figure  # noqa: E402
from loopbound.figures.training import training_figure  # noqa: E402
from loopbound.metadata import with_metadata  # noqa: E402
from loopbound.stages.approximation import approximation_sweep  # noqa: E402
from loopbound.sweep import SweepConfig, compute  # noqa: E402

torch.set_num_threads(1)
# Parameters (loopbound.notebook_setup): LOOPBOUND_NOTEBOOK_OUT (as a script, OUT) and LOOPBOUND_NOTEBOOK_SIZE.
PAPER = notebook_size() == "paper"
OUT = output_folder()
TARGETS = ("holder:alpha=0.5", "contextual_max") if PAPER else ("holder:alpha=0.5",)
LOOPS = (1, 2, 4, 8, 16) if PAPER else (1, 2, 4)
TRAIN = {} if PAPER else {"steps": 40, "samples": 512}
GRIDS = (2, 3)  # the construction at d = 1, N = 2: float64 holds grids 2 and 3 without timestep scaling

# %% [markdown]
# Each (target, model, r) is one `train` cell of the sweep engine, computed in this process.

# %%
sweep = SweepConfig(
    name="training",
    cell="train",
    targets=TARGETS,
    d=(1,),
    N=(2,),
    p=(2.0,),
    seeds=(0,),
    device="cpu",
    params=tuple({"model": ("standard", "looped", "timestep"), "loops": LOOPS, **TRAIN}.items()),
)
results = compute(sweep)
for result in results:
    print(
        f"{result.target:18s} {result.model:9s} r={result.loops:2d} params={result.params:6d} "
        f"error={result.test_error.value:.4g} constant={result.baselines['constant'].value:.4g}"
    )

# %% [markdown]
# The universal construction (no timestep scaling) at the grids float64 can hold, with the bound.

# %%
loops = tuple(loops_for_grid(m, 1, 2) for m in GRIDS)
construction = {}
for target in TARGETS:
    [record] = compute(approximation_sweep((target,), N=2, timestep=False, loops=loops, seed=0, samples=1 << 10))
    construction[(record.target, record.d, record.N, float(record.p))] = [record]
    for row in record.rows:
        print(f"construction {record.target} r={row.r}: error={row.error} bound={row.bound} {row.refused or ''}")

# %%
figure = training_figure(results, construction=construction)
for suffix in ("pdf", "png"):
    save_figure(figure, OUT / f"training.{suffix}", close=False)
write_text_atomic(OUT / "training.json", json.dumps(with_metadata({"records": [r.to_record() for r in results]})))
print(f"figure: {OUT / 'training.pdf'}, {OUT / 'training.png'}")
