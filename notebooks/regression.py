# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # In-context regression by looped linear attention
#
# The paper figure for docs/theory.md §6–§7: one linear-attention layer with von Oswald et al.'s
# weights is one gradient-descent step on the in-context least-squares loss, so looping it r times
# is r steps, and its error obeys |ŷ_r − ŷ_LS| ≤ ‖x_q‖ ρ^r ‖w_LS‖. Panels:
#
# (a) normalised error against loops for n/d ∈ {1, 2, 4, 8} at one covariance condition number,
#     with the bound ρ^r (η = 1/λ_max);
# (b) loops to reach ε against κ(H), with κ ln(1/ε) and (κ/2) ln(1/ε);
# (c) the reference curves error/d against k (Monte Carlo, transformer with one loop) against
#     least squares 1 − k/d, averaging (d+1)/k, one-step GD (d+1)/(k+d+1).
#
# Run as a script: `python notebooks/regression.py [OUT]` writes `regression_figure.{pdf,png}` and
# the records under OUT (default `runs/notebooks/`). `LOOPBOUND_NOTEBOOK_SIZE=paper` uses the full sizes
# (d = 8, 64 prompts per cell, 1500 loops; reference curves with 8000 prompts); the default is
# the small CI size (about 15 s on two CPU cores).

# %%
from loopbound.notebook_setup import notebook_size, output_folder, setup_matplotlib, show

setup_matplotlib()
import matplotlib.pyplot as plt  # noqa: E402

from loopbound.figures.regression import plot_error_curves, plot_loops_to_epsilon, plot_reference_curves  # noqa: E402
from loopbound.figures.save import save_figure  # noqa: E402
from loopbound.stages.regression import sweep_config  # noqa: E402
from loopbound.stages.regression_report import reference_report, sweep_report  # noqa: E402
from loopbound.sweep import Store, compute  # noqa: E402

# Parameters (loopbound.notebook_setup): LOOPBOUND_NOTEBOOK_OUT (as a script, OUT) and LOOPBOUND_NOTEBOOK_SIZE.
SIZE = notebook_size()
PAPER = SIZE == "paper"
SMOKE = SIZE == "smoke"
OUT = output_folder()
SEED = 0

# Two sweeps of the sweep engine (cell kinds looped_gd and reference_curves), computed in this
# process into one results store (the format of `loopbound sweep`: a rerun reads its records).
D, RATIOS, KAPPA, REFERENCE_D = (8, (1, 2, 4, 8), 4.0, 20) if PAPER else (4, (1, 2, 4, 8), 4.0, 20)
if PAPER:
    looped = sweep_config(
        "looped_gd",
        {"ratio": RATIOS, "kappa": KAPPA, "rule": ("max", "optimal"), "instances": 64, "loops": 1500},
        seed=SEED,
        d=D,
    )
    reference_sweep = sweep_config(
        "reference_curves",
        {"ks": (5, 10, 20, 30, 40, 60, 80), "prompts": 8000, "queries": 16},
        seed=SEED,
        d=REFERENCE_D,
    )
else:
    looped = sweep_config(
        "looped_gd",
        {
            "ratio": RATIOS,
            "kappa": KAPPA,
            "rule": ("max", "optimal"),
            "instances": 8 if SMOKE else 24,
            "loops": 100 if SMOKE else 400,
        },
        seed=SEED,
        d=D,
    )
    reference_sweep = sweep_config(
        "reference_curves",
        {"ks": (5, 10) if SMOKE else (5, 10, 20, 40), "prompts": 200 if SMOKE else 1000, "queries": 8},
        seed=SEED,
        d=REFERENCE_D,
    )
store = Store(OUT / "regression")

# %% [markdown]
# ## The sweep: error against loops, per n/d

# %%
records = compute(looped, store=store)
print("\n".join(sweep_report(records)))

# %% [markdown]
# ## The reference curves (Garg et al. 2022, Fig. 2; closed forms derived in theory/bounds/regression.py)

# %%
[reference] = compute(reference_sweep, store=store)
print("\n".join(reference_report(reference)))

# %% [markdown]
# ## The figure

# %%
figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
colours = {1: "C0", 2: "C1", 4: "C2", 8: "C3"}
for ratio in RATIOS:
    cell = [r for r in records if r.config.ratio == ratio and r.config.rule == "max"]
    before = len(axes[0].lines)
    plot_error_curves(cell, ax=axes[0])
    for line in axes[0].lines[before:]:
        line.set_color(colours[ratio])
        line.set_label(f"n/d = {ratio}" if line.get_linestyle() == "-" else "_nolegend_")
    for band in axes[0].collections[-1:]:
        band.set_color(colours[ratio])
axes[0].set_title(f"(a) looped GD, η = 1/λ_max, d = {D}, κ_Σ = {KAPPA:g} (dashed: ρ^r)", fontsize="small")
axes[0].legend(fontsize="x-small")
plot_loops_to_epsilon(records, ax=axes[1])
axes[1].set_title("(b) loops to ε against κ(H)", fontsize="small")
plot_reference_curves(reference, ax=axes[2])
axes[2].set_title(f"(c) reference curves, d = {REFERENCE_D}", fontsize="small")
figure.tight_layout()
for suffix in ("pdf", "png"):
    print(save_figure(figure, OUT / f"regression_figure.{suffix}", close=False))
show(figure)
plt.close(figure)
