"""Checks of the scalar arguments of construction builders, shared so that every builder words the
same mistake the same way.

Each check returns the value (as the type the builder computes with) or raises
:class:`~loopbound.theory.errors.InputError` with one line naming the argument: the builders' arguments come
straight from users (the command line, notebooks, property tests). Tensor arguments are checked
where their shapes are known, in the builder's own module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from loopbound.theory.errors import InputError

__all__ = ["check_int", "check_loops", "check_positive_real", "check_choice"]


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """An integer (not a bool) ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_loops(loops: Any) -> int:
    """A loop count: an integer ≥ 0 (zero loops is the embedding followed by the readout)."""
    return check_int("loops", loops, minimum=0)


def check_positive_real(name: str, value: Any) -> float:
    """A real number (not a bool), finite and > 0, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """One of ``choices``."""
    allowed = tuple(choices)
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
