"""``loopbound verify --bound`` tried adversarially: a bound string never runs code (on the command
line or in a sweep file being validated), bad bounds are one line with exit status 2, a bound
undefined at some r is refused naming r, a range is never sampled, and a bound that decreases in a
modulus known only from below cannot be "held"."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.loopbound.cli_runner import assert_one_line_error, run_cli

pytest.importorskip(
    "loopbound.constructions.universal", reason="needs constructions/universal.py (the lead's construction)"
)

SMALL = ("--samples", "256", "--no-sup")
HOSTILE = {
    "open": "open('pwned.txt','w')",
    "exec": "1000*(exec(chr(95)*2+'import'+chr(95)*2+'(\"os\").system(\"touch pwned.txt\")') or 1)",
    "import": "__import__('os').system('touch pwned.txt')",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_bound_string_never_runs_code(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("verify", "smooth", "--N", "1", "--loops", "5", *SMALL, "--bound", HOSTILE[name])
    assert_one_line_error(result, "--bound", "not a mathematical expression")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_file_bound_never_runs_code_while_it_is_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config = tmp_path / "hostile.toml"
    config.write_text(
        textwrap.dedent("""
        cell = "approximation"
        targets = ["smooth"]
        d = 1
        N = 1
        device = "cpu"
        [approximation]
        loops = [5]
        samples = 256
        sup = false
        bound = "open('pwned.txt','w')"
    """)
    )
    result = run_cli("sweep", str(config), "--out", str(tmp_path / "store"))
    assert_one_line_error(result, "bound", "unknown function 'open'")
    assert list(work.iterdir()) == [] and not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    "bound, fragment",
    [
        ("Symbol('w')", "unknown function 'Symbol'"),
        ("Dummy('w')", "unknown function 'Dummy'"),
        ("zoo", "unknown symbol 'zoo'"),
        ("1/0", "divides by zero"),
        ("log(0)", "undefined"),
        ("I", "unknown symbol 'I'"),
        ("1+I", "unknown symbol 'I'"),
        ("10**400", "overflows float64"),
        ("factorial(10**6)", "unknown function 'factorial'"),
        ("9**9**9", "overflows float64"),
    ],
)
def test_bad_bounds_are_one_line_and_exit_2(bound: str, fragment: str) -> None:
    result = run_cli("verify", "smooth", "--N", "1", "--loops", "5", *SMALL, "--bound", bound)
    assert_one_line_error(result, "--bound", fragment)


@pytest.mark.parametrize(
    "bound, r, what",
    [
        ("(r-11)**-1 + 1", 11, "infinite"),
        ("sqrt(r - 8) + 1", 5, "NaN"),
    ],
)
def test_a_bound_undefined_at_some_r_is_refused_naming_r(bound: str, r: int, what: str) -> None:
    result = run_cli("verify", "smooth", "--N", "1", "--loops", "5,11", *SMALL, "--bound", bound)
    assert_one_line_error(result, what, f"r = {r}")


def test_an_interior_minimum_of_the_bound_is_not_sampled_past() -> None:
    """The issue's case: the sampled range 0.1066..16.5 called the row held; the bound reaches 0.05
    inside w's bracket, below the measured error."""
    result = run_cli(
        "verify",
        "smooth",
        "--N",
        "2",
        "--timestep",
        "--loops",
        "9",
        *SMALL,
        "--json",
        "--bound",
        "0.05 + 100*(w - 0.6840139322936072)^2",
    )
    assert result.code == 1, result.stderr
    payload = json.loads(result.stdout)
    row = payload["rows"][0]
    assert row["bound_method"] == "interval arithmetic" and row["bound_reason"] is None
    assert row["bound"] <= 0.05 and row["lower"] > 0.05
    assert payload["verdict"]["status"] != "held"


TENT = '''
import torch

def tent(X):
    """0.1·x plus a tent of height 1 and width 1e-6: the true ω is at least 1 at every scale, a
    modulus search sees about 0.05."""
    centre, half_width = 0.3141592653589793, 0.5e-6
    return 0.1 * X + torch.clamp(1.0 - (X - centre).abs() / half_width, min=0.0)
'''


def test_a_bound_decreasing_in_an_estimated_modulus_is_not_held(tmp_path: Path) -> None:
    """``0.02·δ²/w`` at the estimated w (a lower estimate, ~0.05) read "held" at every r with exit 0,
    while at the true w ≥ 1 it is violated at every r: a bound decreasing in a modulus known only
    from below cannot hold on the estimate; the row and the verdict say why."""
    source = tmp_path / "tent.py"
    source.write_text(TENT)
    result = run_cli(
        "verify", f"{source}:tent", "--N", "1", "--loops", "5,11", *SMALL, "--json", "--bound", "0.02*delta^2/w"
    )
    assert result.code == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["moduli_sources"] == {"w": "estimate"}
    assert all(row["upper"] < row["bound"] for row in payload["rows"])  # what once read "held"
    assert payload["verdict"]["status"] == "inconclusive" and payload["verdict"]["inconclusive"] == [5, 11]
    for row in payload["rows"]:
        assert "decreases in w, which is only estimated from below" in row["bound_reason"]
    assert "decreases in w, which is only estimated from below" in payload["verdict"]["summary"]
    table = run_cli("verify", f"{source}:tent", "--N", "1", "--loops", "5,11", *SMALL, "--bound", "0.02*delta^2/w")
    assert table.code == 1 and "decreases in w" in table.stdout and "held" not in table.stdout.split("verdict:")[0]


def test_a_bound_nondecreasing_in_an_estimated_modulus_can_hold(tmp_path: Path) -> None:
    """The control: a bound nondecreasing in w is smallest at the certified lower estimate, so a
    measured error below it there holds (exit 0)."""
    source = tmp_path / "tent.py"
    source.write_text(TENT)
    result = run_cli("verify", f"{source}:tent", "--N", "1", "--loops", "5,11", *SMALL, "--json", "--bound", "10*w + 1")
    assert result.code == 0, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert all(row["bound_method"] == "monotone" and row["bound_reason"] is None for row in payload["rows"])
