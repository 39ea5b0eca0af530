"""The parameters of the notebooks in notebooks/, read the same way as a script and under a Jupyter kernel.

Each notebook (a py:percent file) runs both ways:

- as a script, ``python notebooks/NAME.py [OUT]`` (what ``loopbound figures`` does): figures are
  drawn off-screen (matplotlib's Agg backend) and written under OUT;
- as a notebook on a Jupyter kernel (``jupytext --to ipynb``, then Jupyter or nbclient): the kernel's
  own command line (``-f kernel.json``) is not the notebook's, so OUT comes only from the environment,
  and figures are shown inline as well as written.

The parameters, from the environment: ``LOOPBOUND_NOTEBOOK_OUT`` (the output folder; a script's
first argument is read only outside a kernel; default ``runs/notebooks``) and
``LOOPBOUND_NOTEBOOK_SIZE`` (``smoke``: seconds, what the tests execute; ``ci``, the default:
the figures in minutes; ``paper``: the paper's sizes).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from loopbound.theory.errors import InputError

__all__ = ["under_kernel", "output_folder", "notebook_size", "setup_matplotlib", "show", "SIZES", "DEFAULT_OUT"]

SIZES = ("smoke", "ci", "paper")
"""The notebook sizes: ``smoke`` (the smallest grids that draw every panel: seconds), ``ci`` (small
grids, minutes in all) and ``paper`` (the paper's figures)."""

DEFAULT_OUT = Path("runs/notebooks")
"""Where a notebook writes when nothing says otherwise (relative to the working directory)."""


def under_kernel() -> bool:
    """True when running on an IPython kernel (Jupyter, nbclient), not as a plain script."""
    return "ipykernel" in sys.modules


def output_folder(argv: list[str] | None = None) -> Path:
    """The folder the notebook writes into, created: ``LOOPBOUND_NOTEBOOK_OUT``, else (as a script
    only) the first command-line argument, else :data:`DEFAULT_OUT`."""
    argv = sys.argv if argv is None else argv
    chosen = os.environ.get("LOOPBOUND_NOTEBOOK_OUT")
    if not chosen and not under_kernel() and len(argv) > 1:
        chosen = argv[1]
    folder = Path(chosen) if chosen else DEFAULT_OUT
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def notebook_size() -> str:
    """``LOOPBOUND_NOTEBOOK_SIZE``: ``smoke``, ``ci`` (default) or ``paper``; anything else is an InputError."""
    size = os.environ.get("LOOPBOUND_NOTEBOOK_SIZE", "ci").strip() or "ci"
    if size not in SIZES:
        raise InputError(f"LOOPBOUND_NOTEBOOK_SIZE must be one of {', '.join(SIZES)}, got {size!r}")
    return size


def setup_matplotlib() -> None:
    """Off-screen drawing (Agg) for a script; a kernel keeps its own (inline) backend. Either way
    the project's figure style (:func:`loopbound.figures.style.use_style`)."""
    if not under_kernel():
        import matplotlib

        matplotlib.use("Agg")
    from loopbound.figures.style import use_style

    use_style()


def show(figure: Any) -> None:
    """Show ``figure`` inline under a kernel (a script has nowhere to show it: it writes files)."""
    if under_kernel():
        from IPython.display import display

        display(figure)
