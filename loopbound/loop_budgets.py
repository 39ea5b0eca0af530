"""Loop budgets r as a user writes them: ``10,20,40`` or ``LOW:HIGH:COUNT`` (log-spaced), and a
range snapped to the loop counts a construction family actually runs (``loopbound verify --loops``)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from loopbound.construction_family import ConstructionFamily
from loopbound.theory.errors import InputError

__all__ = ["LOOPS_RANGE_MAX", "is_loops_range", "parse_loops", "snap_loops"]


def parse_loops(text: str) -> tuple[int, ...]:
    """``10,20,40`` or ``LOW:HIGH:COUNT`` (COUNT log-spaced integers from LOW to HIGH), each ≥ 1;
    returned sorted without repeats."""
    text = text.strip()
    if text.count(":") == 2:
        try:
            low, high, count = (int(part) for part in text.split(":"))
        except ValueError:
            raise InputError(f"--loops range must read LOW:HIGH:COUNT with integers, got {text!r}") from None
        if low < 1 or high < low or count < 1:
            raise InputError(f"--loops range needs 1 <= LOW <= HIGH and COUNT >= 1, got {text!r}")
        return _log_spaced(low, high, count, text)
    words = text.replace(" ", "").split(",")
    if not words or any(word == "" for word in words):
        raise InputError(f"--loops must be a comma-separated list of integers >= 1, got {text!r}")
    values = []
    for word in words:
        try:
            value = int(word)
        except ValueError:
            raise InputError(f"--loops: {word!r} is not an integer") from None
        if value < 1:
            raise InputError(f"--loops: every r must be >= 1, got {value}")
        values.append(value)
    return tuple(sorted(set(values)))


def is_loops_range(text: str) -> bool:
    """Whether ``--loops`` text is a ``LOW:HIGH:COUNT`` range (then it is snapped: :func:`snap_loops`)."""
    return text.strip().count(":") == 2


def snap_loops(loops: Sequence[int], family: ConstructionFamily, *, d: int, N: int, timestep: bool) -> tuple[int, ...]:
    """One budget per construction: of the budgets that run the same construction (the largest grid
    m whose loop count fits in r: every r in [loops(m), loops(m + 1))), the largest one asked for.

    r = 9 and r = 17 may run the same construction, and two equal measurements would enter the rate
    fit as two points; keeping the largest budget keeps the claim as strict as the range asked for
    it to be (a bound that decreases in r, as every rate bound does, is strictest there; snapping
    down to the construction's own loop count would weaken it). A budget below the smallest
    construction is kept as it is (verify names it). Work ∝ the number of constructions (one
    ``grid_for_loops`` each, and a bisection of the sorted budgets), not the number of budgets."""
    budgets = sorted(set(int(r) for r in loops))
    kept: list[int] = []
    i = 0
    while i < len(budgets):
        m = family.grid_for_loops(budgets[i], d, N, timestep=timestep)
        if m is None or m < 1:
            kept.append(budgets[i])
            i += 1
            continue
        next_construction = int(family.loops_for_grid(m + 1, d, N, timestep=timestep))
        j = max(i + 1, bisect.bisect_left(budgets, next_construction))
        kept.append(budgets[j - 1])
        i = j
    return tuple(kept)


LOOPS_RANGE_MAX = 10**6
"""The most distinct r a ``LOW:HIGH:COUNT`` range may name (min(COUNT, HIGH − LOW + 1))."""


def _log_spaced(low: int, high: int, count: int, text: str) -> tuple[int, ...]:
    """The distinct values of round(LOW·(HIGH/LOW)^{k/(COUNT−1)}), k = 0, …, COUNT − 1, sorted.

    The sequence is nondecreasing in k, so each next distinct value is found by bisection over k
    (the first k whose value exceeds the last one): work ∝ (distinct values)·log COUNT, never
    COUNT. At most min(COUNT, HIGH − LOW + 1) values; above :data:`LOOPS_RANGE_MAX`, refused."""
    if min(count, high - low + 1) > LOOPS_RANGE_MAX:
        raise InputError(f"--loops range names more than {LOOPS_RANGE_MAX} values of r, got {text!r}")
    if count == 1:
        return (low,)

    def value(k: int) -> int:
        return round(low * (high / low) ** (k / (count - 1)))

    values, k = [value(0)], 0
    while k < count - 1:
        first, last = k + 1, count - 1
        if value(last) <= values[-1]:
            break
        while first < last:  # the first k' > k with value(k') > values[-1]
            middle = (first + last) // 2
            first, last = (middle + 1, last) if value(middle) <= values[-1] else (first, middle)
        k = first
        values.append(value(k))
    return tuple(sorted(set(values)))
