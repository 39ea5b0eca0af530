"""The ``newton_schulz`` sweep cell kind: the Newton–Schulz transformer's residual ‖I − AX_t‖₂
against ρ₀^{2^t}, and loops to ε against ⌈log₂(ln(1/ε)/ln(1/ρ₀))⌉ and 2log₂κ + log₂ln(1/ε)
(docs/theory.md §6).

One cell is one seed: ``batch`` m×m matrices per κ with singular values geometric from 1 to 1/κ
(random orthogonal factors); ``identity`` start on SPD A = QΛQᵀ with α = 2/(1 + 1/κ),
``transpose`` start on A = QΣPᵀ with α = 1/σ_max² = 1. The bound is compared where
ρ₀^{2^t} ≥ ``check_floor``: the float64 residual carries an absolute rounding of order κ·u. The
kind uses none of the sweep's targets, d, N or p.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from loopbound.constructions.newton_schulz import looped_newton_schulz
from loopbound.sweep.cell import Cell, CellKind
from loopbound.sweep.config import FieldError, require_float, require_float_tuple, require_int
from loopbound.sweep.kinds.looped_gd import RECORD_VERSION, derived_seed
from loopbound.sweep.result import JsonRecord
from loopbound.theory.bounds.regression import (
    NS_LOOPS_KAPPA_SPD,
    NS_LOOPS_KAPPA_TRANSPOSE,
    NS_LOOPS_TO_EPSILON,
    NS_RESIDUAL,
)
from loopbound.theory.numerics import intra_op_threads, resolve_device
from loopbound.theory.regression import loops_to_reach

__all__ = [
    "NewtonSchulzParams",
    "NewtonSchulzConfig",
    "NewtonSchulzRow",
    "NewtonSchulzResult",
    "newton_schulz_result",
    "run_newton_schulz_cell",
    "KIND",
]


@dataclass(frozen=True)
class NewtonSchulzParams:
    """Matrix size ``m``, condition numbers ``kappas`` (> 1), ``batch`` matrices per κ, ``loops``,
    ε for loops to ε, and the floor above which the bound is compared."""

    m: int = 8
    kappas: tuple[float, ...] = (10.0, 100.0, 1000.0)
    batch: int = 16
    loops: int = 30
    epsilon: float = 1e-8
    check_floor: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("m", "batch", "loops"):
            require_int(name, getattr(self, name), minimum=1)
        kappas = require_float_tuple("kappas", self.kappas)
        if any(k <= 1 for k in kappas):
            raise FieldError("kappas", f"must be finite numbers > 1, got {self.kappas!r}")
        object.__setattr__(self, "kappas", kappas)
        for name in ("epsilon", "check_floor"):
            if not 0 < require_float(name, getattr(self, name)) < 1:
                raise FieldError(name, f"must be in (0, 1), got {getattr(self, name)!r}")


@dataclass(frozen=True)
class NewtonSchulzConfig(JsonRecord):
    """The settings of a Newton–Schulz result (:class:`NewtonSchulzParams`, seed, layout version)."""

    m: int
    kappas: tuple[float, ...]
    batch: int
    loops: int
    epsilon: float
    check_floor: float
    seed: int
    version: int


@dataclass(frozen=True)
class NewtonSchulzRow(JsonRecord):
    """One κ and start (``identity`` or ``transpose``, step α): ρ₀ = max ‖I − αAX₀‖₂, the median
    residual ‖I − AX_t‖₂ per loop t against the bound ρ₀^{2^t}, the worst measured/bound where the
    bound ≥ check_floor, loops to ε (worst measured, None if some matrix never reached it) against
    the ρ₀- and κ-forms, and the median residual floor after the last loop."""

    kappa: float
    init: str
    alpha: float
    rho0: float
    residual_median: tuple[float, ...]
    bound: tuple[float, ...]
    max_ratio: float
    loops_measured_max: int | None
    loops_bound: int
    loops_kappa_form: int
    kappa_form: str
    floor_median: float


@dataclass(frozen=True)
class NewtonSchulzResult(JsonRecord):
    """A ``newton_schulz`` cell's result: the settings and a row per κ and start."""

    kind: str  # "newton_schulz"
    config: NewtonSchulzConfig
    rows: tuple[NewtonSchulzRow, ...]


def _matrices(params: NewtonSchulzParams, seed: int, kappa: float, symmetric: bool) -> torch.Tensor:
    rng = np.random.default_rng(derived_seed("newton-schulz", seed, params.m, kappa, symmetric))
    values = np.geomspace(1.0, 1.0 / kappa, params.m)
    Q = np.linalg.qr(rng.standard_normal((params.batch, params.m, params.m)))[0]
    if symmetric:
        A = Q @ (values[None, :, None] * Q.transpose(0, 2, 1))
        A = (A + A.transpose(0, 2, 1)) / 2
    else:
        P = np.linalg.qr(rng.standard_normal((params.batch, params.m, params.m)))[0]
        A = Q @ (values[None, :, None] * P.transpose(0, 2, 1))
    return torch.from_numpy(A)


def _row(params: NewtonSchulzParams, seed: int, kappa: float, init: str, device: torch.device | None) -> dict[str, Any]:
    """One κ and start: the median residual per loop, ρ₀, the bound's worst ratio, loops to ε."""
    A = _matrices(params, seed, kappa, init == "identity")
    alpha = 2.0 / (1.0 + 1.0 / kappa) if init == "identity" else 1.0
    iterates = looped_newton_schulz(A, loops=params.loops, alpha=alpha, init=init, trace=True, device=device)
    eye = torch.eye(params.m, dtype=A.dtype, device=iterates.device)
    residual = torch.linalg.matrix_norm(eye - A.to(iterates.device) @ iterates, ord=2).cpu().numpy()  # [T + 1, B]
    rho0 = float(residual[0].max())
    bound = np.asarray(NS_RESIDUAL.evaluate(rho0=rho0, t=np.arange(params.loops + 1)), dtype=np.float64)
    checked = bound >= params.check_floor
    measured = [loops_to_reach(residual[:, b], params.epsilon) for b in range(params.batch)]
    kappa_form = NS_LOOPS_KAPPA_SPD if init == "identity" else NS_LOOPS_KAPPA_TRANSPOSE
    return {
        "kappa": kappa,
        "init": init,
        "alpha": alpha,
        "rho0": rho0,
        "residual_median": np.median(residual, axis=1).tolist(),
        "bound": bound.tolist(),
        "max_ratio": float((residual[checked] / bound[checked, None]).max()),
        "loops_measured_max": None if any(m is None for m in measured) else max(measured),
        "loops_bound": int(NS_LOOPS_TO_EPSILON.evaluate(rho0=rho0, epsilon=params.epsilon)),
        "loops_kappa_form": int(kappa_form.evaluate(kappa=kappa, epsilon=params.epsilon)),
        "kappa_form": kappa_form.name,
        "floor_median": float(np.median(residual[-1])),
    }


def newton_schulz_result(
    params: NewtonSchulzParams, *, seed: int, device: torch.device | None = None
) -> NewtonSchulzResult:
    """Every κ with both starts (:func:`_row`), and the settings."""
    with intra_op_threads(1):
        rows = [
            _row(params, seed, kappa, init, device) for kappa in params.kappas for init in ("identity", "transpose")
        ]
    config = {
        "m": params.m,
        "kappas": list(params.kappas),
        "batch": params.batch,
        "loops": params.loops,
        "epsilon": params.epsilon,
        "check_floor": params.check_floor,
        "seed": seed,
        "version": RECORD_VERSION,
    }
    return NewtonSchulzResult.from_record({"kind": "newton_schulz", "config": config, "rows": rows})


def run_newton_schulz_cell(cell: Cell) -> NewtonSchulzResult:
    """The cell's Newton–Schulz rows."""
    return newton_schulz_result(cell.params, seed=cell.seed, device=resolve_device(cell.device))


KIND = CellKind(
    "newton_schulz", run_newton_schulz_cell, params=NewtonSchulzParams, common_axes=(), result=NewtonSchulzResult
)
