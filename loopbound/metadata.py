"""Provenance metadata stamped on every JSON file loopbound writes, and JSON-safe numbers.

:func:`metadata` is the block every JSON output carries at its top level: ``schema_version`` (the
version of the JSON layout: raised when a field changes meaning or is removed), ``loopbound_version``,
``git_commit`` (the checkout's ``HEAD`` when loopbound runs from a git checkout, else None) and
``timestamp`` (UTC, ISO 8601). :func:`json_number` turns the exact values of the constructions
(``Fraction``, tuples of them, numpy scalars) into JSON numbers and lists, never Python reprs.
"""

from __future__ import annotations

import datetime
import functools
import math
import numbers
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

from loopbound import __version__

__all__ = ["SCHEMA_VERSION", "metadata", "git_commit", "commit_of", "json_number", "with_metadata"]

SCHEMA_VERSION = 2
"""Version of loopbound's JSON layout. 1: the layout before the metadata block (Python reprs for
exact values, a bare list in ``moduli.json``); 2: numbers as numbers, the metadata block, and
``runs/moduli.json`` an object with its ``records``."""

GIT_TIMEOUT_S = 2.0
"""How long ``git rev-parse HEAD`` may take before the commit is reported unknown (None)."""


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout loopbound is imported from (``git rev-parse HEAD`` in the folder
    above the package), or None: not a checkout (an installed wheel), no git, or git too slow."""
    return commit_of(Path(__file__).resolve().parent.parent)


def commit_of(root: Path) -> str | None:
    """``git rev-parse HEAD`` in ``root`` when ``root`` is the top of a git checkout (it holds
    ``.git``), within :data:`GIT_TIMEOUT_S`; None otherwise or on any failure."""
    if not (root / ".git").exists():
        return None
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and len(commit) == 40 else None


def metadata() -> dict[str, Any]:
    """The metadata block (module docstring): schema and loopbound versions, git commit, UTC timestamp."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "schema_version": SCHEMA_VERSION,
        "loopbound_version": __version__,
        "git_commit": git_commit(),
        "timestamp": now.isoformat(timespec="seconds"),
    }


def with_metadata(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the metadata block first (its own keys win where they clash)."""
    return {**metadata(), **record}


def json_number(value: Any) -> Any:
    """A JSON value for a construction's constant: a ``Fraction`` (or any rational or real number)
    becomes a float, an integer stays an integer, a tuple or list of numbers a list; a non-finite
    float becomes None (JSON has no inf or NaN). Anything else is returned as it is."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (Fraction, numbers.Real)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (tuple, list)):
        return [json_number(item) for item in value]
    return value
