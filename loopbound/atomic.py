"""Atomic writes: a file is either its old content or its complete new content, never half.

Writes go to a temporary file in the same folder, are flushed and fsync-ed, then renamed over the
destination (``os.replace`` is atomic on POSIX). A killed process leaves at most a stray
``.tmp-*`` file, never a truncated result. The file gets the permissions an ordinary ``open``
would give it (0666 less the umask), not the temporary file's private 0600.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _default_mode() -> int:
    """0666 less the process umask (read without changing it for longer than one call)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(temporary_path)`` and move the finished file to ``path``."""
    destination = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".tmp-{destination.name}-", suffix=destination.suffix, dir=destination.parent
    )
    os.close(descriptor)
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, _default_mode())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)

    return write_atomic(path, write)
