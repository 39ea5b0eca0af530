"""The confidence level a verdict may be stated at.

A "held at the 95% level" verdict rests on Monte Carlo intervals of confidence ``level``: each is
a two-sided interval whose upper end lies above the true error with probability (1 + level)/2.
Below level = 1/2 the interval no longer even covers the point estimate's side with odds better
than a coin (at level → 0 it shrinks to the estimate itself), so "held at the 0% level" states
nothing. A verdict's level therefore satisfies 1/2 ≤ level < 1; the command line's ``--level``
and a sweep file's ``level`` are checked by this one rule.
"""

from __future__ import annotations

import math

from loopbound.theory.errors import InputError

__all__ = ["MIN_VERDICT_LEVEL", "LEVEL_REQUIREMENT", "valid_verdict_level", "check_verdict_level"]

MIN_VERDICT_LEVEL = 0.5
"""The smallest confidence level a verdict may be stated at."""

LEVEL_REQUIREMENT = "0.5 <= level < 1"
"""The rule, in words, for error messages."""


def valid_verdict_level(level: float) -> bool:
    """Whether ``level`` is a confidence level a verdict may be stated at: 1/2 ≤ level < 1."""
    return (
        isinstance(level, (int, float))
        and not isinstance(level, bool)
        and math.isfinite(level)
        and MIN_VERDICT_LEVEL <= level < 1.0
    )


def check_verdict_level(level: float, *, what: str = "level") -> float:
    """``level`` as a float when 1/2 ≤ level < 1 (module docstring), else InputError naming ``what``."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number with {LEVEL_REQUIREMENT}, got {level!r}") from None
    if not valid_verdict_level(value):
        raise InputError(
            f"{what} must satisfy {LEVEL_REQUIREMENT} (a verdict below the 50% level states nothing), got {level!r}"
        )
    return value
