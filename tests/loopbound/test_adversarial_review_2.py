"""A second adversarial review of ``loopbound verify`` / ``sweep`` with a bound (after issue 9's fixes
and the restructuring of the verdict code). None of tests/loopbound/test_adversarial_review.py's
cases is repeated.

Each test asserts the *correct* behaviour. The ``DEFECT`` tests fail on the tree they were written
against (each says what it printed and the hand derivation of the truth); the others are attacks
the tool withstood.

The common root of the first three defects: every number a bound is evaluated at is *put in* as a
float64 (``delta = 1.0 / m``, the built-ins' "exact" moduli computed in float64, the moduli's
argument δ√(Nd) in float64) although the bound itself is then evaluated exactly. 1/3 and 1/5 are not
float64 numbers (float(1/3) = 1/3 − 1.9e-17, float(1/5) = 1/5 + 1.1e-17), so a bound with a jump
(floor, ceiling) at the true value, or one that magnifies the last bit, is certified "held" at a
value that is not the bound's value.

Hand-derived facts (holder = f(x) = x^{1/2}, d = N = 1, p = 2): r = 11 builds grid m = 3, r = 29
grid 5, r = 41 grid 6; the measured L² errors are ≈ 0.25, 0.16, 0.135, all > 0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.loopbound.cli_runner import assert_one_line_error, held_in_a_bound_sweep, run_cli

SMALL = ("--samples", "256", "--no-sup")
ROOT = Path(__file__).resolve().parents[2]


def _verdict_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("verdict:"))


def _write_targets(tmp_path: Path) -> Path:
    path = tmp_path / "adversarial_targets_2.py"
    path.write_text(
        textwrap.dedent(
            """
        import torch

        def step(X):
            # 1 at x <= 0, -1 at x >= 0.2 (the float64 0.2 = 1/5 + 1.1e-17), 0 in between.
            # omega(1/5) = 1 exactly: a pair with values 1 and -1 needs x <= 0 and y >= float(0.2) > 1/5,
            # every other pair differs by at most 1 (attained at (0, 0.1)).
            return (X <= 0.0).to(X.dtype) - (X >= 0.2).to(X.dtype)
        """
        )
    )
    return path


# =========================================================================== DEFECTS (fail today)
@pytest.mark.parametrize("text", ["1 - floor(3*delta)", "ceiling(1/delta) - 1/delta"])
def test_defect_delta_is_the_grid_1_over_m_exactly_not_its_float(text: str) -> None:
    """DEFECT. docs/verify.md: ``delta`` is the construction's grid 1/m at r. At r = 11, m = 3:
    1 − floor(3·(1/3)) = 0 and ceiling(3) − 3 = 0, so both bounds are 0 and the error ≈ 0.25 violates
    them. loopbound put in delta = float(1/3) = 1/3 − 1.9e-17, evaluated floor(0.99…) = 0 and
    ceiling(3.00…02) = 4 exactly, printed the bound 1 (resp. 1 − 1.7e-16), "held" and exit 0."""
    result = run_cli("verify", "holder", "--N", "1", "--loops", "11", *SMALL, "--bound", text)
    assert result.code != 0, result.stdout
    if result.code == 1:
        assert "held" not in _verdict_line(result.stdout), result.stdout


def test_defect_delta_rounding_in_a_sweep_bound_cannot_record_held(tmp_path: Path) -> None:
    """DEFECT. The same bound in a sweep file is recorded with verdict.held = true (row bound 1.0)
    for holder at r = 11; the truth is violated (the bound is 0)."""
    assert held_in_a_bound_sweep(tmp_path, name="adversarial-delta", bound="1 - floor(3*delta)") is not True


@pytest.mark.parametrize(
    "loops, text",
    [
        ("11", "1 - floor(3*w^2)"),  # m = 3: w^2 = 1/3, bound 1 - 1 = 0; float w gives 3w^2 < 1, bound 1
        ("41", "1e17*(6*w^2 - 1) + 0.05"),  # m = 6: w^2 = 1/6, bound 0.05; float w gives 0.473
    ],
)
def test_defect_an_exact_modulus_is_not_rounded_into_a_false_held(loops: str, text: str) -> None:
    """DEFECT. holder's modulus is printed "w exact": w = ω(δ) = δ^{1/2}, so w² = 1/m exactly. loopbound
    uses sqrt(float(1/m)) rounded to float64: at m = 3 its square is 1/3 − 3.9e-17, at m = 6 it is
    1/6 + 7.0e-19. ``1 - floor(3*w^2)`` is truly 0 at m = 3 (error 0.25: violated) and
    ``1e17*(6*w^2 - 1) + 0.05`` truly 0.05 at m = 6 (error 0.135: violated); loopbound printed bounds
    1 and 0.4732, "held", exit 0. A modulus known only to float64 is a bracket of a few ulps, not
    an exact value."""
    result = run_cli("verify", "holder", "--N", "1", "--loops", loops, *SMALL, "--bound", text)
    assert result.code != 0, result.stdout
    if result.code == 1:
        assert "held" not in _verdict_line(result.stdout), result.stdout


def test_defect_estimated_modulus_is_a_lower_bound_at_the_true_argument(tmp_path: Path) -> None:
    """DEFECT. For the step target at r = 29 (m = 5) the bound reads w = ω_f(δ√(Nd)) = ω_f(1/5) = 1
    (derivation in the target). loopbound searched at the float argument 0.2 > 1/5, "certified" the
    pair (0, 0.2) at distance 0.2 + 1.1e-17 > 1/5 and reported w ≥ 2, a lower bound above the truth.
    With ``10*(w - 1.5)`` (truly −5, below any error: violated) it printed the bound 5..5, "held",
    exit 0."""
    spec = f"{_write_targets(tmp_path)}:step"
    result = run_cli("verify", spec, "--N", "1", "--loops", "29", *SMALL, "--bound", "10*(w - 1.5)", "--json")
    assert result.code != 0, result.stdout
    if result.code == 1:
        record = json.loads(result.stdout)
        assert record["verdict"]["held"] is False
        (modulus,) = record["rows"][0]["moduli"]
        assert modulus["lower"] <= 1.0, modulus  # a certified lower bound on ω_f(1/5) = 1


def test_defect_a_huge_loops_range_count_is_refused_or_quick() -> None:
    """DEFECT (hang). ``--loops 5:11:1000000000`` names at most 7 distinct r, but parse_loops builds
    all 10^9 rounded values first: over 60 s and 2.8 GB before any work (issue 9 asked for sizes to
    be refused before work). Correct: dedupe without enumerating (or refuse COUNT in one line)."""
    command = [
        sys.executable,
        "-c",
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30));"
        "from loopbound.cli import main; sys.exit(main(['verify', 'holder', '--N', '1', '--loops',"
        " '5:11:1000000000', '--samples', '256', '--no-sup']))",
    ]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=45)
    except subprocess.TimeoutExpired:
        pytest.fail("--loops 5:11:1000000000 ran for more than 45 s")
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-500:]
    if done.returncode == 2:
        assert len(done.stderr.strip().splitlines()) == 1
    else:
        assert done.returncode == 0, done.stderr[-500:]


# =========================================================================== attacks withstood
def test_json_table_and_latex_agree_on_a_mixed_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A constant bound 0.31 between the errors at r = 5 (0.3745) and r = 11 (0.25): violated at 5,
    held at 11, the same in the table, the JSON and the LaTeX."""
    monkeypatch.chdir(tmp_path)
    args = ("verify", "holder", "--N", "1", "--loops", "5,11", *SMALL, "--bound", "0.31 + 0*w")
    table = run_cli(*args)
    as_json = run_cli(*args, "--json", "--latex", str(tmp_path / "o.tex"))
    assert table.code == as_json.code == 1
    assert "violated at r = 5" in _verdict_line(table.stdout)
    record = json.loads(as_json.stdout)
    assert [(row["r"], row["status"]) for row in record["rows"]] == [(5, "violated"), (11, "held")]
    assert record["verdict"]["held"] is False and record["verdict"]["violated"] == [5]
    latex = (tmp_path / "o.tex").read_text()
    assert "Verdict: bound violated at r = 5" in latex


def test_unsorted_duplicate_loops_and_a_collapsing_range() -> None:
    """``11,5,11,5`` is two rows (5, 11); ``5:6:3`` is r = 6 (5 and 6 run the same construction, and a
    range keeps one budget per construction, the largest); a negative bound is violated (exit 1)
    also at --level 0.5, and the odd --samples is rounded up, said in the JSON."""
    result = run_cli(
        "verify",
        "holder",
        "--N",
        "1",
        "--loops",
        "11,5,11,5",
        "--samples",
        "300",
        "--no-sup",
        "--level",
        "0.5",
        "--bound",
        "-1 + 0*delta",
        "--json",
    )
    assert result.code == 1
    record = json.loads(result.stdout)
    assert [row["r"] for row in record["rows"]] == [5, 11]
    assert record["verdict"]["violated"] == [5, 11] and record["settings"]["level"] == 0.5
    assert record["settings"]["samples"] >= 300
    ranged = run_cli("verify", "holder", "--N", "1", "--loops", "5:6:3", *SMALL, "--json")
    assert [row["r"] for row in json.loads(ranged.stdout)["rows"]] == [
        6
    ]  # 5 and 6 run one construction: the largest kept


def test_min_with_a_bracketed_modulus_is_held_only_at_its_low_end() -> None:
    """smooth's w is bracketed: min(w, 0.001) + 0.3 is 0.301 for every w in the bracket (w_lo > 0.001),
    and the error at r = 5 is 0.069: held, against 0.301."""
    result = run_cli("verify", "smooth", "--N", "1", "--loops", "5", *SMALL, "--bound", "min(w, 0.001) + 0.3", "--json")
    assert result.code == 0
    row = json.loads(result.stdout)["rows"][0]
    assert row["bound"] <= 0.301 + 1e-12 and row["status"] == "held"


def test_theorem_bound_at_large_p_has_no_negative_interval_end() -> None:
    """At p = 1000 the t-interval on the replicates reaches below 0; the L^p interval is clipped at
    0, not NaN, and the run ends normally."""
    result = run_cli(
        "verify", "holder", "--N", "1", "--loops", "5", *SMALL, "--p", "1000", "--bound", "theorem", "--json"
    )
    assert result.code in (0, 1), result.stderr
    row = json.loads(result.stdout)["rows"][0]
    assert 0.0 <= row["lower"] <= row["error"] <= row["upper"]


def test_figures_read_a_verify_record(tmp_path: Path) -> None:
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5,11", *SMALL, "--json")
    source = tmp_path / "v.json"
    source.write_text(result.stdout)
    figures = run_cli("figures", str(source), "--out", str(tmp_path / "fig"), "--stem", "x")
    assert figures.code == 0, figures.stderr
    assert (tmp_path / "fig" / "x.png").exists() and (tmp_path / "fig" / "x.pdf").exists()


def test_a_malformed_loops_range_is_one_line() -> None:
    assert_one_line_error(run_cli("verify", "holder", "--N", "1", "--loops", "5:3:2", *SMALL))


def test_loops_range_matches_the_rounded_log_spacing_and_refuses_beyond_its_limit() -> None:
    """LOW:HIGH:COUNT gives the distinct values of round(LOW·(HIGH/LOW)^(k/(COUNT−1))), k = 0..COUNT−1,
    without building COUNT of them; more than LOOPS_RANGE_MAX distinct values is one line."""
    from loopbound.theory.errors import InputError
    from loopbound.verify import LOOPS_RANGE_MAX, parse_loops

    for low, high, count in [(5, 41, 7), (1, 1000, 50), (3, 9, 1000), (17, 1025, 13), (2, 2, 4), (7, 9, 2)]:
        direct = sorted({round(low * (high / low) ** (k / (count - 1))) for k in range(count)})
        assert parse_loops(f"{low}:{high}:{count}") == tuple(direct)
    assert parse_loops("5:41:1000000000") == tuple(range(5, 42))
    with pytest.raises(InputError, match="loops"):
        parse_loops(f"1:{10 * LOOPS_RANGE_MAX}:{10 * LOOPS_RANGE_MAX}")
