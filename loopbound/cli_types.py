"""Argument types of the command line: each turns a string into a value or raises
``argparse.ArgumentTypeError`` with a one-line reason (reported with exit status 2)."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from loopbound.theory.deltas import parse_deltas
from loopbound.theory.errors import InputError
from loopbound.theory.verdict_level import LEVEL_REQUIREMENT, valid_verdict_level

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
T = TypeVar("T")


def integer_at_least(low: int) -> Callable[[str], int]:
    """An argument type for integers ≥ ``low``: ``must be an integer >= low, got '…'`` otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = parse.__qualname__ = f"integer_at_least_{low}"
    return parse


positive_int = integer_at_least(1)
nonnegative_int = integer_at_least(0)

SEED_LIMIT = 2**63
"""Seeds are integers in [0, 2^63): torch's and numpy's generators take them as 64-bit integers,
and the toolkit derives further seeds by adding small offsets (which must not overflow 2^64)."""


def seed(text: str) -> int:
    """A random seed: an integer 0 ≤ seed < 2^63 (:data:`SEED_LIMIT`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2^63), got {text!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2^63) (a 64-bit seed), got {text!r}")
    return value


def from_parser(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argument type from a parser that raises :class:`InputError` (its one line becomes argparse's
    message), so the command line and the library refuse the same text with the same words."""

    def argument_type(text: str) -> T:
        try:
            return parse(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    argument_type.__name__ = argument_type.__qualname__ = getattr(parse, "__name__", "argument")
    return argument_type


def real_where(requirement: str, holds: Callable[[float], bool]) -> Callable[[str], float]:
    """An argument type for a real number satisfying ``holds``: ``must be a number with
    <requirement>`` for text that is not a number, ``must satisfy <requirement>`` otherwise."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number with {requirement}, got {text!r}") from None
        if not holds(value):
            raise argparse.ArgumentTypeError(f"must satisfy {requirement}, got {text!r}")
        return value

    parse.__name__ = parse.__qualname__ = "real_where"
    return parse


exponent_p = real_where("1 <= p < inf", lambda value: 1.0 <= value < math.inf)
"""The output norm's exponent: 1 ≤ p < ∞."""
positive_seconds = real_where("0 < seconds < inf", lambda value: 0.0 < value < math.inf)
"""A duration in seconds, positive and finite."""
unit_level = real_where(LEVEL_REQUIREMENT, valid_verdict_level)
"""A verdict's confidence level: 1/2 ≤ level < 1 (:mod:`loopbound.theory.verdict_level`; a sweep
file's ``level`` is checked by the same rule)."""


MAX_DELTAS = 10**5
"""The most δ values one ``--deltas`` range may ask for. Each is a modulus search of its own
(thousands of candidate pairs held at once): even at N = d = 1 the search over 10^5 values of δ
needs about 30 GiB (:mod:`loopbound.work_estimate`), so a larger count cannot run and is refused
before the list is even made."""


def delta_list(text: str) -> tuple[float, ...]:
    """``0.01,0.1,0.3`` or ``LOW:HIGH:COUNT`` (log-spaced), with COUNT ≤ :data:`MAX_DELTAS`."""
    parts = text.strip().split(":")
    if len(parts) == 3:
        try:
            wanted = int(parts[2])
        except ValueError:
            wanted = 0  # parse_deltas words the refusal
        if wanted > MAX_DELTAS:
            from loopbound.work_estimate import SEARCH_BYTES_PER_ENTRY, count, size

            raise argparse.ArgumentTypeError(
                f"{text.strip()!r} asks for {count(wanted)} values of delta, each a modulus search of its own "
                f"(~{size(wanted * 4096 * SEARCH_BYTES_PER_ENTRY)} of candidate pairs even at N = d = 1); "
                f"at most {MAX_DELTAS} are accepted"
            )
    return from_parser(parse_deltas)(text)


delta_list.__name__ = delta_list.__qualname__ = "delta_list"


def output_file(suffixes: tuple[str, ...], what: str) -> Callable[[str], Path]:
    """An argument type for a file to write: one of ``suffixes``, in a folder that exists, not a
    folder itself (checked before any work, so a long run never ends unable to save)."""

    def parse(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{what} must end in {', '.join(suffixes)}, got {text!r}")
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(f"folder {str(path.parent)!r} does not exist")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
        if path.exists() and not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"{text!r} cannot be written (no permission)")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"folder {str(path.parent)!r} cannot be written (no permission)")
        return path

    parse.__name__ = parse.__qualname__ = f"{what.replace(' ', '_')}_path"
    return parse


figure_path = output_file(FIGURE_SUFFIXES, "figure")
"""A figure to write: .png, .pdf or .svg."""
latex_path = output_file((".tex",), "LaTeX file")
"""A LaTeX file to write: .tex."""
