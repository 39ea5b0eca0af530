"""A third adversarial review: ``loopbound modulus`` witnesses on user targets, sup|f| of a needle
target, and ``verify --json``. None of the first two reviews' cases is repeated.

Each test asserts the *correct* behaviour. ``DEFECT`` tests fail on the tree they were written
against; the others are attacks the tool withstood.
"""

from __future__ import annotations

import json
import math
import textwrap
from fractions import Fraction
from pathlib import Path

from tests.loopbound.cli_runner import run_cli

TARGETS = """
import torch

def absx(X):
    return (X - 0.3).abs()

def gap(X):
    # 1 at x <= 0, -1 at x >= float(0.1) = 1/10 + 5.6e-18, 0 in between.
    return (X <= 0.0).to(X.dtype) - (X >= 0.1).to(X.dtype)

def swap(X):
    # token n's output is the other token's input (N = 2): purely contextual
    return X.flip(1)

def needle(X):
    # 1e6 on |x - 0.5| < 1e-9, 0 elsewhere; the grid-2 construction samples f at x = 0.5
    return 1e6 * (X - 0.5).abs().lt(1e-9).to(X.dtype)
"""


def _targets(tmp_path: Path) -> Path:
    path = tmp_path / "adversarial_targets_3.py"
    path.write_text(textwrap.dedent(TARGETS))
    return path


def _strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"non-JSON constant {name} in output")

    return json.loads(text, parse_constant=refuse)


def _modulus(tmp_path: Path, fn: str, *args: str) -> dict:
    result = run_cli("modulus", f"{_targets(tmp_path)}:{fn}", "--json", *args)
    assert result.code == 0, result.stderr
    return _strict_json(result.stdout)


def _dist2(row: dict) -> Fraction:
    X, Y = row["witness"]["X"], row["witness"]["Y"]
    return sum((Fraction(a) - Fraction(b)) ** 2 for xr, yr in zip(X, Y) for a, b in zip(xr, yr))


# =========================================================================== DEFECTS (fail today)
def test_defect_modulus_witness_respects_the_decimal_delta(tmp_path: Path) -> None:
    """DEFECT. ``--deltas 0.1`` means δ = 1/10. For gap, a difference of 2 needs x <= 0 and
    y >= float(0.1) = 1/10 + 5.55e-18, i.e. |x - y| > 1/10; every other pair differs by at most 1
    (attained at (0, 0.05)). So ω(1/10) = 1 for token and sequence kinds (N = 1), any p.
    loopbound certified lower = 2 with witness X = 0, Y = 0.1 (float), whose exact distance
    float(0.1) exceeds 1/10: the certification compares against float(δ)², not δ²."""
    for kind, p in (("token", "1"), ("sequence", "3")):
        data = _modulus(tmp_path, "gap", "--kind", kind, "--N", "1", "--deltas", "0.1", "--p", p)
        (row,) = data["results"]
        assert row["lower"] <= 1.0 + 1e-9, (kind, row)
        assert _dist2(row) <= Fraction(1, 10) ** 2 or row["lower"] <= 1.0 + 1e-9


def test_defect_sup_of_a_needle_target_is_not_zero_and_hypotheses_not_claimed(tmp_path: Path) -> None:
    """DEFECT. needle is 1e6 at x = 0.5, a point of the grid-2 construction (r = 5), and the measured
    error there is 7.07e5, so sup|f| >= 1e6 is known to loopbound (and its own modulus witness gives
    ω >= 1e6, hence sup|f| >= 5e5). ``verify --bound theorem`` printed "sup|f| = 0 (estimate)" and
    "hypotheses: within the theorem's hypotheses (… outputs in [0, 1]: estimate …)" — false: f takes
    the value 1e6. Correct: sup|f| reported >= 5e5, and outputs in [0, 1] not claimed to hold."""
    result = run_cli(
        "verify",
        f"{_targets(tmp_path)}:needle",
        "--N",
        "1",
        "--d",
        "1",
        "--loops",
        "5,11",
        "--samples",
        "256",
        "--no-sup",
        "--bound",
        "theorem",
        "--json",
    )
    data = _strict_json(result.stdout)
    assert data["sup_target"]["value"] >= 5e5, data["sup_target"]


# =========================================================================== attacks withstood
def test_abs_target_token_p1_witness_is_exact_and_below_delta(tmp_path: Path) -> None:
    """f(x) = |x - 0.3| is 1-Lipschitz with ω(δ) = δ for δ <= 0.7: lower in [0.97δ, δ], witness inside
    the cube at exact distance <= δ (δ = 1/10 and 3/10 are not dyadic; checked against the decimal)."""
    data = _modulus(tmp_path, "absx", "--kind", "token", "--N", "1", "--deltas", "0.1,0.3", "--p", "1")
    for row in data["results"]:
        delta = Fraction(str(row["delta"]))
        assert 0.97 * row["delta"] <= row["lower"] <= row["delta"] * (1 + 1e-9)
        assert _dist2(row) <= delta**2
        assert all(0 <= v <= 1 for m in (row["witness"]["X"], row["witness"]["Y"]) for r in m for v in r)


def test_contextual_swap_target_p3(tmp_path: Path) -> None:
    """out_n = x_{1-n}: ω^cont(δ) = δ (move the other token by δ), ω^tok = 0."""
    data = _modulus(tmp_path, "swap", "--N", "2", "--deltas", "0.1,0.3", "--p", "3")
    by_kind = {(r["kind"], r["delta"]): r for r in data["results"]}
    for delta in (0.1, 0.3):
        ctx = by_kind[("contextual", delta)]
        assert 0.97 * delta <= ctx["lower"] <= delta * (1 + 1e-9)
        assert _dist2(ctx) <= Fraction(str(delta)) ** 2
        assert by_kind[("token", delta)]["lower"] <= 1e-12


def test_verify_json_of_a_needle_is_strict_json_and_consistent(tmp_path: Path) -> None:
    """verify --json on the needle target is valid JSON (no NaN/Infinity), and "held" is true only if
    every row's status is held."""
    result = run_cli(
        "verify",
        f"{_targets(tmp_path)}:needle",
        "--N",
        "1",
        "--d",
        "1",
        "--loops",
        "5,11",
        "--samples",
        "256",
        "--no-sup",
        "--json",
    )
    data = _strict_json(result.stdout)
    for row in data["rows"]:
        for key in ("error", "bound", "ratio"):
            if row.get(key) is not None:
                assert math.isfinite(row[key])
    if result.code == 0:
        assert all(row.get("status", "held") == "held" for row in data["rows"])
