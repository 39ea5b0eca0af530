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
# # Moduli of continuity of the built-in targets
#
# Certified lower bounds on the sequence, token and contextual moduli (Xu & Sato 2024, §3) of every
# built-in target, against the exact moduli where they are known (derived in theory/targets.py) and
# the analytic upper bounds otherwise. Every lower bound is attained by a witness pair re-checked in
# float64 (theory/modulus.py).
#
# Run as a script: `python notebooks/moduli.py [OUT]` writes `moduli.{pdf,png}` and `moduli.json`
# under OUT (default `runs/notebooks/`). `LOOPBOUND_NOTEBOOK_SIZE=paper` uses a 12-point δ grid and
# d = 2, N = 3 (the CI size: 4 points, d = 1, N = 2).

# %%
import json

from loopbound.notebook_setup import notebook_size, output_folder, setup_matplotlib, show

setup_matplotlib()
import matplotlib.pyplot as plt  # noqa: E402

from loopbound.atomic import write_text_atomic  # noqa: E402
from loopbound.figures.modulus import plot_builtin_moduli  # noqa: E402
from loopbound.figures.save import save_figure  # noqa: E402
from loopbound.metadata import with_metadata  # noqa: E402
from loopbound.stages.moduli import builtin_moduli, records, report_lines  # noqa: E402
from loopbound.theory.modulus_search import SearchBudget  # noqa: E402

# Parameters (loopbound.notebook_setup): LOOPBOUND_NOTEBOOK_OUT (as a script, OUT) and LOOPBOUND_NOTEBOOK_SIZE.
OUT = output_folder()
SIZE = notebook_size()
PAPER = SIZE == "paper"
DELTAS = {
    "smoke": [0.03, 0.3],
    "ci": [0.01, 0.03, 0.1, 0.3],
    "paper": [0.01 * 30 ** (k / 11) for k in range(12)],
}[SIZE]
SHAPE = {"d": 2, "N": 3} if PAPER else {"d": 1, "N": 2}
BUDGET = SearchBudget(screen=256, restarts=4, steps=10) if SIZE == "smoke" else SearchBudget()

# %%
results = builtin_moduli(deltas=DELTAS, budget=BUDGET, **SHAPE)
print("\n".join(report_lines(results)))

# %%
figure = plot_builtin_moduli(results)
for suffix in ("pdf", "png"):
    save_figure(figure, OUT / f"moduli.{suffix}", close=False)
show(figure)
plt.close(figure)
write_text_atomic(OUT / "moduli.json", json.dumps(with_metadata({"records": records(results)})))
print(f"figure: {OUT / 'moduli.png'}")
