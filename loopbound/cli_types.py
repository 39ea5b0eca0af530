"""Argument types of the command line: each turns a string into a value or raises
``argparse.ArgumentTypeError`` with a one-line reason (reported with exit status 2)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from theory.deltas import parse_deltas
from theory.errors import InputError

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def exponent_p(text: str) -> float:
    """The output norm's exponent: 1 ≤ p < ∞."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number with 1 <= p < inf, got {text!r}") from None
    if not (1.0 <= value < math.inf):
        raise argparse.ArgumentTypeError(f"must satisfy 1 <= p < inf, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def delta_list(text: str) -> tuple[float, ...]:
    """``0.01,0.1,0.3`` or ``LOW:HIGH:COUNT`` (log-spaced)."""
    try:
        return parse_deltas(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def figure_path(text: str) -> Path:
    """A figure to write: .png, .pdf or .svg, in a folder that exists (checked before any work)."""
    path = Path(text)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"figure must end in {', '.join(FIGURE_SUFFIXES)}, got {text!r}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return path
