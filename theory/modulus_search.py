"""The search behind :func:`loopbound.theory.modulus.estimate_modulus`: pairs that certify lower bounds.

Random pairs almost never meet the token or contextual constraint, and in high dimension are almost
never close, so the search works inside each kind's allowed subspace (docs/theory.md §1):

1. **Anchored perturbations.** Anchors X in the cube (uniform points, the constant 0, ½ and 1
   inputs, random corners, points with some entries on the boundary) are paired with
   X' = clip(X + δ u), u a unit direction supported on the entries the kind lets move (Gaussian,
   one entry, flat, flat with one sign, one row); entries that would leave the cube move the other
   way. All anchors, directions, δ and token positions go through the target in a few batches.
2. **Projected gradient ascent with restarts.** The best screened pairs (and a quarter drawn at
   random) are refined jointly in the centre C and difference D of the pair (C − D/2, C + D/2) by
   normalised gradient ascent on ‖f(C − D/2) − f(C + D/2)‖_p with a cosine step schedule,
   projecting after each step: D onto the allowed subspace and the δ-ball, then C into the box
   where both ends stay in the cube (the centre makes room for D rather than D being clipped).
   Infinite gradients (Hölder maps at 0) count as very large, not as zero.

Every iterate is a feasible pair, so the best value seen is a lower bound; the caller re-checks it
in float64. Norms of outputs, differences and gradients are computed with scaling
(:func:`loopbound.theory.norms.entrywise_p_norm`), so the search works the same at any output scale and at δ
down to float64's smallest numbers (at tiny δ only anchors near 0, where float64's spacing is fine,
give pairs that differ; the all-zero and corner anchors supply them) (:func:`loopbound.theory.modulus.certify`). A target whose output carries no gradient is searched
by screening alone, and the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from loopbound.theory.kinds import ModulusKind
from loopbound.theory.norms import entrywise_p_norm
from loopbound.theory.targets import Target

ANCHOR_KINDS = 6
DIRECTION_KINDS = 6
EVALUATION_CHUNK = 8192
LARGE_GRADIENT = 1e100
"""Stands in for an infinite partial derivative; normalisation then makes it dominate the step."""


@dataclass(frozen=True)
class SearchBudget:
    """How hard the search works, per δ.

    screen: anchored candidate pairs evaluated (spread over token positions);
    restarts: the best screened pairs (and a quarter at random) refined by projected ascent;
    steps: projected-ascent iterations per restart (0: screening only).
    The defaults take a few seconds per target and kind for d·N ≤ 16 on 2 CPU cores.
    """

    screen: int = 4096
    restarts: int = 96
    steps: int = 160

    def __post_init__(self) -> None:
        for name in ("screen", "restarts", "steps"):
            value = getattr(self, name)
            lowest = 0 if name == "steps" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
                raise ValueError(f"SearchBudget.{name} must be an integer >= {lowest}, got {value!r}")


def pair_value(
    target: Target,
    X: torch.Tensor,
    Y: torch.Tensor,
    kind: ModulusKind,
    positions: torch.Tensor | None,
    p: float,
) -> torch.Tensor:
    """‖f(X) − f(Y)‖_p per pair, over all outputs (sequence) or at token ``positions`` (per-token).

    X, Y: [B, N, d]; positions: [B] long (per-token kinds). Both inputs go through one call.
    """
    out = target(torch.cat([X, Y]))
    diff = out[: X.shape[0]] - out[X.shape[0] :]
    if kind.per_token:
        assert positions is not None
        diff = diff[torch.arange(diff.shape[0], device=diff.device), positions]
    return entrywise_p_norm(diff, p)


def _anchors(count: int, N: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """Anchor points of the cube, of kinds drawn at random (never in step with the token
    positions, which cycle: a shared period would pair each position with one kind only)."""
    uniform = torch.rand(count, N, d, generator=generator, dtype=torch.float64)
    corner = torch.randint(0, 2, (count, N, d), generator=generator).to(torch.float64)
    on_boundary = torch.rand(count, N, d, generator=generator, dtype=torch.float64) < 0.3
    choice = torch.randint(0, ANCHOR_KINDS, (count, 1, 1), generator=generator)
    anchors = uniform.clone()
    anchors = torch.where(choice == 1, torch.zeros_like(anchors), anchors)
    anchors = torch.where(choice == 2, torch.ones_like(anchors), anchors)
    anchors = torch.where(choice == 3, torch.full_like(anchors, 0.5), anchors)
    anchors = torch.where(choice == 4, corner, anchors)
    anchors = torch.where((choice == 5) & on_boundary, corner, anchors)
    return anchors


def _directions(masks: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Unit directions supported on ``masks`` ([B, N, d] bool), of kinds drawn at random.

    Kinds: Gaussian; one entry; flat with random signs; flat positive; one row with random signs;
    one row positive. A mask with no allowed entry gives the zero direction.
    """
    B, N, d = masks.shape
    allowed = masks.to(torch.float64)
    gaussian = torch.randn(B, N, d, generator=generator, dtype=torch.float64)
    signs = torch.randint(0, 2, (B, N, d), generator=generator).to(torch.float64) * 2 - 1
    # one allowed entry, and one allowed row, drawn uniformly
    weights = allowed.flatten(1) + 1e-300
    entry = torch.multinomial(weights, 1, generator=generator).squeeze(1)
    single = torch.zeros(B, N * d, dtype=torch.float64)
    single[torch.arange(B), entry] = 1.0
    row_weights = allowed.amax(dim=2) + 1e-300
    row = torch.multinomial(row_weights, 1, generator=generator).squeeze(1)
    row_mask = torch.zeros(B, N, d, dtype=torch.float64)
    row_mask[torch.arange(B), row] = 1.0

    choice = torch.randint(0, DIRECTION_KINDS, (B, 1, 1), generator=generator)
    direction = gaussian
    direction = torch.where(choice == 1, single.view(B, N, d), direction)
    direction = torch.where(choice == 2, signs, direction)
    direction = torch.where(choice == 3, torch.ones_like(direction), direction)
    direction = torch.where(choice == 4, signs * row_mask, direction)
    direction = torch.where(choice == 5, row_mask, direction)
    direction = direction * allowed
    norm = torch.linalg.vector_norm(direction.flatten(1), dim=1).clamp_min(1e-300)
    return direction / norm[:, None, None]


def _place(anchors: torch.Tensor, directions: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Partners clip(X + δu), moving the other way along entries that would leave the cube."""
    step = directions * deltas[:, None, None]
    outside = (anchors + step > 1.0) | (anchors + step < 0.0)
    step = torch.where(outside, -step, step)
    return (anchors + step).clamp(0.0, 1.0)


def _project(
    C: torch.Tensor, D: torch.Tensor, masks: torch.Tensor, deltas: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make the pair (C − D/2, C + D/2) feasible: D on the allowed entries with ‖D‖_2 ≤ δ and
    |D| ≤ 1 entrywise, then the centre C moved (not D clipped) so both ends lie in the cube."""
    D = D * masks
    norm = entrywise_p_norm(D, 2.0)  # with scaling: a difference of size 1e-300 keeps its norm
    D = D * torch.where(norm > deltas, deltas / torch.where(norm > deltas, norm, deltas), 1.0)[:, None, None]
    D = D.clamp(-1.0, 1.0)
    half = D.abs() / 2
    C = torch.maximum(torch.minimum(C, 1.0 - half), half)
    return C, D


def _normalised(gradient: torch.Tensor) -> torch.Tensor:
    gradient = torch.nan_to_num(gradient, nan=0.0, posinf=LARGE_GRADIENT, neginf=-LARGE_GRADIENT)
    norm = entrywise_p_norm(gradient, 2.0)  # with scaling: targets of scale 1e±300 still get unit steps
    return gradient / torch.where(norm > 0, norm, 1.0)[:, None, None]


def _evaluate(
    target: Target, X: torch.Tensor, Y: torch.Tensor, kind: ModulusKind, positions: torch.Tensor | None, p: float
) -> torch.Tensor:
    values = []
    with torch.no_grad():
        for start in range(0, X.shape[0], EVALUATION_CHUNK):
            stop = start + EVALUATION_CHUNK
            chunk_positions = None if positions is None else positions[start:stop]
            values.append(pair_value(target, X[start:stop], Y[start:stop], kind, chunk_positions, p))
    return torch.cat(values)


def _differentiable(target: Target, N: int, d: int) -> bool:
    probe = torch.full((1, N, d), 0.5, dtype=torch.float64, requires_grad=True)
    try:
        out = target(probe)
    except Exception:  # errors surface in the search itself, with their own message
        return False
    return isinstance(out, torch.Tensor) and out.requires_grad


def _cat_positions(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    """The parts' token positions end to end; None when the restarts perturb whole inputs (the
    first part has no positions, and then none has)."""
    if parts[0] is None:
        return None
    return torch.cat([positions for positions in parts if positions is not None])


@dataclass
class _Population:
    """Restarts with their constraint data and the best feasible pair each has reached."""

    value: torch.Tensor  # [R]
    X: torch.Tensor  # [R, N, d]
    Y: torch.Tensor  # [R, N, d]
    masks: torch.Tensor  # [R, N, d] float
    deltas: torch.Tensor  # [R]
    positions: torch.Tensor | None  # [R] long

    @staticmethod
    def cat(parts: list[_Population]) -> _Population:
        return _Population(
            value=torch.cat([part.value for part in parts]),
            X=torch.cat([part.X for part in parts]),
            Y=torch.cat([part.Y for part in parts]),
            masks=torch.cat([part.masks for part in parts]),
            deltas=torch.cat([part.deltas for part in parts]),
            positions=_cat_positions([part.positions for part in parts]),
        )

    def take(self, index: torch.Tensor) -> _Population:
        return _Population(
            value=self.value[index],
            X=self.X[index],
            Y=self.Y[index],
            masks=self.masks[index],
            deltas=self.deltas[index],
            positions=None if self.positions is None else self.positions[index],
        )


def _ascend(
    target: Target, kind: ModulusKind, p: float, population: _Population, steps: int, start_rate: float, bar: tqdm
) -> _Population:
    """Projected normalised gradient ascent from each restart's best pair; returns the new bests.

    It ascends on the centre C and difference D of the pair (C − D/2, C + D/2): for a target with
    no gradient in C (a linear map) the projection still moves C to make room for D.
    """
    N, d = population.X.shape[1:]
    best = _Population(**{**population.__dict__, "value": population.value.clone()})
    C, D = (population.X + population.Y) / 2, population.Y - population.X
    eta_C = start_rate * 0.1 * math.sqrt(N * d)
    eta_D = start_rate * 0.5 * population.deltas[:, None, None]
    for step in range(steps + 1):
        C = C.detach().requires_grad_(True)
        D = D.detach().requires_grad_(True)
        X, Y = C - D / 2, C + D / 2
        value = pair_value(target, X, Y, kind, population.positions, p)
        improved = value.detach() > best.value
        best.value = torch.where(improved, value.detach(), best.value)
        best.X = torch.where(improved[:, None, None], X.detach(), best.X)
        best.Y = torch.where(improved[:, None, None], Y.detach(), best.Y)
        if step == steps:
            break
        grad_C, grad_D = torch.autograd.grad(value.sum(), (C, D), allow_unused=True)
        rate = 0.5 * (1.0 + math.cos(math.pi * step / steps))
        with torch.no_grad():
            if grad_C is not None:
                C = C + eta_C * rate * _normalised(grad_C)
            if grad_D is not None:
                D = D + eta_D * rate * _normalised(grad_D * population.masks)
            C, D = _project(C.detach(), D.detach(), population.masks, population.deltas)
        bar.update(1)
    return best


def _exchange(target: Target, kind: ModulusKind, p: float, population: _Population, K: int, R: int) -> _Population:
    """Transplant each δ's best pairs to every other δ (difference rescaled, then projected) and
    keep, per δ, the R best of its own pairs and the transplants."""
    share = max(1, math.ceil(R / (2 * K)))
    values = population.value.view(K, R)
    donors = (torch.argsort(values, dim=1, descending=True)[:, :share] + torch.arange(K)[:, None] * R).flatten()
    donor = population.take(donors)
    M = len(donors)
    grid = population.deltas.view(K, R)[:, 0]
    receiver_delta = grid.repeat_interleave(M)
    C = ((donor.X + donor.Y) / 2).repeat(K, 1, 1)
    D = (donor.Y - donor.X).repeat(K, 1, 1)
    norm = entrywise_p_norm(D, 2.0)
    unit = D / torch.where(norm > 0, norm, 1.0)[:, None, None]  # divide first: δ/‖D‖ may overflow at tiny ‖D‖
    D = unit * receiver_delta[:, None, None]
    masks = donor.masks.repeat(K, 1, 1)
    C, D = _project(C, D, masks, receiver_delta)
    positions = None if donor.positions is None else donor.positions.repeat(K)
    X, Y = C - D / 2, C + D / 2
    transplant = _Population(
        value=_evaluate(target, X, Y, kind, positions, p),
        X=X,
        Y=Y,
        masks=masks,
        deltas=receiver_delta,
        positions=positions,
    )
    pool = _Population.cat([population, transplant])
    own = torch.arange(K)[:, None] * R + torch.arange(R)[None, :]
    theirs = K * R + torch.arange(K)[:, None] * M + torch.arange(M)[None, :]
    candidates = torch.cat([own, theirs], dim=1)  # [K, R + M]: pool indices per δ
    best = torch.argsort(pool.value[candidates], dim=1, descending=True)[:, :R]
    return pool.take(torch.gather(candidates, 1, best).flatten())


def search_pairs(
    target: Target,
    kind: ModulusKind,
    grid: tuple[float, ...],
    *,
    p: float,
    budget: SearchBudget,
    seed: int,
    progress: bool = False,
) -> list[tuple[np.ndarray, np.ndarray, int | None, str]]:
    """For each δ in ``grid``: the best pair found (X, X', token position or None, method).

    Screening, then two ascent phases with an exchange between them: each δ's best pairs,
    rescaled, become candidates at every other δ (batched across δ, restarts and positions).
    """
    N, d = target.N, target.d
    generator = torch.Generator().manual_seed(int(seed))
    if kind.per_token:
        # For a permutation-equivariant f, (X, X') at token n maps to (πX, πX') at π(n): one
        # position stands for all of them.
        position_set: list[int | None] = [0] if target.permutation_equivariant else list(range(N))
        position_masks = torch.stack([kind.perturbation_mask(N, d, n) for n in position_set])
    else:
        position_set = [None]
        position_masks = kind.perturbation_mask(N, d, None)[None]

    K, S = len(grid), budget.screen
    delta_of = torch.tensor(grid, dtype=torch.float64).repeat_interleave(S)
    slot = torch.arange(K * S) % len(position_set)
    masks = position_masks[slot]
    positions = torch.tensor([position_set[i] for i in slot.tolist()]) if kind.per_token else None

    anchors = _anchors(K * S, N, d, generator)
    partners = _place(anchors, _directions(masks, generator), delta_of)
    values = _evaluate(target, anchors, partners, kind, positions, p).view(K, S)

    # restarts: the best quarter of the screened pairs per δ, the rest drawn at random (diversity
    # matters more than screening rank: the best screened pairs tend to share one basin)
    R = min(budget.restarts, S)
    top = max(1, math.ceil(0.25 * R))
    order = torch.argsort(values, dim=1, descending=True)
    rest = order[:, top:]
    shuffled = torch.argsort(torch.rand(rest.shape, generator=generator), dim=1)
    chosen = torch.cat([order[:, :top], torch.gather(rest, 1, shuffled)[:, : R - top]], dim=1)
    flat = (chosen + torch.arange(K)[:, None] * S).flatten()
    population = _Population(
        value=values.flatten()[flat],
        X=anchors[flat],
        Y=partners[flat],
        masks=masks[flat].to(torch.float64),
        deltas=delta_of[flat],
        positions=None if positions is None else positions[flat],
    )

    differentiable = budget.steps > 0 and _differentiable(target, N, d)
    method = "anchored screening + projected ascent" if differentiable else "anchored screening"
    if not differentiable and budget.steps > 0:
        method += " (target carries no gradient)"
    if differentiable:
        first = budget.steps // 2
        with tqdm(total=budget.steps, desc=f"{kind.value} modulus", disable=not progress, leave=False) as bar:
            population = _ascend(target, kind, p, population, first, 1.0, bar)
            if K > 1:
                population = _exchange(target, kind, p, population, K, R)
            population = _ascend(target, kind, p, population, budget.steps - first, 0.5, bar)

    # restarts start from their screened values, so each δ's best covers screening too
    results: list[tuple[np.ndarray, np.ndarray, int | None, str]] = []
    per_delta = population.value.view(K, R)
    for k in range(K):
        index = k * R + int(torch.argmax(per_delta[k]))
        position = None if population.positions is None else int(population.positions[index])
        results.append((population.X[index].numpy().copy(), population.Y[index].numpy().copy(), position, method))
    return results
