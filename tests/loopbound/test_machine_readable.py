"""What loopbound writes for machines: JSON with numbers (never Python reprs) and a metadata block
(schema and loopbound versions, git commit, UTC timestamp), CSV tables that read back to the JSON's
numbers, the note when --samples is rounded, and a user's bound tagged "claimed"."""

from __future__ import annotations

import csv
import datetime
import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loopbound import __version__
from loopbound.commands.verify import samples_note
from loopbound.metadata import SCHEMA_VERSION, commit_of, git_commit, json_number, metadata
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

REPOSITORY = Path(__file__).resolve().parents[2]
REPR = re.compile(r"^\(.*\)$|^\[.*\]$|^-?\d+/\d+$|^-?\d+(\.\d*)?(e[-+]?\d+)?$")
"""A string that is a number, a fraction or a tuple/list written out: a Python repr in JSON."""


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, string) in a JSON value."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _strings(item, f"{path}[{i}]")]
    return []


def _assert_metadata(payload: dict[str, Any]) -> None:
    assert payload["schema_version"] == SCHEMA_VERSION
    assert payload["loopbound_version"] == __version__
    assert payload["git_commit"] == git_commit()
    stamp = datetime.datetime.fromisoformat(payload["timestamp"])
    assert stamp.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - stamp).total_seconds()) < 600


def test_metadata_names_the_checkouts_commit() -> None:
    block = metadata()
    assert set(block) == {"schema_version", "loopbound_version", "git_commit", "timestamp"}
    if (REPOSITORY / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True)
        if head.returncode == 0:
            assert block["git_commit"] == head.stdout.strip()


def test_no_commit_outside_a_checkout_or_when_git_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert commit_of(tmp_path) is None
    (tmp_path / ".git").mkdir()  # a broken checkout: git fails, the commit is unknown
    assert commit_of(tmp_path) is None

    def slow(*args: Any, **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(cmd="git", timeout=kwargs.get("timeout", 0))

    monkeypatch.setattr(subprocess, "run", slow)
    assert commit_of(REPOSITORY) is None


def test_json_number_turns_exact_values_into_numbers() -> None:
    assert json_number(Fraction(1, 2)) == 0.5 and isinstance(json_number(Fraction(1, 2)), float)
    assert json_number((Fraction(0), 0.25)) == [0.0, 0.25]
    assert json_number(np.float64(1.5)) == 1.5 and json_number(np.int64(3)) == 3
    assert json_number(float("inf")) is None and json_number(True) is True and json_number("declared") == "declared"


def test_verify_json_carries_numbers_metadata_and_a_claimed_bound(tmp_path: Path) -> None:
    table = tmp_path / "rows.csv"
    result = run_cli(
        "verify", "holder", "--N", "1", "--timestep", "--loops", "5,11", "--samples", "1000", "--scramblings", "4",
        "--no-sup", "--bound", "r**-0.5", "--json", "--csv", str(table), "--quiet",
    )  # fmt: skip
    assert result.code in (0, 1), result.stderr
    payload = json.loads(result.stdout)
    _assert_metadata(payload)
    reprs = [(path, text) for path, text in _strings(payload) if REPR.match(text.strip())]
    assert reprs == [], reprs
    for row in payload["rows"]:
        guarantee = row["guarantee"]
        assert guarantee["delta"] == 1 / row["grid"] == row["delta"]
        assert isinstance(guarantee["value_error_bound"], list)
        assert all(isinstance(v, float) for v in guarantee["value_error_bound"])
    assert payload["bound"]["status"] == "claimed"
    assert "[paper]" not in json.dumps(payload) and payload["bound"]["provenance"].endswith("[claimed]")
    # --samples 1000 is rounded up, and says so in one line on stderr; the JSON holds what was used
    notes = [line for line in result.stderr.splitlines() if "rounded up" in line]
    assert len(notes) == 1 and f"to {payload['settings']['samples']} " in notes[0]
    assert payload["settings"]["samples"] == 1024

    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["r"]) for row in rows] == [row["r"] for row in payload["rows"]]
    for flat, row in zip(rows, payload["rows"]):
        for key in ("error", "lower", "upper", "bound", "ratio", "delta"):
            assert float(flat[key]) == row[key], key
        assert flat["status"] == row["status"] and flat["bound_status"] == "claimed"
        assert float(flat["values.S"]) == row["values"]["S"]


def test_samples_note_only_when_rounded() -> None:
    assert samples_note(1024, 4) is None and samples_note(16384, 8) is None
    note = samples_note(1000, 8)
    assert note is not None and "1000 is rounded up to 1024" in note and note.count("\n") == 1


def test_verify_text_names_its_csv(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    args = ["holder", "--N", "1", "--timestep", "--loops", "5", "--samples", "64", "--scramblings", "2"]
    result = run_cli("verify", *args, "--no-sup", "--quiet", "--csv", str(table))
    assert result.code in (0, 1), result.stderr
    assert f"CSV: {table}" in result.stdout and table.read_text().startswith("target,")
    assert_one_line_error(run_cli("verify", *args, "--csv", str(tmp_path / "t.txt")), ".csv")


def _samples_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "samples.npz"
    np.savez(path, X=rng.random((12, 2, 1)), Y=rng.random((12, 2, 1)))
    return path


def test_modulus_of_samples_defaults_to_the_sequence_kind_and_writes_csv(tmp_path: Path) -> None:
    samples, table = _samples_file(tmp_path), tmp_path / "moduli.csv"
    result = run_cli("modulus", str(samples), "--deltas", "0.2,0.5", "--json", "--csv", str(table))
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    _assert_metadata(payload)
    assert [r["kind"] for r in payload["results"]] == ["sequence", "sequence"]
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["lower"]) for r in rows] == [r["lower"] for r in payload["results"]]
    assert [r["upper"] for r in rows] == ["", ""]  # unknown: empty, as pandas reads a null
    # an explicit --kind the samples cannot support is still refused in one line
    assert_one_line_error(run_cli("modulus", str(samples), "--kind", "all", "--deltas", "0.2"), "sequence only")


def test_build_refuses_samples_with_the_right_message(tmp_path: Path) -> None:
    result = run_cli("build", str(_samples_file(tmp_path)), "--delta", "1/2")
    assert_one_line_error(result, "file of samples", "loopbound modulus")
    assert "name the function" not in result.stderr


def test_build_json_has_numbers_and_metadata() -> None:
    result = run_cli("build", "holder", "--delta", "1/4", "--timestep", "--json")
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    _assert_metadata(payload)
    assert payload["delta"] == 0.25 and payload["grid_size"] == 4 and payload["value_error_bound"] == [0.0]
    assert [(p, t) for p, t in _strings(payload) if REPR.match(t.strip())] == []


def test_a_refusal_stays_one_line_when_samples_would_be_rounded() -> None:
    result = run_cli("verify", "holder", "--samples", "100000000001", "--loops", "20", "--N", "2")
    assert_one_line_error(result, "--samples up to")
