"""Assertion helpers for constructions: each states a construction's guarantee as a property and
fails with an :class:`AssertionError` whose message names the worst input and the quantity that broke.

- :func:`assert_permutation_equivariant`: f(X ∘ π) = f(X) ∘ π for permutations π of the tokens;
- :func:`assert_contextual_mapping`: Yun et al.'s Def. 3.1 on grid inputs (docs/theory.md §5);
- :func:`assert_matches_reference`: a model against a reference, in float64 or exactly;
- :func:`assert_within_guarantee`: the universal construction's stated error off its failure set,
  and its output bounds on it (docs/theory.md §9);
- :func:`~loopbound.testing.gd_assertions.assert_equals_gradient_descent` (its own module): a
  looped-GD model against r steps of (preconditioned) gradient descent (docs/theory.md §6).

Inputs are in code notation: a batch X [B, N, d], tokens on dim 1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from loopbound.constructions.exact import exact_forward, to_fractions
from loopbound.constructions.quantization import ROUNDING_MARGIN, grid_size
from loopbound.constructions.spec import LoopedSpec

__all__ = [
    "DEFAULT_ULPS",
    "assert_contextual_mapping",
    "assert_matches_reference",
    "assert_permutation_equivariant",
    "assert_within_guarantee",
    "failure_set",
]

DEFAULT_ULPS = 4
"""The default float64 tolerance of :func:`assert_matches_reference`: this many units in the last
place of the output scale, atol = 4·2⁻⁵²·max|reference(X)|."""

MAX_ALL_PERMUTATIONS = 720
"""Check every permutation while N! is at most this (N ≤ 6); a seeded sample beyond."""


def one_line(values: Any) -> str:
    """An input or output on one line, entries to 6 significant digits (cut after 600 characters)."""
    array = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64)

    def nested(a: np.ndarray) -> str:
        return f"{float(a):.6g}" if a.ndim == 0 else "[" + ", ".join(nested(x) for x in a) + "]"

    text = nested(array)
    return text if len(text) <= 600 else text[:600] + " …"


def float64_tensor(values: Any) -> torch.Tensor:
    """``values`` (a tensor, array or nested list) as a float64 CPU tensor, detached."""
    if isinstance(values, torch.Tensor):
        return values.detach().to(device="cpu", dtype=torch.float64)
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


def _deviation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a − b| entrywise, NaN (on either side) counted as an infinite deviation."""
    gap = (a - b).abs()
    return torch.where(torch.isnan(gap), torch.full_like(gap, math.inf), gap)


# --------------------------------------------------------------------------- permutation equivariance
def _permutations(N: int, samples: int, seed: int) -> list[tuple[int, ...]]:
    if math.factorial(N) <= MAX_ALL_PERMUTATIONS:
        return [p for p in itertools.permutations(range(N)) if list(p) != list(range(N))]
    generator = torch.Generator().manual_seed(seed)
    return [tuple(torch.randperm(N, generator=generator).tolist()) for _ in range(samples)]


def assert_permutation_equivariant(
    f: Callable[[torch.Tensor], Any], X: torch.Tensor, *, atol: float, samples: int = 64, seed: int = 0
) -> None:
    """f(X[:, π]) = f(X)[:, π] within ``atol`` (entrywise) for every batch entry of X [B, N, d].

    ``f`` maps [B, N, d] to [B, N, …] (tokens on dim 1). Every permutation π of the N tokens is
    checked while N! ≤ 720, ``samples`` permutations drawn with ``seed`` otherwise. Fails naming
    the worst batch entry, its permutation and the deviation max |f(X ∘ π) − f(X) ∘ π|.
    """
    if X.dim() != 3:
        raise ValueError(f"X must be [B, N, d], got {list(X.shape)}")
    reference = float64_tensor(f(X))
    worst: tuple[float, int, tuple[int, ...]] = (-1.0, 0, ())
    for perm in _permutations(X.shape[1], samples, seed):
        index = list(perm)
        gap = _deviation(float64_tensor(f(X[:, index])), reference[:, index]).flatten(1).amax(dim=1)
        b = int(torch.argmax(gap))
        if float(gap[b]) > worst[0]:
            worst = (float(gap[b]), b, perm)
    deviation, b, perm = worst
    assert deviation <= atol, (
        f"not permutation-equivariant: max |f(X∘π) − f(X)∘π| = {deviation:.6g} > atol = {atol:g} "
        f"at batch entry {b}, π = {list(perm)}, X[{b}] = {one_line(X[b])}"
    )


# --------------------------------------------------------------------------- contextual mapping
def _cells(X: torch.Tensor, m: int) -> list[tuple[tuple[int, ...], ...]]:
    """Each token's grid cell ⌊x·m + 10⁻⁹⌋ per coordinate (grid points k/m land on k)."""
    cells = torch.floor(float64_tensor(X) * m + 1e-9).long().tolist()
    return [tuple(tuple(token) for token in sequence) for sequence in cells]


def _id_rows(ids: Any, X: torch.Tensor) -> list[list[Any]]:
    """The [B, N] ids of X as Python numbers (Fractions kept exact); a trailing axis of size 1 is
    dropped."""
    values = ids(X) if callable(ids) else ids
    rows = values.tolist() if isinstance(values, (torch.Tensor, np.ndarray)) else [list(row) for row in values]
    rows = [[v[0] if isinstance(v, (list, tuple)) and len(v) == 1 else v for v in row] for row in rows]
    if len(rows) != X.shape[0] or any(len(row) != X.shape[1] for row in rows):
        raise ValueError(f"ids must be [B, N] = {list(X.shape[:2])} (or [B, N, 1])")
    return rows


def assert_contextual_mapping(
    ids: Callable[[torch.Tensor], Any] | Any,
    X: torch.Tensor,
    Y: torch.Tensor | None = None,
    *,
    delta: float | Fraction,
    min_separation: float | Fraction | None = None,
    equivariant: bool = True,
) -> None:
    """Yun et al.'s contextual mapping (2020, Def. 3.1; docs/theory.md §5) on the grid sequences of
    X [B, N, d] (and Y [B', N, d], checked together with X: every pair among them).

    ``ids`` is a callable [B, N, d] → [B, N] (or [B, N, 1]): the contextual ids of each token; or
    the ids of X themselves (a tensor, array or nested list; then Y must be None). Each token's
    cell is ⌊x/δ⌋ (grid points k·δ are cell k). Among the sequences whose N tokens lie in distinct
    cells (the definition says nothing about the others, which are skipped):

    (i)   the N ids of one sequence are pairwise distinct;
    (ii)  two sequences that are not permutations of each other (different multisets of cells)
          share no id;
    (iii) with ``equivariant`` (what a transformer without positions gives), two sequences that are
          permutations of each other have the same multiset of ids;
    (iv)  with ``min_separation``, the separation (smallest gap between distinct ids) is at least it.

    Ids are compared exactly (floats as floats, Fractions as Fractions). The failure message names
    the offending sequence(s), their ids, and the separation measured.
    """
    if Y is not None and not callable(ids):
        raise ValueError("ids must be a callable to evaluate Y")
    m = grid_size(delta)
    sequences = X if Y is None else torch.cat([X, Y])
    names = [f"X[{b}]" for b in range(X.shape[0])] + [f"Y[{b}]" for b in range(0 if Y is None else Y.shape[0])]
    rows = _id_rows(ids, X) + (_id_rows(ids, Y) if Y is not None else [])
    cells = _cells(sequences, m)
    valid = [b for b, c in enumerate(cells) if len(set(c)) == len(c)]
    pool = sorted(((v, b) for b in valid for v in rows[b]), key=lambda vb: vb[0])
    distinct = sorted({v for v, _ in pool})
    gaps = [(b - a, a, b) for a, b in zip(distinct, distinct[1:])]
    smallest = min(gaps, key=lambda g: g[0]) if gaps else None
    separation = (
        "no two distinct ids"
        if smallest is None
        else f"{float(smallest[0]):.6g} (between ids {smallest[1]} and {smallest[2]})"
    )

    def where(b: int) -> str:
        return f"{names[b]} = {one_line(sequences[b])} with ids {rows[b]}"

    for b in valid:
        assert len(set(rows[b])) == len(rows[b]), (
            f"(i) ids of one sequence collide: {where(b)}; separation {separation}"
        )
    key = {b: tuple(sorted(cells[b])) for b in valid}
    for (v, a), (w, b) in zip(pool, pool[1:]):
        assert v != w or key[a] == key[b], (
            f"(ii) id {v} shared by sequences that are not permutations of each other: {where(a)} and {where(b)}; "
            f"separation {separation}"
        )
    if equivariant:
        first: dict[tuple[Any, ...], int] = {}
        for b in valid:
            a = first.setdefault(key[b], b)
            assert sorted(rows[a]) == sorted(rows[b]), (
                f"(iii) permutations of one sequence get different ids: {where(a)} and {where(b)}"
            )
    if min_separation is not None and smallest is not None:
        assert smallest[0] >= min_separation, f"(iv) separation {separation} is below the claimed {min_separation}"


# --------------------------------------------------------------------------- model against a reference
def _exact_model(model: Any) -> Callable[[list[list[Fraction]]], Sequence[Sequence[Any]]]:
    spec = model if isinstance(model, LoopedSpec) else getattr(model, "spec", None)
    if isinstance(spec, LoopedSpec):
        return lambda sample: exact_forward(spec, sample)
    if callable(model):
        return model
    raise TypeError("exact=True needs a LoopedSpec, a model with a LoopedSpec `.spec`, or an exact evaluator")


def _exact_mismatch(model: Any, reference: Callable[[Any], Any], X: Any) -> None:
    """Exact comparison: the worst entry by |model − reference| in rational arithmetic."""
    samples = [to_fractions(sample) for sample in (X.tolist() if isinstance(X, torch.Tensor) else X)]
    evaluate = _exact_model(model)
    expected = reference(samples)
    assert len(expected) == len(samples), f"the reference returned {len(expected)} outputs for {len(samples)} inputs"
    worst: tuple[Fraction, int, int, int, Any, Any] | None = None
    for b, (sample, want) in enumerate(zip(samples, expected)):
        got = evaluate(sample)
        shapes = [len(row) for row in got], [len(row) for row in want]
        assert shapes[0] == shapes[1], f"batch entry {b}: model output rows {shapes[0]}, reference rows {shapes[1]}"
        for n, (got_row, want_row) in enumerate(zip(got, want)):
            for j, (g, w) in enumerate(zip(got_row, want_row)):
                gap = abs(Fraction(g) - Fraction(w))
                if gap and (worst is None or gap > worst[0]):
                    worst = (gap, b, n, j, g, w)
    if worst is not None:
        gap, b, n, j, g, w = worst
        raise AssertionError(
            f"model differs from the reference in exact arithmetic by {float(gap):.6g} at batch entry {b}, "
            f"token {n}, output {j}: model {g}, reference {w}; X[{b}] = {one_line([[float(v) for v in t] for t in samples[b]])}"
        )


def assert_matches_reference(
    model: Any,
    reference: Callable[[Any], Any],
    X: Any,
    *,
    atol: float | None = None,
    rtol: float = 0.0,
    exact: bool = False,
) -> None:
    """model(X) = reference(X) on a batch X [B, N, d].

    **Float64** (default): both are evaluated on X in float64 and must agree entrywise within
    atol + rtol·|reference|; ``atol`` defaults to :data:`DEFAULT_ULPS` ulps of the output scale,
    4·2⁻⁵²·max|reference(X)| (atol=0, rtol=0: bit for bit).

    **Exact** (``exact=True``): ``model`` is a :class:`LoopedSpec`, a model with one as ``.spec``
    (evaluated by :func:`~loopbound.constructions.exact.exact_forward`), or an exact evaluator
    mapping one input [N][d] of Fractions to [N][d_out] numbers; every input is converted to
    Fractions exactly (a float is its binary value), ``reference`` receives the list of B such
    inputs and returns B outputs [N][d_out] of Fractions (ints and floats are taken exactly), and
    every entry must be equal. Fails naming the batch entry, token and output of the largest
    deviation, both values, and the input.
    """
    if exact:
        _exact_mismatch(model, reference, X)
        return
    X = float64_tensor(X)
    with torch.no_grad():
        got, want = float64_tensor(model(X)), float64_tensor(reference(X))
    if got.shape != want.shape:
        raise AssertionError(f"model output {list(got.shape)} and reference output {list(want.shape)} differ in shape")
    if got.numel() == 0:
        return
    if atol is None:
        scale = float(want.abs().max()) if want.numel() else 0.0
        atol = DEFAULT_ULPS * 2.0**-52 * scale
    gap = _deviation(got, want)
    excess = gap - (atol + rtol * want.abs())
    flat = int(torch.argmax(excess.flatten()))
    if float(excess.flatten()[flat]) > 0:
        b, *rest = np.unravel_index(flat, tuple(got.shape))
        at = tuple(int(i) for i in (b, *rest))
        raise AssertionError(
            f"model differs from the reference by {float(gap[at]):.6g} > atol {atol:.3g} + rtol {rtol:g}·|reference| "
            f"at batch entry {at[0]}, index {list(at[1:])}: model {float(got[at])!r}, reference {float(want[at])!r}; "
            f"X[{at[0]}] = {one_line(X[at[0]])}"
        )


# --------------------------------------------------------------------------- the universal guarantee
def failure_set(X: torch.Tensor, *, delta: float | Fraction, sharpness: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(band, collision) per batch entry of X [B, N, d], for δ = 1/m and the quantiser's sharpness M
    (a guarantee's ``delta`` and ``sharpness``): *band* when an entry lies in (kδ − 1/M − margin, kδ + margin) for some
    k = 1 … m (the quantiser's transition bands widened by the float rounding margin 2⁻⁴⁰, as the
    guarantee's band measure counts them; x = 1 is in the band of k = m), *collision* when two
    tokens lie in one cell δ⌊X/δ⌋."""
    m = grid_size(delta)
    X = float64_tensor(X)
    gap = X[..., None] - torch.arange(1, m + 1, dtype=torch.float64) / m
    band = ((gap > -1.0 / sharpness - ROUNDING_MARGIN) & (gap < ROUNDING_MARGIN)).flatten(1).any(dim=1)
    cells = torch.floor(X * m)
    same = (cells[:, :, None, :] == cells[:, None, :, :]).all(dim=-1)
    same &= ~torch.eye(X.shape[1], dtype=torch.bool)
    return band, same.flatten(1).any(dim=1)


def _first_excess(excess: torch.Tensor, rows: torch.Tensor) -> tuple[int, int, int] | None:
    """(b, n, j) of the largest positive entry of ``excess`` [B, N, d_out] among batch ``rows``."""
    masked = torch.where(rows[:, None, None], excess, torch.full_like(excess, -math.inf))
    flat = int(torch.argmax(masked.flatten()))
    if not float(masked.flatten()[flat]) > 0:
        return None
    b, n, j = np.unravel_index(flat, tuple(excess.shape))
    return int(b), int(n), int(j)


def assert_within_guarantee(
    model: Callable[[torch.Tensor], Any], target: Callable[[torch.Tensor], Any], X: torch.Tensor, guarantee: Any
) -> None:
    """The universal construction's stated error, pointwise on X [B, N, d] (docs/theory.md §9;
    :class:`~loopbound.constructions.universal.UniversalGuarantee`), with ρ = ``label_rounding``:

    - off the failure set (:func:`failure_set`: an entry in a transition band, or two tokens in one
      cell), |model(X)_{n,j} − f(q(X))_{n,j}| ≤ ε_j + ρ with ε_j = ``value_error_bound[j]`` and
      q(X) = δ⌊X/δ⌋ the cell representative (f = ``target``);
    - everywhere, |model(X)_{n,j}| ≤ ``output_bound`` + ρ;
    - on a collision off the bands, |model(X)_{n,j}| ≤ ``collision_output_bound`` + ρ (where stated).

    Fails naming the worst input (batch entry, token, output coordinate), the quantity and its bound.
    """
    X = float64_tensor(X)
    m = grid_size(guarantee.delta)
    with torch.no_grad():
        out = float64_tensor(model(X))
        expected = float64_tensor(target(torch.floor(X * m) / m))
    band, collision = failure_set(X, delta=guarantee.delta, sharpness=guarantee.sharpness)
    rho = float(guarantee.label_rounding)
    epsilon = torch.tensor([float(e) for e in guarantee.value_error_bound], dtype=torch.float64) + rho
    error = _deviation(out, expected)
    checks = [
        ("|model(X) − f(q(X))| off the failure set", error, epsilon.expand_as(error), ~(band | collision)),
        (
            "|model(X)| (output bound)",
            out.abs(),
            torch.full_like(out, guarantee.output_bound + rho),
            torch.ones_like(band),
        ),
    ]
    collision_bound = getattr(guarantee, "collision_output_bound", None)
    if collision_bound is not None:
        checks.append(
            (
                "|model(X)| on a collision (collision output bound)",
                out.abs(),
                torch.full_like(out, collision_bound + rho),
                collision & ~band,
            )
        )
    for quantity, value, bound, rows in checks:
        worst = _first_excess(torch.where(torch.isnan(value), math.inf, value) - bound, rows)
        if worst is not None:
            b, n, j = worst
            raise AssertionError(
                f"{quantity} = {float(value[b, n, j]):.6g} exceeds its bound {float(bound[b, n, j]):.6g} at batch entry "
                f"{b}, token {n}, output {j}: model {float(out[b, n, j])!r}, f(q(X)) {float(expected[b, n, j])!r}; "
                f"X[{b}] = {one_line(X[b])}"
            )
