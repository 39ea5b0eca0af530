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
# # The precision wall that timestep scaling removes
#
# The looped universal approximator (constructions/universal.py) stores its value table in fixed
# weights when there is no timestep scaling: one bit per value loop, K ≈ δ^{−(N+1)d} of them
# (Lemma 4.1 regime), so float64 holds it only up to ~50 value loops. With timestep scaling
# (Theorem 4.2) the table lives in the per-loop scales and every weight needs O(log K) bits.
# Panel (a): bits needed against δ for d = 1, N ∈ {1, 2}. Panel (b): the unscaled variant's value
# error bound ε, which shrinks like δ — so the unscaled construction does converge, at a precision
# cost that grows like 1/δ^{N+1}.
#
# Run as a script: `python notebooks/precision_wall.py [OUT]` writes `precision_wall.{pdf,png}`
# and `precision_wall.json` under OUT (default `runs/notebooks/`).
# `LOOPBOUND_NOTEBOOK_SIZE=paper` extends the grid (default `ci`: a few seconds).

# %%
import json
from dataclasses import asdict

from loopbound.notebook_setup import notebook_size, output_folder, setup_matplotlib, show

setup_matplotlib()
import matplotlib.pyplot as plt  # noqa: E402

from loopbound.atomic import write_text_atomic  # noqa: E402
from loopbound.figures.precision import precision_figure  # noqa: E402
from loopbound.figures.save import save_figure  # noqa: E402
from loopbound.metadata import with_metadata  # noqa: E402
from loopbound.stages.precision import precision_rows  # noqa: E402
from loopbound.theory.targets import builtin_target  # noqa: E402

# Parameters (loopbound.notebook_setup): LOOPBOUND_NOTEBOOK_OUT (as a script, OUT) and LOOPBOUND_NOTEBOOK_SIZE.
OUT = output_folder()
SIZE = notebook_size()
GRIDS = {
    "smoke": {1: [2, 4, 8], 2: [2, 4]},
    "ci": {1: [2, 4, 8, 16], 2: [2, 4, 8]},
    "paper": {1: [2, 4, 8, 16, 32, 64], 2: [2, 4, 8, 16, 24]},
}[SIZE]

# %%
rows = {N: precision_rows(builtin_target("smooth", d=1, N=N), GRIDS[N]) for N in GRIDS}
for N, table in rows.items():
    for row in table:
        print(
            f"N={N} δ=1/{row.grid_size:<3} loops={row.loops:<6} bits: timestep {row.bits_timestep:<3} "
            f"unscaled {row.bits_unscaled:<6} ε={row.value_error_bound:.4g}"
        )

# %%
figure = precision_figure(rows)
for suffix in ("pdf", "png"):
    save_figure(figure, OUT / f"precision_wall.{suffix}", close=False)
show(figure)
plt.close(figure)
write_text_atomic(
    OUT / "precision_wall.json",
    json.dumps(with_metadata({"rows": {N: [asdict(r) for r in table] for N, table in rows.items()}})),
)
print(f"figure: {OUT / 'precision_wall.png'}")
