"""Approximation error of a model against a target over the uniform cube: L^p by randomised
quasi-Monte Carlo, sup by search.

The mathematical objects (docs/theory.md §0), for g, f: [0,1]^{N×d} → R^{N×d_out} and the entrywise
p-norm e(X) = ‖g(X) − f(X)‖_p over the N·d_out output entries:

- ‖g − f‖_{L^p} = (∫_{[0,1]^{Nd}} e(X)^p dX)^{1/p}: :func:`measure_error` estimates I = ∫ e^p by
  randomised QMC — R independent Owen-scrambled Sobol sequences (scipy.stats.qmc.Sobol,
  ``scramble=True``) of n = 2^k points each. Each scrambling's mean Î_j is an unbiased estimate of I
  and the Î_j are independent, so Ī = mean_j Î_j with the Student-t interval
  Ī ± t_{(1+level)/2, R−1} s/√R (s the sample standard deviation of the Î_j) is a confidence
  interval for I at the stated level (L'Ecuyer & Lemieux 2002; Owen 1997). The L^p error and its
  interval are Ī^{1/p} and [max(0, lo)^{1/p}, hi^{1/p}] (a monotone map keeps the coverage).
  The interval is an *estimate* of uncertainty: it assumes the Î_j are roughly normal, which holds
  well for n ≳ 10³ unless e^p has rare huge values (then raise n or R).

  **Scale invariance.** e(X) is computed with scaling (:func:`loopbound.theory.norms.entrywise_p_norm`:
  the largest entry divided out before the p-th powers), and I is never formed: with s the largest
  pointwise error over all points (kept as a running maximum across chunks, the partial sums
  rescaled by (s_old/s_new)^p when it grows), the replicates are Î'_j = Î_j / s^p, means of
  (e/s)^p ∈ [0, 1] with at least one term equal to 1. The Student-t interval is computed on the
  Î'_j and mapped back by ‖g − f‖_{L^p} = s·Ī'^{1/p} (and [s·max(0, lo')^{1/p}, s·hi'^{1/p}]):
  the interval is scale-equivariant, so this is the same interval, but no p ≥ 1 and no output scale
  in float64's range turns a positive error into 0 or a finite one into inf (terms lost to
  underflow are below 2^−1074 of the largest and change nothing).
- sup_X e(X): the largest sampled e(X), refined by a derivative-free local search (the
  constructions are piecewise: gradients are zero or undefined). Every value reported is attained
  at its witness X, so it is a certified **lower** bound on the sup, never an estimate above it.

Evaluation is batched and chunked (at most ``chunk`` inputs in flight), runs on the ``device``
given (the approximant must live there; targets follow their input's device), in the
approximant's dtype (float64 by default), with a tqdm progress bar on long work. The same seed on
the same device gives the same numbers.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import qmc

from loopbound.theory.errors import InputError
from loopbound.theory.norms import check_p, entrywise_p_norm
from loopbound.theory.statistics import t_interval

__all__ = [
    "LpErrorEstimate",
    "SupErrorLowerBound",
    "ErrorMeasurement",
    "measure_error",
    "lp_error",
    "sup_error",
    "pointwise_error",
    "pointwise_norm",
]

Model = Callable[[torch.Tensor], torch.Tensor]

DEFAULT_CHUNK = 8192


@dataclass(frozen=True)
class LpErrorEstimate:
    """An **estimate** of ‖g − f‖_{L^p} over the uniform cube with a **confidence interval**.

    ``value`` = Ī^{1/p}, ``[lower, upper]`` the image of the Student-t interval for I = ∫ e^p at
    ``level`` (module docstring). ``replicates`` are the R per-scrambling estimates of I **divided by
    scale^p**: Î_j = ``scale``^p · ``replicates[j]``, each over ``points_per_scrambling`` scrambled
    Sobol points (scrambling seeds spawned from ``seed``); ``scale`` is the largest pointwise error
    e(X) among the points (0 when every error is 0). So ``value`` = scale · mean(replicates)^{1/p},
    and the interval is the t-interval of the replicates mapped the same way; stored like this
    they neither underflow nor overflow at any output scale or p.
    """

    p: float
    value: float
    lower: float
    upper: float
    level: float
    replicates: tuple[float, ...]
    scale: float
    points_per_scrambling: int
    seed: int
    device: str
    seconds: float
    kind: str = "estimate"
    interval: str = "Student-t over independent Sobol scramblings"

    @property
    def scramblings(self) -> int:
        return len(self.replicates)

    @property
    def samples(self) -> int:
        return self.scramblings * self.points_per_scrambling

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "p": self.p,
            "value": self.value,
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "interval": self.interval,
            "scramblings": self.scramblings,
            "points_per_scrambling": self.points_per_scrambling,
            "replicates": list(self.replicates),
            "scale": self.scale,
            "replicates_are": "per-scrambling estimates of the integral of e^p, divided by scale^p",
            "seed": self.seed,
            "device": self.device,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class SupErrorLowerBound:
    """A certified **lower bound** on sup_X ‖g(X) − f(X)‖_p: ``value`` is attained at ``witness``
    ([N, d], re-evaluated alone in the model's dtype). ``sampled`` is the largest error among the
    QMC samples before the local search; ``evaluations`` counts the search's model calls' inputs."""

    p: float
    value: float
    witness: np.ndarray = field(repr=False)
    sampled: float
    evaluations: int
    seed: int
    kind: str = "lower bound"
    method: str = "largest sampled error, refined by derivative-free local search"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "p": self.p,
            "value": self.value,
            "sampled": self.sampled,
            "witness": self.witness.tolist(),
            "evaluations": self.evaluations,
            "seed": self.seed,
            "method": self.method,
        }


@dataclass(frozen=True)
class ErrorMeasurement:
    """The L^p estimate and (when searched) the sup lower bound of one model against one target."""

    lp: LpErrorEstimate
    sup: SupErrorLowerBound | None

    def to_json(self) -> dict[str, Any]:
        return {"lp": self.lp.to_json(), "sup": None if self.sup is None else self.sup.to_json()}


def pointwise_norm(approximant: Model, target: Model, X: torch.Tensor, p: float) -> torch.Tensor:
    """e(X) = ‖g(X) − f(X)‖_p over the N·d_out entries, per input of the batch X [B, N, d] (a [B]
    tensor), computed with scaling: never 0 for a nonzero difference, never inf for a finite one."""
    with torch.no_grad():
        g = approximant(X)
        f = target(X)
    if g.shape != f.shape:
        raise InputError(f"model output {list(g.shape)} and target output {list(f.shape)} differ in shape")
    difference = g - f.to(dtype=g.dtype, device=g.device)
    values = entrywise_p_norm(difference, p)
    if not bool(torch.isfinite(values).all()):
        bad = int((~torch.isfinite(values)).nonzero()[0, 0])
        raise RuntimeError(
            f"the model or the target returned a non-finite value at input {X[bad].detach().cpu().tolist()}"
        )
    return values


def pointwise_error(approximant: Model, target: Model, X: torch.Tensor, p: float) -> torch.Tensor:
    """e(X)^p = Σ_{n,i} |g(X) − f(X)|_{n,i}^p per input of the batch X [B, N, d] (a [B] tensor).

    The p-th power may underflow or overflow at extreme scales; the estimators here use
    :func:`pointwise_norm` and never form it."""
    return pointwise_norm(approximant, target, X, p).pow(p)


def _points_per_scrambling(samples: int, scramblings: int) -> int:
    if not isinstance(samples, int) or samples < 2:
        raise InputError(f"samples must be an integer >= 2, got {samples!r}")
    if not isinstance(scramblings, int) or scramblings < 2:
        raise InputError(f"scramblings must be an integer >= 2 (the interval needs two or more), got {scramblings!r}")
    per = max(2, math.ceil(samples / scramblings))
    return 1 << (per - 1).bit_length()  # Sobol balance needs a power of two: round up


def _check_level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise InputError(f"level must satisfy 0 < level < 1, got {level!r}")
    return float(level)


def _progress(total: int, enabled: bool | None, label: str):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty() and total >= 1 << 17
    return tqdm(total=total, disable=not enabled, desc=label, unit="pt", leave=False, file=sys.stderr)


def _per_chunk(chunk: int, scramblings: int) -> int:
    """Points per scrambling in one pass, so that at most ``chunk`` inputs are in flight; a power of
    two, so every chunk keeps Sobol's balance."""
    if not isinstance(chunk, int) or chunk < 1:
        raise InputError(f"chunk must be an integer >= 1, got {chunk!r}")
    chunk = 1 << (chunk.bit_length() - 1)
    per_chunk = max(1, chunk // scramblings)
    return 1 << (per_chunk.bit_length() - 1)


class _ScaledSums:
    """Σ (e/scale)^p per scrambling, where scale is the largest pointwise error e seen so far (module
    docstring: scale invariance); earlier sums are rescaled whenever scale grows."""

    def __init__(self, scramblings: int, p: float, device: torch.device) -> None:
        self.p = p
        self.totals = torch.zeros(scramblings, dtype=torch.float64, device=device)
        self.scale = 0.0

    def add(self, errors: torch.Tensor, scramblings: int, size: int) -> None:
        """Add one chunk: ``errors`` [scramblings · size] in float64, scrambling-major."""
        largest = float(errors.max())
        if largest > self.scale:
            if self.scale > 0.0:  # (scale/largest)^p may underflow: those terms are then negligible
                self.totals *= (self.scale / largest) ** self.p
            self.scale = largest
        if self.scale > 0.0:
            self.totals += (errors / self.scale).pow(self.p).reshape(scramblings, size).sum(dim=1)


class _TopInputs:
    """The ``keep`` inputs with the largest pointwise error so far, largest first: the sup search's
    starting points."""

    def __init__(self, keep: int, N: int, d: int, dtype: torch.dtype) -> None:
        self.keep = keep
        self.values = torch.empty(0, dtype=dtype)
        self.points = torch.empty(0, N, d, dtype=dtype)

    def add(self, values: torch.Tensor, X: torch.Tensor) -> None:
        top = torch.topk(values, min(self.keep, values.numel()))
        self.values = torch.cat([self.values, top.values.detach().cpu().to(self.values.dtype)])
        self.points = torch.cat([self.points, X[top.indices].detach().cpu()])
        order = torch.topk(self.values, min(self.keep, self.values.numel())).indices
        self.values, self.points = self.values[order], self.points[order]


def measure_error(
    approximant: Model,
    target: Model,
    *,
    N: int,
    d: int,
    p: float = 2.0,
    samples: int = 1 << 14,
    scramblings: int = 8,
    level: float = 0.95,
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    chunk: int = DEFAULT_CHUNK,
    sup_search: bool = True,
    sup_candidates: int = 8,
    sup_steps: int = 20,
    progress: bool | None = None,
) -> ErrorMeasurement:
    """‖g − f‖_{L^p} by randomised QMC (estimate and interval) and, with ``sup_search``, a certified
    lower bound on sup e(X) (module docstring). ``samples`` is the total number of points: each of
    the ``scramblings`` gets ⌈samples/R⌉ rounded up to a power of two. Inputs are built in ``dtype``
    on ``device`` in chunks of at most ``chunk`` points."""
    p = check_p(p)
    level = _check_level(level)
    n = _points_per_scrambling(samples, scramblings)
    per_chunk = _per_chunk(chunk, scramblings)
    device = torch.device("cpu") if device is None else torch.device(device)
    started = time.perf_counter()
    children = np.random.SeedSequence(seed).spawn(scramblings)
    top = _TopInputs(max(1, sup_candidates), N, d, dtype)
    bar = _progress(n * scramblings, progress, "L^p error")
    engines = [qmc.Sobol(d=N * d, scramble=True, seed=np.random.default_rng(child)) for child in children]
    sums = _ScaledSums(scramblings, p, device)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
            done = 0
            while done < n:  # the R scramblings side by side: one model call per chunk
                size = min(per_chunk, n - done)
                points = np.concatenate([engine.random(size) for engine in engines])
                X = torch.from_numpy(points).to(dtype=dtype).reshape(scramblings * size, N, d).to(device)
                values = pointwise_norm(approximant, target, X, p)
                sums.add(values.to(torch.float64), scramblings, size)
                if sup_search:
                    top.add(values, X)
                done += size
                bar.update(size * scramblings)
    finally:
        bar.close()
    replicates = [float(total) / n for total in sums.totals.cpu()]
    lp = _lp_estimate(
        replicates, sums.scale, p=p, level=level, n=n, seed=seed, device=device, seconds=time.perf_counter() - started
    )
    sup = None
    if sup_search:
        sup = sup_error(
            approximant,
            target,
            N=N,
            d=d,
            p=p,
            starts=top.points,
            seed=seed,
            steps=sup_steps,
            device=device,
            dtype=dtype,
            sampled=float(top.values[0]),
        )
    return ErrorMeasurement(lp=lp, sup=sup)


def lp_error(approximant: Model, target: Model, **kwargs: Any) -> LpErrorEstimate:
    """:func:`measure_error` without the sup search; returns the L^p estimate."""
    return measure_error(approximant, target, sup_search=False, **kwargs).lp


def _lp_estimate(
    replicates: list[float],
    scale: float,
    *,
    p: float,
    level: float,
    n: int,
    seed: int,
    device: torch.device,
    seconds: float,
) -> LpErrorEstimate:
    """The estimate from the rescaled replicates Î'_j = Î_j/scale^p: the t-interval of the Î'_j
    (:func:`loopbound.theory.statistics.t_interval`), its lower end clipped at 0, mapped by
    t ↦ scale·t^{1/p} (monotone, so the coverage is kept)."""
    values = np.asarray(replicates, dtype=np.float64)
    interval = t_interval(values, level)
    mean, half = interval.mean, interval.half_width
    low, high = max(0.0, mean - half), mean + half
    return LpErrorEstimate(
        p=p,
        value=scale * mean ** (1.0 / p),
        lower=scale * low ** (1.0 / p),
        upper=scale * high ** (1.0 / p),
        level=level,
        replicates=tuple(float(v) for v in values),
        scale=float(scale),
        points_per_scrambling=n,
        seed=seed,
        device=str(device),
        seconds=seconds,
    )


def sup_error(
    approximant: Model,
    target: Model,
    *,
    N: int,
    d: int,
    p: float = 2.0,
    starts: torch.Tensor | None = None,
    samples: int = 4096,
    seed: int = 0,
    steps: int = 20,
    directions: int = 8,
    initial_step: float = 0.05,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    sampled: float | None = None,
) -> SupErrorLowerBound:
    """A certified lower bound on sup_X ‖g(X) − f(X)‖_p: from ``starts`` [k, N, d] (or the best
    of ``samples`` scrambled Sobol points), a batched derivative-free local search per start — in
    each step ``directions`` random Gaussian moves and the 2Nd coordinate moves of the current step
    length, clipped to the cube; a start moves to its best proposal when that improves its error
    (and its step grows ×1.5, up to 0.5), else its step halves. The best point is re-evaluated alone."""
    p = check_p(p)
    device = torch.device("cpu") if device is None else torch.device(device)
    generator = torch.Generator().manual_seed((int(seed) + 7919) % 2**64)  # torch takes seeds below 2^64
    evaluations = 0
    if starts is None or starts.numel() == 0:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
            points = qmc.Sobol(d=N * d, scramble=True, seed=seed).random(samples)
        X = torch.from_numpy(points).to(dtype=dtype).reshape(-1, N, d)
        values = pointwise_norm(approximant, target, X.to(device), p).cpu()
        evaluations += X.shape[0]
        order = torch.topk(values, min(8, values.numel())).indices
        starts = X[order]
        sampled = float(values[order[0]])
    X = starts.to(dtype=dtype).clone()
    k = X.shape[0]
    best = pointwise_norm(approximant, target, X.to(device), p).cpu()
    evaluations += k
    if sampled is None:
        sampled = float(best.max())
    step = torch.full((k,), float(initial_step), dtype=dtype)
    coordinate = torch.eye(N * d, dtype=dtype).reshape(N * d, N, d)
    moves_unit = torch.cat([coordinate, -coordinate])  # [2Nd, N, d]
    for _ in range(max(0, steps)):
        gaussian = torch.randn(k, directions, N, d, generator=generator, dtype=dtype)
        gaussian = gaussian / gaussian.flatten(2).norm(dim=2).clamp_min(1e-300)[:, :, None, None]
        moves = torch.cat([gaussian, moves_unit.expand(k, -1, -1, -1)], dim=1) * step[:, None, None, None]
        candidates = (X[:, None] + moves).clamp(0.0, 1.0)
        values = pointwise_norm(approximant, target, candidates.reshape(-1, N, d).to(device), p).cpu()
        evaluations += candidates.shape[0] * candidates.shape[1]
        values = values.reshape(k, -1)
        top, index = values.max(dim=1)
        improved = top > best
        X[improved] = candidates[improved, index[improved]]
        best = torch.where(improved, top, best)
        step = torch.where(improved, (step * 1.5).clamp(max=0.5), step * 0.5)
    winner = int(best.argmax())
    witness = X[winner : winner + 1]
    value = float(pointwise_norm(approximant, target, witness.to(device), p).cpu()[0])
    return SupErrorLowerBound(
        p=p, value=value, witness=witness[0].numpy().copy(), sampled=float(sampled), evaluations=evaluations, seed=seed
    )
