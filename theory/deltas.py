"""Grids of δ: validation and parsing of the command line's ``--deltas`` lists."""

from __future__ import annotations

import math
from collections.abc import Iterable

from loopbound.theory.errors import InputError


def check_deltas(deltas: Iterable[float]) -> tuple[float, ...]:
    """Validate a δ grid: finite numbers > 0. Returns them sorted ascending without duplicates."""
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
