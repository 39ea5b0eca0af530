"""The all-pairs modulus estimate over a fixed sample set, for every δ at once, tiled.

For samples (x_i, y_i = f(x_i)), i = 1..n, the estimate is

    ω̂(δ) = max { ‖y_i − y_j‖_p : i < j, ‖x_i − x_j‖_2 ≤ δ }     (0 when no pair is that close),

a certified lower bound on the sequence modulus ω_f(δ) when every y_i is f(x_i): each pair is a
genuine pair. The result equals the all-pairs value computed in float64 (a pair whose distance
lies within float64 rounding of δ is counted for the next δ only, so no pair is counted where its
distance might exceed δ; each reported pair's distance is re-checked in exact rational arithmetic).
Every distance and value is computed **with scaling** (:mod:`loopbound.theory.norms`) from the differences of
the data as given, so no data scale in float64's range turns a positive value into 0 or a finite
one into inf. How it gets there fast:

**Rescaling.** The filter below works with squares, so it runs on rescaled copies: x and y are
centred and divided by powers of two (exactly) so that their entries are below 1 in magnitude, and
δ and the staircase are mapped by the same factors (δ² capped at the data's squared diameter, which
no pair exceeds). The filter only discards pairs; values and bins never come from it.

**One GEMM per tile, then a conservative filter.** Write a = ‖x_i − x_j‖², c = κ²‖y_i − y_j‖_2²
with κ = c_p(D_out), so that c ≥ ‖y_i − y_j‖_p² (:func:`loopbound.theory.norms.ball_2_to_p`). Let b_k be the
current best squared p-distance over pairs with a ≤ δ_k² (non-decreasing in k). A pair can improve
the curve only if c > b_{k(a)}, where k(a) is the first bin with δ_k² ≥ a. For any slope s ≥ 0 and
t = min_k (b_k − s δ_k²) we have b_{k(a)} ≥ s a + t, so every useful pair has

    c − s a > t.

The left side is one inner product of augmented features, P_i = (κy_i, √s x_i, r_i, 1) and
Q_j = (−2κy_j, 2√s x_j, 1, r_j) with r = κ²‖y‖² − s‖x‖², so each tile is one fp32 GEMM with
K = D_in + D_out + 2 (2K FLOPs a pair) followed by one max over the tile. The slope s is chosen on
a seed block to minimise the pairs that pass.

**Cancellation.** The GEMM form ‖x‖² + ‖y‖² − 2x·y cancels catastrophically for close pairs,
exactly where small δ looks. The data are centred for the GEMM; the filter threshold is lowered by a
rigorous bound on the fp32 error, (K + 3)·2⁻²⁴·max‖P_i‖·max‖Q_j‖ (rounding of the features plus
the accumulation, Higham Thm 3.4, with 10% slack), so no useful pair is dropped; the features are
scaled by powers of two (exactly) so that fp32 cannot overflow, and a NaN in a tile passes the filter; and every pair that
passes is recomputed from the differences of the data as given, in float64, which is where values
and bins come from. The few pairs near the threshold cost exact work, never accuracy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from tqdm.auto import tqdm

from loopbound.theory.deltas import check_deltas
from loopbound.theory.errors import InputError
from loopbound.theory.norms import ball_2_to_p, check_p, entrywise_p_norm, exact_squared_distance

UNIT_ROUNDOFF_FP32 = 2.0**-24
SEED_POINTS = 256
"""Points whose pairs are all computed exactly first, to start the staircase and pick the slope."""


@dataclass(frozen=True)
class AllPairsPoint:
    """ω̂ at one δ: the value, the sample pair (i, j) attaining it and its input distance."""

    delta: float
    value: float
    pair: tuple[int, int] | None
    distance: float | None


@dataclass(frozen=True)
class AllPairsResult:
    """The all-pairs curve with its cost: ``pairs`` = n(n−1)/2 pairs, of which ``candidates``
    passed the filter and were recomputed in float64."""

    points: tuple[AllPairsPoint, ...]
    n: int
    p: float
    pairs: int
    candidates: int
    seconds: float

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds if self.seconds > 0 else math.inf


def _as_matrix(values: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values)
    tensor = tensor.detach().to(device="cpu", dtype=torch.float64)
    if tensor.dim() < 2:
        raise InputError(f"{name} must have shape [n, ...] with n samples, got {list(tensor.shape)}")
    tensor = tensor.reshape(tensor.shape[0], -1)
    if not bool(torch.isfinite(tensor).all()):
        raise InputError(f"{name} contains NaN or inf")
    return tensor


class _Staircase:
    """Per-bin best output p-distances (in the data's units) with their pairs; bin k holds the pairs
    whose input distance is at most δ_k. ``filter_thresholds`` and :meth:`filter_curve` are the same
    curve in the filter's rescaled, squared units (module docstring)."""

    def __init__(
        self, deltas: torch.Tensor, slack: float, filter_thresholds: torch.Tensor, output_scale: tuple[float, float]
    ) -> None:
        self.deltas = deltas
        self.slack = slack
        self.filter_thresholds = filter_thresholds
        self.output_scale = output_scale
        self.best = torch.zeros(len(deltas), dtype=torch.float64)
        self.pairs = torch.full((len(deltas), 2), -1, dtype=torch.long)

    def update(self, i: torch.Tensor, j: torch.Tensor, distance: torch.Tensor, value: torch.Tensor) -> None:
        """Offer pairs (i, j) with input 2-distance ``distance`` and output p-distance ``value``."""
        # a pair within float64 rounding of a bin edge goes to the next bin: it may then be missed
        # at the edge, never counted where its exact distance exceeds δ
        bins = torch.searchsorted(self.deltas, distance * self.slack)
        keep = bins < len(self.deltas)
        if not bool(keep.any()):
            return
        i, j, value, bins = i[keep], j[keep], value[keep], bins[keep]
        for k in torch.unique(bins).tolist():
            in_bin = (bins == k).nonzero().squeeze(1)
            m = int(torch.argmax(value[in_bin]))
            if value[in_bin[m]] > self.best[k]:
                self.best[k] = value[in_bin[m]]
                self.pairs[k] = torch.stack([i[in_bin[m]], j[in_bin[m]]])

    def cumulative(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(b_k, index of the bin holding it): the monotone curve, in the data's units."""
        values, indices = torch.cummax(self.best, dim=0)
        return values, indices

    def filter_curve(self) -> torch.Tensor:
        """The cumulative curve as squared values of the rescaled outputs (the filter's c units)."""
        values, _ = self.cumulative()
        first, second = self.output_scale
        return (values / first / second) ** 2

    def offset(self, slope: float) -> float:
        """t = min_k (b_k − s δ_k²) in the filter's units."""
        return float((self.filter_curve() - slope * self.filter_thresholds).min())


def _exact(
    x: torch.Tensor, y: torch.Tensor, i: torch.Tensor, j: torch.Tensor, p: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input 2-distance and output p-distance of pairs (i, j), from differences, with scaling."""
    return entrywise_p_norm(x[i] - x[j], 2.0), entrywise_p_norm(y[i] - y[j], p)


def _power_of_two_above(t: torch.Tensor) -> float:
    """The power of two 2^e with max|t| < 2^e (1 for a zero tensor): dividing by it is exact."""
    largest = float(t.abs().max()) if t.numel() else 0.0
    return 1.0 if largest == 0.0 else math.ldexp(1.0, min(math.frexp(largest)[1], 1023))


def _rescaled(t: torch.Tensor) -> tuple[torch.Tensor, tuple[float, float]]:
    """t centred and divided by powers of two (first, second) so that |entries| < 1; the scale
    never overflows while centring (the first division comes before the mean)."""
    first = _power_of_two_above(t)
    centred = t / first
    centred = centred - centred.mean(dim=0)
    second = _power_of_two_above(centred)
    return centred / second, (first, second)


def _seed_pairs(n_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    i, j = torch.triu_indices(n_seed, n_seed, offset=1)
    return i, j


def _choose_slope(a: torch.Tensor, c2: torch.Tensor, staircase: _Staircase) -> float:
    """The slope s ≥ 0 under which the fewest seed pairs pass the filter c − s a > t(s)."""
    values = staircase.filter_curve()
    thresholds = staircase.filter_thresholds
    ratios = (values / thresholds)[(values > 0) & (thresholds > 0)]
    candidates = [0.0]
    if len(ratios):
        low, high = float(ratios.min()), float(ratios.max())
        candidates += ratios.tolist()
        candidates += [low * 10.0**e for e in np.linspace(-2, 4, 25)]
        candidates += [high * 10.0**e for e in np.linspace(0, 4, 9)]
    best_slope, best_count = 0.0, math.inf
    for slope in sorted(set(candidates)):
        count = int((c2 - slope * a > staircase.offset(slope)).sum())
        if count < best_count:
            best_slope, best_count = slope, count
    return best_slope


def _check_samples(
    inputs: np.ndarray | torch.Tensor, outputs: np.ndarray | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The samples as float64 matrices x [n, D_in], y [n, D_out], with n ≥ 2 on both sides."""
    x = _as_matrix(inputs, "inputs")
    y = _as_matrix(outputs, "outputs")
    if x.shape[0] != y.shape[0]:
        raise InputError(f"inputs and outputs must hold the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    n = x.shape[0]
    if n < 2:
        raise InputError(f"the all-pairs estimate needs at least 2 samples, got {n}")
    return x, y


@dataclass(frozen=True)
class _Filter:
    """The fp32 GEMM filter of the module docstring: a pair (i, j) can improve the curve only if
    P_i · Q_j > (t(slope) − margin) · scale, where P and Q are the augmented features scaled by
    powers of two (``scale`` is the product of those factors)."""

    P: torch.Tensor
    Q: torch.Tensor
    slope: float
    margin: float
    scale: float

    def threshold(self, staircase: _Staircase) -> float:
        """The current filter threshold in the scaled tile's units."""
        return (staircase.offset(self.slope) - self.margin) * self.scale


def _seed(
    x_exact: torch.Tensor,
    y_exact: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    kappa: float,
    p: float,
    staircase: _Staircase,
) -> float:
    """Every pair of the first block, exactly, into the staircase; returns the filter's slope."""
    n_seed = min(x.shape[0], SEED_POINTS)
    seed_i, seed_j = _seed_pairs(n_seed)
    seed_distance, seed_value = _exact(x_exact, y_exact, seed_i, seed_j, p)
    staircase.update(seed_i, seed_j, seed_distance, seed_value)
    seed_a = (x[seed_i] - x[seed_j]).pow(2).sum(dim=1)  # the filter's rescaled units
    seed_c2 = kappa**2 * (y[seed_i] - y[seed_j]).pow(2).sum(dim=1)
    return _choose_slope(seed_a, seed_c2, staircase)


def _features(x: torch.Tensor, y: torch.Tensor, kappa: float, slope: float) -> _Filter:
    """The augmented features P, Q in fp32 with the rigorous fp32 error margin (module docstring)."""
    root = math.sqrt(slope)
    r = kappa**2 * y.pow(2).sum(dim=1) - slope * x.pow(2).sum(dim=1)
    ones = torch.ones(x.shape[0], 1, dtype=torch.float64)
    P64 = torch.cat([kappa * y, root * x, r[:, None], ones], dim=1)
    Q64 = torch.cat([-2.0 * kappa * y, 2.0 * root * x, ones, r[:, None]], dim=1)
    features = P64.shape[1]
    margin = (
        1.1
        * (features + 3)
        * UNIT_ROUNDOFF_FP32
        * float(torch.linalg.vector_norm(P64, dim=1).max() * torch.linalg.vector_norm(Q64, dim=1).max())
    )
    # scale the features by powers of two (exact) so their entries are at most 1: no fp32 overflow
    # for any data; the tile and its threshold carry the same scale
    exponent_P = math.frexp(float(P64.abs().max()))[1]
    exponent_Q = math.frexp(float(Q64.abs().max()))[1]
    scale = math.ldexp(1.0, -(exponent_P + exponent_Q))
    P = (P64 * math.ldexp(1.0, -exponent_P)).to(torch.float32)
    Q = (Q64 * math.ldexp(1.0, -exponent_Q)).to(torch.float32)
    return _Filter(P=P, Q=Q, slope=slope, margin=margin, scale=scale)


def _scan_tiles(
    x_exact: torch.Tensor,
    y_exact: torch.Tensor,
    p: float,
    gemm: _Filter,
    staircase: _Staircase,
    tile_rows: int,
    tile_cols: int,
    progress: bool,
) -> int:
    """Every pair i < j, one fp32 GEMM tile at a time; the pairs that pass the filter are recomputed
    exactly into the staircase. Returns how many pairs passed."""
    n = x_exact.shape[0]
    P, Q = gemm.P, gemm.Q
    buffer = torch.empty(tile_rows, tile_cols, dtype=torch.float32)
    lower_triangle = torch.ones(tile_rows, tile_cols, dtype=torch.bool).tril()
    candidates = 0
    for r0 in tqdm(range(0, n, tile_rows), desc="all-pairs modulus", disable=not progress, leave=False):
        r1 = min(n, r0 + tile_rows)
        threshold = gemm.threshold(staircase)
        for c0 in range(r0, n, tile_cols):
            c1 = min(n, c0 + tile_cols)
            tile = buffer[: r1 - r0, : c1 - c0]
            torch.mm(P[r0:r1], Q[c0:c1].T, out=tile)
            if c0 == r0:  # only pairs i < j
                tile.masked_fill_(lower_triangle[: r1 - r0, : c1 - c0], -math.inf)
            rows = (~(tile.amax(dim=1) <= threshold)).nonzero().squeeze(1)  # NaN passes: recheck, never drop
            if len(rows) == 0:
                continue
            local = (~(tile[rows] <= threshold)).nonzero()
            i, j = rows[local[:, 0]] + r0, local[:, 1] + c0
            candidates += len(i)
            distance, value = _exact(x_exact, y_exact, i, j, p)
            staircase.update(i, j, distance, value)
            threshold = gemm.threshold(staircase)
    return candidates


def _curve_points(x_exact: torch.Tensor, grid: Sequence[float], staircase: _Staircase) -> tuple[AllPairsPoint, ...]:
    """The monotone curve read off the staircase, each pair's distance re-checked exactly."""
    values, holders = staircase.cumulative()
    points = []
    for k, delta in enumerate(grid):
        holder = int(holders[k])
        if values[k] <= 0 or staircase.pairs[holder, 0] < 0:
            points.append(AllPairsPoint(delta=delta, value=0.0, pair=None, distance=None))
            continue
        i, j = (int(v) for v in staircase.pairs[holder])
        value = float(values[k])
        if not math.isfinite(value):
            raise InputError(f"the outputs of samples {i} and {j} differ by more than float64 can hold; rescale them")
        if exact_squared_distance(x_exact[i].numpy(), x_exact[j].numpy()) > Fraction(delta) ** 2:  # pragma: no cover
            raise RuntimeError(f"all-pairs modulus: pair ({i}, {j}) lies farther than delta={delta!r} apart")
        distance = float(entrywise_p_norm(x_exact[i] - x_exact[j], 2.0, start_dim=0))
        points.append(AllPairsPoint(delta=delta, value=value, pair=(i, j), distance=distance))
    return tuple(points)


def all_pairs_modulus(
    inputs: np.ndarray | torch.Tensor,
    outputs: np.ndarray | torch.Tensor,
    deltas: Sequence[float],
    *,
    p: float = 2.0,
    tile_rows: int = 1024,
    tile_cols: int = 2048,
    progress: bool = False,
) -> AllPairsResult:
    """ω̂(δ) over all pairs of n samples, for every δ in one pass (see the module docstring).

    inputs: [n, ...] sample inputs (flattened to D_in); outputs: [n, ...] the target's values
    (flattened to D_out). Input distances are 2-norms, output distances p-norms. Memory stays at
    one ``tile_rows × tile_cols`` fp32 tile plus O(n·(D_in + D_out)).
    """
    x_exact, y_exact = _check_samples(inputs, outputs)
    n = x_exact.shape[0]
    p = check_p(p)
    grid = check_deltas(deltas)
    started = time.perf_counter()

    # exact values come from differences of the data as given; centring and rescaling only feed
    # the fp32 GEMM filter
    x, (x_first, x_second) = _rescaled(x_exact)
    y, y_scale = _rescaled(y_exact)
    kappa = ball_2_to_p(y.shape[1], p)
    deltas_t = torch.tensor(grid, dtype=torch.float64)
    diameter2 = 4.0 * x.shape[1]  # |entries| < 1: no squared distance exceeds 4·D_in
    filter_thresholds = torch.clamp((deltas_t / x_first / x_second) ** 2 * (1 + 4 * 2.0**-53), max=diameter2)
    # the scaled distance has relative error below (D_in/2 + 4) units of float64 rounding
    slack = 1.0 + (x.shape[1] + 8) * 2.0**-53
    staircase = _Staircase(deltas_t, slack, filter_thresholds, y_scale)

    slope = _seed(x_exact, y_exact, x, y, kappa, p, staircase)
    gemm = _features(x, y, kappa, slope)
    candidates = _scan_tiles(x_exact, y_exact, p, gemm, staircase, tile_rows, tile_cols, progress)
    return AllPairsResult(
        points=_curve_points(x_exact, grid, staircase),
        n=n,
        p=p,
        pairs=n * (n - 1) // 2,
        candidates=candidates,
        seconds=time.perf_counter() - started,
    )
