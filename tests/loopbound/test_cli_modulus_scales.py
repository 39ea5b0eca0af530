"""The command line at extreme output scales: L^p errors that underflowed to 0 and printed
"held", moduli that overflowed to a "certified" inf or underflowed to 0, a witness that shrank to
Y = X at a tiny δ, and `.npz` samples scaled by 1e±200. Each case from the issue, as the user runs it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from loopbound.testing import assert_pair_meets_constraint
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import pair_value
from loopbound.theory.targets import builtin_target
from tests.loopbound.cli_runner import run_cli


def _verify(scale: str, p: str, *extra: str) -> tuple[int, dict]:
    result = run_cli(
        "verify",
        f"holder:scale={scale}",
        "--N",
        "1",
        "--loops",
        "5,11",
        "--p",
        p,
        "--bound",
        "1e-300",
        "--samples",
        "512",
        "--no-sup",
        "--json",
        *extra,
    )
    return result.code, json.loads(result.stdout)


@pytest.mark.parametrize("timestep", [False, True])
def test_a_tiny_lp_error_is_measured_not_rounded_to_zero(timestep: bool) -> None:
    """`verify holder:scale=1e-12 --p 30 --bound 1e-300` printed 0 [0, 0] and "held"."""
    extra = ("--timestep",) if timestep else ()
    code, payload = _verify("1e-12", "30", *extra)
    assert code == 1, "a bound of 1e-300 under errors of order 1e-12 is violated"
    for row in payload["rows"]:
        assert 1e-14 < row["lower"] <= row["error"] <= row["upper"] < 1e-10
        lp = row["measurement"]["lp"]
        # the stored replicates are the per-scrambling estimates of ∫e^p divided by scale^p
        replicates = np.asarray(lp["replicates"])
        half = (
            stats.t.ppf((1 + lp["level"]) / 2, len(replicates) - 1)
            * replicates.std(ddof=1)
            / math.sqrt(len(replicates))
        )
        assert row["error"] == pytest.approx(lp["scale"] * replicates.mean() ** (1 / 30), rel=1e-12)
        assert row["upper"] == pytest.approx(lp["scale"] * (replicates.mean() + half) ** (1 / 30), rel=1e-12)


def test_with_timestep_the_error_scales_with_the_target() -> None:
    """The timestep construction is exact in the target's values, so its error is homogeneous."""
    _, unit = _verify("1", "30", "--timestep")
    _, tiny = _verify("1e-12", "30", "--timestep")
    for a, b in zip(unit["rows"], tiny["rows"]):
        assert b["error"] == pytest.approx(a["error"] * 1e-12, rel=1e-9)


def test_p_150_at_scale_one_hundredth_is_not_zero_beside_its_sup() -> None:
    """`--p 150` on holder:scale=0.01 printed an L^p error of 0 beside a sup error ≥ 0.007."""
    rows = {}
    for scale in ("1", "0.01"):
        result = run_cli(
            "verify",
            f"holder:scale={scale}",
            "--N",
            "1",
            "--loops",
            "5",
            "--p",
            "150",
            "--bound",
            "1e-300",
            "--samples",
            "512",
            "--json",
        )
        assert result.code == 1
        (rows[scale],) = json.loads(result.stdout)["rows"]
    row = rows["0.01"]
    assert row["lower"] > 0 and row["sup_error_lower_bound"] > 0
    # at r = 5 the construction is exact in the target's values: the error is homogeneous in the scale
    assert row["error"] == pytest.approx(rows["1"]["error"] * 0.01, rel=1e-9)
    assert row["sup_error_lower_bound"] == pytest.approx(rows["1"]["sup_error_lower_bound"] * 0.01, rel=1e-9)


def _modulus_json(*args: str) -> list[dict]:
    result = run_cli("modulus", *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["results"]


@pytest.mark.parametrize("scale", ["1e160", "1e-170"])
def test_contextual_max_moduli_are_finite_positive_and_ordered(scale: str) -> None:
    """`modulus contextual_max:scale=1e160` printed a "certified" inf; at 1e-170 it printed 0."""
    rows = _modulus_json(f"contextual_max:scale={scale}", "--d", "2", "--N", "3", "--deltas", "0.1")
    target = builtin_target("contextual_max", d=2, N=3, scale=float(scale))
    by_kind = {row["kind"]: row for row in rows}
    for row in rows:
        assert 0 < row["lower"] < math.inf
        assert row["lower"] == pytest.approx(row["exact"], rel=1e-3) and row["lower"] <= row["exact"] * (1 + 1e-12)
        kind = ModulusKind(row["kind"])
        X, Y = (torch.tensor(row["witness"][key], dtype=torch.float64) for key in ("X", "Y"))
        assert_pair_meets_constraint(X, Y, kind=kind, delta=row["delta"], position=row["position"])
        positions = torch.tensor([row["position"]]) if kind.per_token else None
        assert float(pair_value(target, X[None], Y[None], kind, positions, 2.0)[0]) == pytest.approx(
            row["lower"], rel=1e-12
        )
    assert by_kind["sequence"]["lower"] >= max(by_kind["token"]["lower"], by_kind["contextual"]["lower"])
    table = run_cli("modulus", f"contextual_max:scale={scale}", "--d", "2", "--N", "3", "--deltas", "0.1")
    assert table.code == 0 and "inf" not in table.stdout


def test_holder_at_delta_1e_300_keeps_a_witness_that_differs() -> None:
    (row,) = _modulus_json("holder", "--deltas", "1e-300", "--kind", "token")
    X, Y = np.asarray(row["witness"]["X"]), np.asarray(row["witness"]["Y"])
    assert not np.array_equal(X, Y) and 0 < row["distance"] <= 1e-300
    assert_pair_meets_constraint(X, Y, kind="token", delta=1e-300, position=row["position"])
    assert row["lower"] == pytest.approx(row["exact"], rel=1e-12)  # ω^tok(δ) = δ^½, attained at 0


def test_the_table_keeps_its_columns_apart_at_extreme_values() -> None:
    result = run_cli(
        "modulus", "contextual_max:scale=1e250", "--deltas", "1.234e-300,0.1", "--d", "2", "--N", "3", "--p", "3"
    )
    assert result.code == 0, result.stderr
    rows = [
        line.split()
        for line in result.stdout.splitlines()
        if line.split()[:1] in (["sequence"], ["token"], ["contextual"])
    ]
    assert len(rows) == 6
    for fields in rows:  # kind, delta, lower, reference value, "exact"/"upper", ratio, |X-Y|
        assert len(fields) == 7, fields
        assert float(fields[1]) > 0 and float(fields[2]) > 0 and float(fields[6]) > 0


@pytest.mark.parametrize("x_scale, y_scale", [(1.0, 1e200), (1.0, 1e-200), (1e200, 1e200), (1e-200, 1e-300)])
def test_samples_scaled_by_1e200_give_the_scaled_all_pairs_estimate(
    tmp_path: Path, x_scale: float, y_scale: float
) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((300, 2, 1))
    Y = np.sin(3 * X)
    np.savez(tmp_path / "unit.npz", X=X, Y=Y)
    np.savez(tmp_path / "scaled.npz", X=X * x_scale, Y=Y * y_scale)
    deltas = (0.05, 0.5)
    unit = _modulus_json(str(tmp_path / "unit.npz"), "--kind", "sequence", "--deltas", ",".join(map(str, deltas)))
    scaled = _modulus_json(
        str(tmp_path / "scaled.npz"),
        "--kind",
        "sequence",
        "--deltas",
        ",".join(repr(delta * x_scale) for delta in deltas),
    )
    for a, b in zip(unit, scaled):
        assert 0 < b["lower"] < math.inf
        assert b["lower"] == pytest.approx(a["lower"] * y_scale, rel=1e-12)
        assert 0 < b["distance"] <= b["delta"]
