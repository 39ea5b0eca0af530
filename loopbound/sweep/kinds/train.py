"""The ``train`` sweep cell kind: one trained model (standard, looped or timestep-modulated) at one
loop count r on one target on the cube, measured as ``loopbound train`` measures it.

One cell is one (target, d, N, p, seed, model, r, match): :func:`loopbound.training.loop.train` of the
``size``'s configuration (docs/training.md), the parameters below overriding it. ``match = "width"``
trains every model at ``width``; ``match = "params"`` gives the model the width whose parameter
count is nearest to the one-block looped model's at ``width`` (a standard model of r layers gets
width ≈ W/√r). The result is :class:`~loopbound.training.result.TrainResult` without its timings (a
cell's result is a pure function of the cell; the record carries the wall time). In-context
regression (``icl:linear``) is not a target of the sweep file's ``targets``: train it with
``loopbound train icl:linear``. ``examples/sweeps/train-tiny.toml``::

    cell = "train"
    targets = ["holder:alpha=0.5", "contextual_max"]
    d = 1
    N = 2
    [train]
    model = ["standard", "looped", "timestep"]   # axis
    loops = [1, 2, 4, 8, 16]                       # axis: r
"""

from __future__ import annotations

from dataclasses import dataclass

from loopbound.sweep.cell import Cell, CellKind
from loopbound.sweep.config import FieldError, require_int, require_str
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.training.result import TrainResult

__all__ = ["TrainParams", "run_train_cell", "KIND"]


@dataclass(frozen=True)
class TrainParams:
    """Parameters of a ``train`` cell: the model and loop count (axes), the matching, and the
    training size; None leaves a field to the size (:data:`loopbound.training.config.SIZES`)."""

    model: str
    loops: int
    match: str = "width"
    size: str = "tiny"
    width: int | None = None
    steps: int | None = None
    last_loops: int | None = None
    truncate: bool = False
    curriculum: bool = False
    samples: int | None = None

    def __post_init__(self) -> None:
        from loopbound.training.config import MODELS, SIZES  # here: loopbound.training imports the sweep package

        require_str("model", self.model, choices=MODELS)
        require_int("loops", self.loops, minimum=1)
        require_str("match", self.match, choices=("width", "params"))
        require_str("size", self.size, choices=tuple(SIZES))
        for name in ("width", "steps", "last_loops", "samples"):
            if getattr(self, name) is not None:
                require_int(name, getattr(self, name), minimum=1)
        for name in ("truncate", "curriculum"):
            if not isinstance(getattr(self, name), bool):
                raise FieldError(name, f"must be true or false, got {getattr(self, name)!r}")


def run_train_cell(cell: Cell) -> TrainResult:
    """Train and measure the cell's model on one intra-op thread; its result without timings."""
    from loopbound.training.config import config_for_size
    from loopbound.training.loop import match_parameters, train

    params: TrainParams = cell.params
    device = resolve_device(cell.device)
    config = config_for_size(
        params.size,
        target=cell.target,
        model=params.model,
        loops=params.loops,
        d=cell.d,
        N=cell.N,
        p=cell.p,
        width=params.width,
        steps=params.steps,
        last_loops=params.last_loops,
        truncate=params.truncate,
        curriculum=params.curriculum,
        eval_samples=params.samples,
        seed=cell.seed,
        device=str(device),
    )
    if params.match == "params":
        config = match_parameters(config)
    with intra_op_threads(1):
        return train(config, device=device, progress=False).without_timings()


KIND = CellKind(
    "train",
    run_train_cell,
    params=TrainParams,
    axes=("model", "loops", "match"),
    version="1",
    result=TrainResult,
)
