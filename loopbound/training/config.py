"""The configuration of one training run, and the two sizes it ships with.

A :class:`TrainConfig` is everything that determines a trained model and its measured error: the
task (a loopbound target on the cube, or ``icl:linear``, in-context linear regression after Garg et
al. 2022, arXiv 2208.01066 and Yang et al. 2024, arXiv 2311.12424), the model kind and its loop
count r, the widths, the optimiser (AdamW (peak rate 3e-3 on the cube, 1e-3 for in-context regression) with the betas, clipping and decay of the timestep-
modulated looped transformer's public training code: Xu & Sato 2024, arXiv 2410.01405), the loss
over the last T loops, truncation, the curriculum, the seed and the device. It is validated on
construction (a :class:`~loopbound.sweep.config.FieldError`, which is an InputError, naming the
field) and resolved: every default that depends on another field (the layer count, T, input
injection) is filled in, so the saved configuration says what ran.

Two sizes (:data:`SIZES`): ``tiny`` (the default; one model in about a minute on 2 CPU cores) and
``gpu`` (about 8 minutes on one H100, by estimate: **never run**, no GPU was available when it was
written; docs/training.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from loopbound.sweep.config import FieldError, require_float, require_int, require_str

__all__ = ["MODELS", "PAST_R", "SIZES", "ICL_TARGET", "TrainConfig", "config_for_size"]

MODELS: tuple[str, ...] = ("standard", "looped", "timestep")
"""``standard``: L distinct pre-norm blocks; ``looped``: one block applied r times with input
injection; ``timestep``: the looped block modulated per loop (loopbound.training.models)."""

PAST_R: tuple[str, ...] = ("none", "window", "random")
"""How a looped model is trained past r (:class:`TrainConfig`, ``past_r``)."""

ICL_TARGET = "icl:linear"
"""The TARGET spelling of in-context linear regression."""

SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 32, "heads": 2, "batch": 64, "steps": 600, "warmup": 60, "eval_samples": 4096},
    # Not run: no GPU was lent when this was written (docs/training.md, "GPU configuration").
    "gpu": {
        "width": 256,
        "heads": 8,
        "batch": 512,
        "steps": 20000,
        "lr": 1e-3,
        "warmup": 1000,
        "eval_samples": 1 << 16,
    },
}
"""Per-size defaults; fields given explicitly override them."""


@dataclass(frozen=True)
class TrainConfig:
    """One training run (module docstring). ``layers``: distinct blocks (standard: the depth,
    default r; looped and timestep: the blocks of the loop body, default 1). ``last_loops`` T: the
    loss is the mean over the outputs of the last T loops (default r: every loop's output is
    trained, which keeps the model steadier past r than T < r did in our runs; 1 for standard).
    ``truncate``: no gradient through the first r − T loops (Yang et al. 2024). ``past_r``: train
    loop counts past r, so that the model holds its answer there: ``window``: every step runs 2r
    loops and the loss covers the loops r − T + 1 … 2r; ``random``: every step runs ρ loops, ρ
    drawn uniformly from {r, …, 2r}, and the loss covers r − T + 1 … ρ (a loop count drawn per
    step as in Geiping et al. 2025, arXiv 2502.05171); ``none`` (the default): r loops. The model
    is measured at r either way (docs/training.md: with T = 1, ``window`` keeps the error at 2r
    within 1.5× of the error at r at tiny size).
    ``curriculum``: the
    loop count grows linearly from 1 to r over the first half of training, and for ``icl:linear``
    the active dimension from 1 to d (Garg et al. 2022). ``inject``: input injection z ← Block(z + e)
    (default on for looped, off for timestep, whose loops must start as the identity).
    ``positions``: a learned positional embedding added to L₁'s output (default on for
    ``icl:linear``, whose x and y tokens must be paired; off on the cube). For
    ``icl:linear``, ``d`` is the regression dimension and ``N`` the (x, y) pairs per prompt
    (default 2d + 1, so the error at k = 2d examples is measured). ``match``: ``width`` (as given)
    or ``params`` (the width was chosen to match the one-block looped model's parameter count,
    :func:`loopbound.training.loop.match_parameters`)."""

    target: str
    model: str = "looped"
    loops: int = 4
    layers: int | None = None
    d: int = 1
    N: int | None = None
    width: int = 32
    heads: int = 2
    ff_mult: int = 4
    steps: int = 600
    batch: int = 64
    lr: float | None = None
    warmup: int = 60
    min_lr_ratio: float = 0.1
    weight_decay: float = 1e-4
    clip: float = 1.0
    last_loops: int | None = None
    truncate: bool = False
    past_r: str = "none"
    curriculum: bool = False
    inject: bool | None = None
    positions: bool | None = None
    p: float = 2.0
    eval_samples: int = 4096
    scramblings: int = 8
    level: float = 0.95
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    match: str = "width"

    def __post_init__(self) -> None:
        require_str("target", self.target)
        require_str("model", self.model, choices=MODELS)
        require_str("dtype", self.dtype, choices=("float32", "float64"))
        require_str("match", self.match, choices=("width", "params"))
        require_str("device", self.device)
        for name in ("loops", "d", "width", "heads", "ff_mult", "steps", "batch", "scramblings"):
            require_int(name, getattr(self, name), minimum=1)
        for name in ("warmup", "seed"):
            require_int(name, getattr(self, name), minimum=0)
        require_int("eval_samples", self.eval_samples, minimum=2 * self.scramblings)
        if self.lr is None:  # 3e-3 on the cube; in-context regression trained best at 1e-3 (docs/training.md)
            object.__setattr__(self, "lr", 1e-3 if self.is_icl else 3e-3)
        for name in ("lr", "clip", "p"):
            object.__setattr__(self, name, require_float(name, getattr(self, name), positive=True))
        for name in ("weight_decay", "min_lr_ratio"):
            value = require_float(name, getattr(self, name))
            if value < 0:
                raise FieldError(name, f"must be >= 0, got {value!r}")
            object.__setattr__(self, name, value)
        if not 0.5 <= self.level < 1:
            raise FieldError("level", f"must be in [0.5, 1), got {self.level!r}")
        if self.p < 1:
            raise FieldError("p", f"must be >= 1, got {self.p!r}")
        for name in ("truncate", "curriculum"):
            if not isinstance(getattr(self, name), bool):
                raise FieldError(name, f"must be true or false, got {getattr(self, name)!r}")
        require_str("past_r", self.past_r, choices=PAST_R)
        if self.past_r != "none" and self.model == "standard":
            raise FieldError("past_r", "applies to looped and timestep models, not standard")
        self._resolve()

    def _resolve(self) -> None:
        standard = self.model == "standard"
        layers = (self.loops if standard else 1) if self.layers is None else self.layers
        require_int("layers", layers, minimum=1)
        loops = 1 if standard else self.loops
        last = loops if self.last_loops is None else self.last_loops
        require_int("last_loops", last, minimum=1)
        if last > loops:
            raise FieldError("last_loops", f"T = {last} exceeds the loop count {loops}")
        inject = (self.model == "looped") if self.inject is None else self.inject
        if not isinstance(inject, bool):
            raise FieldError("inject", f"must be true or false, got {inject!r}")
        N = (2 * self.d + 1 if self.is_icl else 1) if self.N is None else self.N
        require_int("N", N, minimum=2 if self.is_icl else 1)
        if self.head_dim < 1:
            raise FieldError("heads", f"{self.heads} heads do not fit width {self.width}")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "last_loops", last)
        object.__setattr__(self, "inject", inject)
        positions = self.is_icl if self.positions is None else self.positions
        if not isinstance(positions, bool):
            raise FieldError("positions", f"must be true or false, got {positions!r}")
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "N", N)

    @property
    def is_icl(self) -> bool:
        """Whether the task is in-context linear regression (else a target on the cube)."""
        return self.target == ICL_TARGET

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def applications(self) -> int:
        """Block applications on one forward path: layers × r (standard: layers)."""
        return int(self.layers or 1) * (1 if self.model == "standard" else self.loops)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_for_size(size: str, **fields: Any) -> TrainConfig:
    """A :class:`TrainConfig` with the defaults of ``size`` (``tiny`` or ``gpu``) under ``fields``
    (fields that are None are left to the size or the dataclass)."""
    if size not in SIZES:
        raise FieldError("size", f"must be one of {', '.join(SIZES)}, got {size!r}")
    given = {key: value for key, value in fields.items() if value is not None}
    return TrainConfig(**{**SIZES[size], **given})
