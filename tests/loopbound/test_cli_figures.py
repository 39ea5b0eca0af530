"""``loopbound figures`` without INPUT regenerates the paper figures by running the notebooks."""

from __future__ import annotations

from pathlib import Path

from tests.loopbound.cli_runner import assert_one_line_error, run_cli


def test_regenerates_one_paper_figure(tmp_path: Path) -> None:
    result = run_cli("figures", "--out", str(tmp_path), "--only", "precision_wall")
    assert result.code == 0, result.stdout + result.stderr
    assert (tmp_path / "precision_wall.pdf").stat().st_size > 0 and (tmp_path / "precision_wall.png").stat().st_size > 0
    assert "precision_wall: precision_wall.pdf, precision_wall.png" in result.stdout


def test_unknown_notebook_is_one_line_and_status_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("figures", "--out", str(tmp_path), "--only", "nosuch"), "no notebook named 'nosuch'")
