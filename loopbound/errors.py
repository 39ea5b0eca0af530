"""User-facing errors of the harness (re-exported from :mod:`loopbound.theory.errors`, where they live so
that every layer can raise them)."""

from loopbound.theory.errors import InputError, PrecisionError, TargetError

__all__ = ["InputError", "PrecisionError", "TargetError"]
