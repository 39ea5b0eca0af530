# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Approximation error against loop count (Xu & Sato 2024, Theorem 3.6 and 4.2)
#
# The paper figure: the universal looped construction's L² error over the uniform cube as the loop
# budget r grows, measured by randomised quasi-Monte Carlo (band: 95% interval over independent
# Sobol scramblings), against Theorem 3.6 for the construction (dashed, derived from the
# construction's own guarantee), with and without timestep scaling. d = 1, N ∈ {1, 2}.
#
# Run as a script: `python notebooks/approximation_rate.py [OUT]` writes
# `approximation_rate.{pdf,png}` and `approximation_rate.json` under OUT (default
# `runs/notebooks/`). The size is small by default so that CI runs it in seconds; set
# `LOOPBOUND_NOTEBOOK_SIZE=paper` for the larger grids (float64 caps the unscaled construction at
# grid 6 for N = 1 and 3 for N = 2 either way: the refusal is printed, not hidden).

# %%
import json

from loopbound.notebook_setup import notebook_size, output_folder, setup_matplotlib, show

setup_matplotlib()

import matplotlib.pyplot as plt  # noqa: E402

from loopbound.atomic import write_text_atomic  # noqa: E402
from loopbound.constructions.universal import loops_for_grid  # noqa: E402
from loopbound.figures.approximation import approximation_figure  # noqa: E402
from loopbound.figures.save import save_figure  # noqa: E402
from loopbound.metadata import with_metadata  # noqa: E402
from loopbound.stages.approximation import approximation_sweep, summary_line  # noqa: E402
from loopbound.sweep import compute  # noqa: E402

# Parameters (loopbound.notebook_setup): LOOPBOUND_NOTEBOOK_OUT (as a script, OUT) and LOOPBOUND_NOTEBOOK_SIZE.
SIZE = notebook_size()
PAPER = SIZE == "paper"
SMOKE = SIZE == "smoke"
OUT = output_folder()
SAMPLES = 1 << 16 if PAPER else 1 << 8 if SMOKE else 1 << 10
GRIDS = {
    (1, False): (2, 3) if SMOKE else (2, 3, 4, 5, 6, 7),  # grid 7 is refused in float64, and says so
    (1, True): (2, 3, 4, 6, 8, 12, 16) if PAPER else (2, 3) if SMOKE else (2, 3, 4, 6),
    (2, False): (2,) if SMOKE else (2, 3),
    (2, True): (2, 3, 4, 6, 8) if PAPER else (2, 3) if SMOKE else (2, 3, 4),
}

# %% [markdown]
# Each (N, variant) is one `approximation_curve` cell of the sweep engine (the verify record at
# the grids' loop budgets, with the verdict over them), computed in this process.

# %%
records = []
for N in (1, 2):
    for timestep in (False, True):
        loops = tuple(loops_for_grid(m, 1, N) for m in GRIDS[N, timestep])
        [result] = compute(
            approximation_sweep(("holder:alpha=0.5",), N=N, timestep=timestep, loops=loops, seed=0, samples=SAMPLES)
        )
        print(summary_line("holder:alpha=0.5", N, timestep, result))
        for row in result.rows:
            if row.refused is not None:
                print(f"  refused: {row.refused}")
        records.append(result)

# %%
figure = approximation_figure(records, columns=2)
for suffix in ("pdf", "png"):
    save_figure(figure, OUT / f"approximation_rate.{suffix}", close=False)
write_text_atomic(
    OUT / "approximation_rate.json", json.dumps(with_metadata({"records": [result.to_record() for result in records]}))
)
print(f"figure: {OUT / 'approximation_rate.pdf'}, {OUT / 'approximation_rate.png'}")
show(figure)
plt.close(figure)
