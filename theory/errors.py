"""Errors a user can cause, reported by the command line as one line with exit status 2.

Anything raised as an :class:`InputError` is the user's to fix (a bad target, a bad shape, δ ≤ 0,
a dtype too narrow for a construction); anything else escaping is a bug in loopbound.
"""

from __future__ import annotations


class InputError(ValueError):
    """A problem with what the user asked for; the message is one line that says how to fix it."""


class TargetError(InputError):
    """A target could not be loaded, or returned something that is not a valid output."""


class PrecisionError(InputError):
    """A dtype cannot represent the magnitudes or bits that a construction needs."""
