"""Atomic writes leave either the old or the complete new file, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from loopbound.atomic import write_atomic, write_text_atomic


def test_a_written_file_has_the_permissions_of_an_ordinary_open(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "record.json", "{}")
        reference = tmp_path / "plain.json"
        reference.write_text("{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = write_text_atomic(tmp_path / "record.json", "old")

    def half_then_fail(temporary: str) -> None:
        Path(temporary).write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomic(path, half_then_fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["record.json"]
