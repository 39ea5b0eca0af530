"""The size checks each command runs before it starts (:mod:`loopbound.work_estimate` for the
counts, rates and thresholds): ``verify``, ``build`` and ``modulus`` refuse, in one line, a run that
would take more than a day or more than half this machine's memory, naming what it would take and
the largest run of its kind that fits here.

They only count (grid sizes, contextual ids, loops, points, δ values): nothing is built, so a
refusal takes milliseconds whatever was asked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from loopbound.work_estimate import (
    PAIRS_PER_SECOND,
    Budget,
    Estimate,
    WorkTooLarge,
    build_estimate,
    construction_loops,
    count,
    duration,
    evaluation_estimate,
    exact_evaluation_estimate,
    largest_grid,
    largest_id,
    log2_largest_id,
    pairs_estimate,
    points_measured,
    refuse_unless_fits,
    search_estimate,
    smallest_grid,
)

SUP_STARTS, SUP_DIRECTIONS, SUP_STEPS = 8, 8, 20
"""The sup-error search of :func:`loopbound.theory.error_measure.measure_error` (its defaults)."""
DEFAULT_SCREEN, DEFAULT_RESTARTS, DEFAULT_STEPS = 4096, 96, 160
"""The modulus search's default budget (:class:`loopbound.theory.modulus_search.SearchBudget`)."""


def _too_few_loops(r: int, d: int, N: int) -> WorkTooLarge:
    m = smallest_grid(d, N)
    log2_loops = log2_largest_id(m, d, N)
    need = f"at least {construction_loops(m, d, N)}" if log2_loops < 64 else f"about 2^{log2_loops:.0f}"
    return WorkTooLarge(
        f"r={count(r)} loops are too few for the construction at d={d}, N={N}: its smallest grid "
        f"(delta = 1/{count(m)}, N distinct cells) needs {need} loops"
    )


def sup_points(N: int, d: int) -> int:
    """Points the sup-error search evaluates (its starts, directions and steps)."""
    return SUP_STARTS * (1 + SUP_STEPS * (SUP_DIRECTIONS + 2 * N * d)) + 1


def construction_grid(r: int, d: int, N: int) -> int:
    """The grid m the universal construction builds for r loops; refuses (one line, without
    computing K) when even the smallest grid needs far more than r loops."""
    m = smallest_grid(d, N)
    if log2_largest_id(m, d, N) > max(2.0, math.log2(r)) + 2 * d + 2:
        raise _too_few_loops(r, d, N)
    from loopbound.constructions.universal import grid_for_loops

    grid = grid_for_loops(r, d, N)
    if grid is None:
        raise _too_few_loops(r, d, N)
    return grid


def _evaluation(points: int | float, m: int, d: int, N: int, *, exact: bool, device: str) -> Estimate:
    """Evaluating the construction at δ = 1/m at ``points``: in exact arithmetic where ``exact`` and
    the unscaled construction needs more than float64's 53 bits, else in float64."""
    loops, bits = construction_loops(m, d, N), _unscaled_bits(m, d, N)
    if exact and bits > FLOAT64_BITS:
        return exact_evaluation_estimate(points, loops, N, bits)
    return evaluation_estimate(points, loops, N, device)


def _grid_run(
    m: int, d: int, N: int, d_out: int, *, timestep: bool, points: int, device: str, sup: bool, exact: bool
) -> Estimate:
    """Building the construction at δ = 1/m and evaluating it at ``points`` (and the sup search)."""
    evaluated = points + (sup_points(N, d) if sup else 0)
    evaluation = _evaluation(evaluated, m, d, N, exact=exact and not timestep, device=device)
    return build_estimate(m, d, N, d_out, timestep=timestep) + evaluation


def check_verify(
    loops: Sequence[int],
    *,
    d: int,
    N: int,
    d_out: int,
    timestep: bool,
    samples: int,
    scramblings: int,
    device: str,
    sup: bool,
    moduli: int,
    family: Any = None,
    budget: Budget | None = None,
    arithmetic: str = "float64",
) -> None:
    """Refuse a ``verify`` run beyond the budget: per distinct grid, building the construction (all
    stay in memory) and evaluating it at the measured points and the sup search; plus the modulus
    search for ``moduli`` kinds at one δ per grid. ``family``: a user's construction family (only
    its evaluation is counted, at r loops); None for the universal construction. ``arithmetic``: with
    ``float64`` an unscaled grid beyond 53 bits is refused before building it; otherwise exact rows are
    timed per grid by :func:`loopbound.verify.verify` itself."""
    budget = budget or Budget.here()
    points = points_measured(samples, scramblings)
    evaluated = points + (sup_points(N, d) if sup else 0)
    if family is None:
        grid_of = {r: construction_grid(r, d, N) for r in loops}  # one search per r, reused below
        grids = sorted(set(grid_of.values()))
        loops_run = [construction_loops(m, d, N) for m in grids]
        builds = [build_estimate(m, d, N, d_out, timestep=timestep) for m in grids]
    else:
        grids, loops_run, builds = sorted(set(loops)), sorted(set(loops)), []
    exact = family is None and not timestep and arithmetic != "float64"  # grids past float64 run exactly
    if family is None:
        evaluations = [_evaluation(evaluated, m, d, N, exact=exact, device=device) for m in grids]
    else:
        evaluations = [evaluation_estimate(evaluated, r, N, device) for r in loops_run]
    total = sum(builds + evaluations, Estimate(0.0, 0.0))
    if moduli:
        total = total + search_estimate(
            len(grids), N, d, kinds=moduli, screen=DEFAULT_SCREEN, restarts=DEFAULT_RESTARTS, steps=DEFAULT_STEPS
        )
    if budget.fits(total):
        if family is None and not timestep and arithmetic == "float64":
            _refuse_unscaled_beyond_float64(grids, grid_of, d, N, d_out)
        return
    in_exact = (
        " (in exact arithmetic past float64)"
        if exact and any(_unscaled_bits(m, d, N) > FLOAT64_BITS for m in grids)
        else ""
    )
    work = [f"{count(evaluated * sum(map(float, loops_run)))} sequence-loops{in_exact}"]
    if builds:
        work.append(builds[-1].work[0])
    build_seconds = sum(b.seconds for b in builds)
    build_bytes = sum(b.memory_bytes for b in builds)
    feasible = []
    if family is None:
        fits = lambda m: budget.fits(
            _grid_run(m, d, N, d_out, timestep=timestep, points=points, device=device, sup=sup, exact=exact)
        )
        m = largest_grid(fits, smallest_grid(d, N))
        feasible.append(
            f"the largest feasible here is r = {count(construction_loops(m, d, N))} (delta = 1/{m}) with --samples {samples}"
            if m is not None
            else f"no loop budget fits here at d={d}, N={N} with --samples {samples}"
        )
    if build_seconds < budget.seconds and build_bytes <= budget.memory_bytes:
        per_point = sum(e.seconds for e in evaluations) / evaluated
        most = int((budget.seconds - build_seconds) / per_point) if per_point > 0 else 0
        if most >= 2 * scramblings:
            feasible.append(f"at these loops, --samples up to {count(most)}")
    refuse_unless_fits(
        f"verify at r = {', '.join(count(r) for r in loops)}",
        Estimate(total.seconds, total.memory_bytes, tuple(work)),
        budget,
        "; ".join(feasible) or "give fewer loops or samples",
    )


FLOAT64_BITS = 53
UNSCALED_REFUSAL_AFTER_S = 60.0
"""Without timestep scaling, verify builds each grid (float64) and refuses the first that needs more
than 53 bits; where building that grid would itself take longer than this, the refusal comes
before building it."""


def _refuse_unscaled_beyond_float64(
    grids: Sequence[int], grid_of: Mapping[int, int], d: int, N: int, d_out: int
) -> None:
    """Refuse, before building it, the first grid whose register (:func:`_unscaled_bits`) float64
    cannot hold when building it alone would take long."""
    from loopbound.theory.errors import PrecisionError

    for m in grids:
        bits = _unscaled_bits(m, d, N)
        if bits <= FLOAT64_BITS:
            continue
        build = build_estimate(m, d, N, d_out, timestep=False)
        if build.seconds > UNSCALED_REFUSAL_AFTER_S:
            first = min(r for r, grid in grid_of.items() if grid == m)
            raise PrecisionError(
                f"r={count(first)} (grid {m}): without timestep scaling the construction needs at least {count(bits)} bits of "
                f"precision; float64 has {FLOAT64_BITS} (use --timestep); refused before building it (~{duration(build.seconds)})"
            )
        return  # verify refuses this grid itself, quickly


def _unscaled_bits(m: int, d: int, N: int) -> int | float:
    """The unscaled construction's register holds its K value-step signs plus m + N − 2 padding
    bits: at least K + m + N + 1 bits (:func:`loopbound.constructions.universal.universal_spec`)."""
    K = largest_id(m, d, N)
    return K if K == math.inf else K + m + N + 1


def check_build(m: int, *, d: int, N: int, d_out: int, budget: Budget | None = None) -> None:
    """Refuse ``build`` at δ = 1/m beyond the budget: it builds both variants (with and without
    timestep scaling) one after the other."""
    budget = budget or Budget.here()
    if math.log2(m) * d < 64 and N > m**d:
        return  # the construction itself refuses: N tokens cannot sit in distinct cells
    estimate = _both_variants(m, d, N, d_out)
    if budget.fits(estimate):
        return
    largest = largest_grid(lambda k: budget.fits(_both_variants(k, d, N, d_out)), smallest_grid(d, N))
    feasible = (
        f"the smallest feasible delta here is 1/{largest} ({count(construction_loops(largest, d, N))} loops)"
        if largest is not None
        else f"no delta is feasible here at d={d}, N={N}"
    )
    refuse_unless_fits(f"build at delta = 1/{m}", estimate, budget, feasible)


def _both_variants(m: int, d: int, N: int, d_out: int) -> Estimate:
    timestep = build_estimate(m, d, N, d_out, timestep=True)
    plain = build_estimate(m, d, N, d_out, timestep=False)
    return Estimate(timestep.seconds + plain.seconds, max(timestep.memory_bytes, plain.memory_bytes), timestep.work)


def check_modulus(
    deltas: int, *, d: int, N: int, kinds: int, screen: int, restarts: int, steps: int, budget: Budget | None = None
) -> None:
    """Refuse a ``modulus`` search beyond the budget (``kinds`` searches over ``deltas`` values of δ)."""
    budget = budget or Budget.here()
    estimate = search_estimate(deltas, N, d, kinds=kinds, screen=screen, restarts=restarts, steps=steps)
    if budget.fits(estimate):
        return
    per_entry = search_estimate(deltas, 1, 1, kinds=kinds, screen=screen, restarts=restarts, steps=steps)
    most = int(min(budget.memory_bytes / per_entry.memory_bytes, budget.seconds / per_entry.seconds))
    feasible = (
        f"the largest feasible here is N*d = {count(most)} with {deltas} delta(s)"
        if most >= 1
        else f"even N*d = 1 does not fit with {count(deltas)} delta(s): give fewer"
    )
    refuse_unless_fits(f"modulus at N={N}, d={d}", estimate, budget, feasible)


def check_pairs(n: int, budget: Budget | None = None) -> None:
    """Refuse the all-pairs modulus of n samples beyond a day."""
    budget = budget or Budget.here()
    most = int((1 + math.sqrt(1 + 8 * budget.seconds * PAIRS_PER_SECOND)) / 2)
    refuse_unless_fits(
        f"the all-pairs modulus of {count(n)} samples",
        pairs_estimate(n),
        budget,
        f"the largest feasible here is about {count(most)} samples",
    )
