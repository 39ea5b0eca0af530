"""User-facing errors of the harness (re-exported from :mod:`theory.errors`, where they live so
that every layer can raise them)."""
from theory.errors import InputError, PrecisionError, TargetError

__all__ = ["InputError", "PrecisionError", "TargetError"]
