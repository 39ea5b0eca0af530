"""An adversarial review of ``loopbound verify`` and ``loopbound modulus`` (after issue 9's fixes).

Each test asserts the *correct* behaviour. The ``DEFECT`` tests fail on the tree they were written
against (each says what it printed and the hand derivation of the truth); the others are attacks
the tool withstood, kept so that it keeps withstanding them.

Hand-derived facts used below (holder = f(x) = scale·x^{1/2}, d = N = 1, p = 2):
- at r = 5 the construction uses grid m = 2 and its measured L² error is 0.3745·scale (docs/verify.md
  prints 0.3749 at 16384 points; 512 points give [0.3734, 0.3754]·scale), so for scale = 32 the
  error is 11.98 ± 0.03;
- at r = 11 and 19 the grids are 3 and 4, errors 0.252 and 0.190; every error is > 0.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from loopbound.theory.bounds.parse import parse_expression
from loopbound.theory.errors import InputError
from tests.loopbound.cli_runner import assert_one_line_error, held_in_a_bound_sweep, run_cli

SMALL = ("--samples", "512")


def _verdict_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("verdict:"))


def _write_targets(tmp_path: Path) -> Path:
    path = tmp_path / "adversarial_targets.py"
    path.write_text(
        textwrap.dedent(
            """
        import torch

        def lin(X):
            # f(x) = x/2: omega(t) = t/2 exactly (d = N = 1, p = 2)
            return 0.5 * X

        def tent(X):
            # 0.1 x plus a tent of height 1 and half-width 1e-6 at 1/2: the true omega(t) >= 1 for every
            # t >= 1e-6, while a sampled estimate of it can be far lower
            return 0.1 * X + (1.0 - (X - 0.5).abs() / 1e-6).clamp_min(0.0)

        def dout2(X):
            # d_out = 2 != d = 1: outside Theorem 3.6's hypotheses
            return torch.cat([X, X], dim=-1) * 0.5
        """
        )
    )
    return path


# =========================================================================== DEFECTS (fail today)
def test_defect_rounding_in_bound_arithmetic_cannot_make_a_false_held() -> None:
    """DEFECT. ``1e19 + 9 - 1e19`` is 9 (1e19 = 10^19 is exact in float64, and so is every literal
    here), but the parser adds in sympy Floats of 60 bits: 10^19 + 9 rounds to 10^19 + 16, and the
    bound becomes 16. Against holder:scale=32 at r = 5 (measured 11.98 [11.95, 12.01], hand value
    32·0.3745) the true bound 9 is violated; loopbound printed "bound: 16", "held" and exit 0."""
    expression = parse_expression("1e19 + 9 - 1e19")
    assert float(expression) == 9.0, f"1e19 + 9 - 1e19 parsed as {expression}"
    result = run_cli("verify", "holder:scale=32", "--N", "1", "--loops", "5", *SMALL, "--bound", "1e19 + 9 - 1e19")
    assert result.code == 1, result.stdout
    assert "violated" in _verdict_line(result.stdout)


ZERO = "(r + 10^16)^2 - 10^32 - 2*10^16*r - r^2"
"""Identically 0 (expand the square), written with integer literals only: a bound of 0 that every
positive error violates. Evaluated in float64 (lambdify) it is ±2^54 ≈ ±1.8e16 by cancellation:
+1.8e16 at r = 11 and 19."""


def test_defect_float64_cancellation_in_the_bound_cannot_make_a_false_held() -> None:
    """DEFECT. verify evaluated ``(r + 10^16)^2 - 10^32 - 2*10^16*r - r^2`` (≡ 0) in float64 and got
    1.801e+16 at r = 11, 19: "held" at both, exit 0. The truth: the bound is 0 at every r and the
    errors (0.252, 0.190) exceed it: violated. Either evaluate exactly / with a certified enclosure
    (then "violated"), or refuse a value that is not certified — never "held"."""
    result = run_cli("verify", "holder", "--N", "1", "--loops", "11,19", *SMALL, "--bound", ZERO)
    assert result.code != 0, result.stdout
    if result.code == 1:
        assert "bound holds" not in _verdict_line(result.stdout)
        assert "1.801e+16" not in result.stdout


def test_defect_float64_cancellation_in_a_sweep_bound_cannot_record_held(tmp_path: Path) -> None:
    """DEFECT. The same bound in a sweep file's ``bound`` is recorded as held (verdict.held true,
    row bound 1.8014398509481984e+16) for holder at r = 11; the truth is violated."""
    assert held_in_a_bound_sweep(tmp_path, name="adversarial-cancellation", bound=ZERO) is not True


def test_defect_log_to_base_zero_is_refused_not_read_as_zero() -> None:
    """DEFECT. ``log(w, 0)`` = log(w)/log(0) is undefined (log 0 = −∞); sympy reduces it to 0, so
    ``1 + log(w, 0)`` became the bound 1 and "held" (exit 0) against holder at r = 5. ``log(w, 1)``
    is refused; base 0 must be too (one line, exit 2)."""
    with pytest.raises(InputError):
        parse_expression("1 + log(w, 0)")
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5", *SMALL, "--bound", "1 + log(w, 0)")
    assert_one_line_error(result, "--bound")


def test_defect_zero_over_zero_at_an_exact_modulus_is_refused() -> None:
    """DEFECT (lesser). With N = 1, w_cont = 0 exactly, so ``w_cont/w_cont`` is 0/0 at every r — as
    undefined as ``(r-11)**-1 + 1`` at r = 11, which verify refuses. sympy cancels it to 1 at parse
    time and verify printed "bound 1 … held", exit 0."""
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5", *SMALL, "--bound", "w_cont/w_cont")
    assert result.code == 2, result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("smooth", "--deltas", "1e-6"),  # a built-in, default N = 2
        ("smooth", "--deltas", "3e-8", "--N", "1", "--kind", "sequence"),
        ("USER:lin", "--deltas", "1e-9", "--N", "1", "--kind", "sequence"),
    ],
)
def test_defect_modulus_at_small_delta_is_no_traceback(args: tuple[str, ...], tmp_path: Path) -> None:
    """DEFECT. ``loopbound modulus smooth --deltas 1e-6`` (and a user target x/2 at δ = 1e-9) ended in
    a traceback: ``RuntimeError: could not pull a witness pair inside the δ-ball``
    (theory/modulus.py certify: shrinking Y − X by (1 − 1e-12) cannot get below δ once the entries
    are ~0.5 and δ < ~1e-4, because X + (Y − X)·s rounds back to Y). The correct answer is a
    certified lower bound (for x/2: δ/2 by any pair at distance δ), or at worst one line, exit 2."""
    if args[0].startswith("USER:"):
        args = (f"{_write_targets(tmp_path)}:{args[0][5:]}", *args[1:])
    result = run_cli("modulus", *args)  # today: RuntimeError propagates out of main
    assert "Traceback" not in result.stderr
    if result.code == 2:
        assert_one_line_error(result)
    else:
        assert result.code == 0 and "certified" in result.stdout


# =========================================================================== attacks withstood
@pytest.mark.parametrize(
    "text",
    [
        "open('PWNED','w')",
        "1000*(exec(chr(95)*2+'import'+chr(95)*2+'(\"os\").system(\"touch PWNED\")') or 1)",
        "Symbol('w')",
        "(lambda: 1)()",
        "w.__class__",
        "1e999",
        "E**1000",
        "9**9**9",
        "10**400",
        "exp(1000)",
        "log(0)",
        "1/0",
        "zoo",
        "I",
        "1+1j",
        "\u0661",  # ARABIC-INDIC DIGIT ONE
        "Piecewise((1, w < 0.5), (100, True))",
        "sqrt(" * 70 + "w" + ")" * 70,
        "(" * 300 + "w" + ")" * 300,
        "w+" * 1100 + "w",
        "w > 1",
    ],
)
def test_hostile_bound_strings_are_refused_in_one_line_without_side_effects(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5", "--samples", "256", "--bound", text)
    assert_one_line_error(result, "--bound")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, value", [("0x10", 16), ("1_000", 1000), ("2^3^2", 512), ("\uff57", None)])
def test_python_literal_spellings_mean_their_numbers(text: str, value: int | None) -> None:
    expression = parse_expression(text)
    if value is None:  # fullwidth w is NFKC-normalised to the symbol w, not a new symbol
        assert {s.name for s in expression.free_symbols} == {"w"}
    else:
        assert expression == value


def test_underflow_at_tiny_scale_and_large_p_is_not_held() -> None:
    """Issue 9's case: holder:scale=1e-12, p = 30, bound 1e-300; true errors ≈ 6e-13 and 1e-12."""
    result = run_cli(
        "verify",
        "holder:scale=1e-12",
        "--N",
        "1",
        "--loops",
        "5,11",
        "--p",
        "30",
        "--samples",
        "256",
        "--bound",
        "1e-300",
    )
    assert result.code == 1
    assert "violated at r = 5, 11" in _verdict_line(result.stdout)


def test_decreasing_bound_in_an_estimated_modulus_cannot_hold(tmp_path: Path) -> None:
    """The tent target's true ω is ≥ 1 at every grid; 0.02·δ²/w decreases in w, which is only
    estimated from below: no "held" (the old false held of issue 9)."""
    spec = f"{_write_targets(tmp_path)}:tent"
    result = run_cli("verify", spec, "--N", "1", "--loops", "5", "--samples", "256", "--bound", "0.02*delta^2/w")
    assert result.code == 1
    assert "decreases in w" in _verdict_line(result.stdout)


@pytest.mark.parametrize("text", ["abs(w-0.5)+10", "max(w, 1/w)", "w^-1", "floor(w*10)+10"])
def test_non_monotone_bounds_in_an_estimated_modulus_are_inconclusive(text: str, tmp_path: Path) -> None:
    """For f(x) = x/2 the true w at grid 2 is 0.3536 but loopbound only knows a lower estimate: a
    bound not shown nondecreasing in w cannot be 'held' on it, however large it looks."""
    spec = f"{_write_targets(tmp_path)}:lin"
    result = run_cli("verify", spec, "--N", "1", "--loops", "5", "--samples", "256", "--bound", text)
    assert result.code == 1, result.stdout
    assert "estimated from below" in _verdict_line(result.stdout)


def test_theorem_bound_outside_its_hypotheses_says_so(tmp_path: Path) -> None:
    spec = f"{_write_targets(tmp_path)}:dout2"
    result = run_cli("verify", spec, "--N", "2", "--loops", "9", "--samples", "256", "--bound", "theorem")
    assert "outside the theorem's hypotheses" in _verdict_line(result.stdout)
    assert "d_out = 2" in result.stdout


def test_infeasible_loop_budget_is_refused_before_work() -> None:
    result = run_cli("verify", "holder", "--d", "3", "--N", "3", "--loops", "100000000000", "--samples", "256")
    assert_one_line_error(result, "largest feasible")


@pytest.mark.parametrize("scale", ["1e300", "1e-300"])
def test_modulus_at_extreme_scales_is_finite_and_ordered(scale: str) -> None:
    result = run_cli("modulus", f"contextual_max:scale={scale}", "--d", "2", "--N", "3", "--deltas", "0.1", "--json")
    assert result.code == 0, result.stderr
    rows = {row["kind"]: row for row in json.loads(result.stdout)["results"]}
    factor = float(scale)
    for kind, exact in (("sequence", 3**0.5 * 0.1), ("token", 0.1), ("contextual", 0.1)):
        lower = rows[kind]["lower"]
        assert 0 < lower <= exact * factor * (1 + 1e-12) and lower >= 0.99 * exact * factor
    assert rows["token"]["lower"] <= rows["sequence"]["lower"]
    assert rows["contextual"]["lower"] <= rows["sequence"]["lower"]


@pytest.mark.parametrize(
    "args",
    [
        ("--level", "nan"),
        ("--level", "1"),
        ("--p", "inf"),
        ("--p", "0.5"),
        ("--samples", "2"),
        ("--seed", "-1"),
        ("--loops", "0"),
    ],
)
def test_bad_settings_are_one_line_refusals(args: tuple[str, ...]) -> None:
    loops = () if "--loops" in args else ("--loops", "5")
    result = run_cli("verify", "holder", "--N", "1", *loops, *args)
    assert_one_line_error(result)
