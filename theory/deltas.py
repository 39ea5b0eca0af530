"""Grids of δ: validation and parsing of the command line's ``--deltas`` lists, and the grid scale
δ = 1/m of the constructions (:func:`grid_steps`), read the same way everywhere."""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

from loopbound.theory.errors import InputError


def check_deltas(deltas: Iterable[float | str]) -> tuple[float, ...]:
    """Validate a δ grid: finite numbers > 0, given as numbers or as their text (the command line's
    words). Returns them sorted ascending without duplicates."""
    values: list[float] = []
    for delta in deltas:
        if isinstance(delta, bool):
            raise InputError(f"delta must be a number > 0, got {delta!r}")
        try:
            value = float(delta)
        except (TypeError, ValueError):
            raise InputError(f"delta must be a number > 0, got {delta!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"delta must be a finite number > 0, got {delta!r}")
        values.append(value)
    if not values:
        raise InputError("give at least one delta")
    return tuple(sorted(set(values)))


def parse_deltas(text: str) -> tuple[float, ...]:
    """Parse ``0.01,0.03,0.1`` or a log-spaced range ``0.01:0.3:8`` (8 values from 0.01 to 0.3)."""
    text = text.strip()
    if text.count(":") == 2:
        low, high, count = text.split(":")
        try:
            lo, hi, k = float(low), float(high), int(count)
        except ValueError:
            raise InputError(f"delta range must read LOW:HIGH:COUNT, got {text!r}") from None
        check_deltas([lo, hi])
        if k < 1 or hi < lo:
            raise InputError(f"delta range needs LOW <= HIGH and COUNT >= 1, got {text!r}")
        if k == 1:
            return check_deltas([lo])
        ratio = (hi / lo) ** (1.0 / (k - 1))
        return check_deltas([lo * ratio**i for i in range(k - 1)] + [hi])
    words = [w for w in text.replace(" ", "").split(",")]
    if not words or any(w == "" for w in words):
        raise InputError(f"deltas must be a comma-separated list of numbers > 0, got {text!r}")
    return check_deltas(words)


GRID_DENOMINATOR_LIMIT = 10**9
"""A grid scale given as a float is read as the nearest fraction with denominator at most this (so
0.1 is 1/10); larger grids than 10^9 cells per axis are far beyond any construction's budget."""


def grid_steps(delta: float | Fraction | str) -> int:
    """m = 1/δ for a grid scale δ = 1/m with m an integer ≥ 2 (δ as a number, a Fraction, or text
    such as ``0.125`` or ``1/8``); an :class:`InputError` naming δ for anything else."""
    try:
        value = Fraction(delta.strip() if isinstance(delta, str) else delta).limit_denominator(GRID_DENOMINATOR_LIMIT)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        raise InputError(f"delta must be 1/m for an integer m >= 2 (e.g. 0.25 or 1/4), got {delta!r}") from None
    if value <= 0 or value.numerator != 1 or value.denominator < 2:
        raise InputError(f"delta must be 1/m for an integer m >= 2 (e.g. 0.25 or 1/4), got {delta!r}")
    return value.denominator
