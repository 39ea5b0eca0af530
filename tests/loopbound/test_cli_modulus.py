"""``loopbound modulus``: the JSON contract of loopbound/commands/modulus.py, plots, user targets, and one-line errors
with exit status 2 for every bad input the foundation issue lists."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from loopbound.testing import assert_pair_meets_constraint
from loopbound.theory.kinds import ModulusKind
from loopbound.theory.modulus import pair_value
from loopbound.theory.targets import builtin_target
from tests.loopbound.cli_runner import assert_one_line_error, run_cli


def test_json_contract_and_witnesses_attain_the_lower_bounds() -> None:
    result = run_cli(
        "modulus",
        "holder:alpha=0.5",
        "--kind",
        "all",
        "--deltas",
        "0.05,0.2",
        "--d",
        "2",
        "--N",
        "3",
        "--p",
        "3",
        "--json",
    )
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"target", "d", "N", "p", "results"} <= payload.keys()
    assert (payload["target"], payload["d"], payload["N"], payload["p"]) == ("holder:alpha=0.5", 2, 3, 3.0)
    assert len(payload["results"]) == 3 * 2
    target = builtin_target("holder", d=2, N=3, alpha=0.5)
    for row in payload["results"]:
        assert {"kind", "delta", "lower", "upper", "witness"} <= row.keys()
        kind = ModulusKind(row["kind"])
        X, Y = (torch.tensor(row["witness"][key], dtype=torch.float64) for key in ("X", "Y"))
        assert_pair_meets_constraint(X, Y, kind=kind, delta=row["delta"], position=row["position"])
        positions = torch.tensor([row["position"]]) if kind.per_token else None
        value = float(pair_value(target, X[None], Y[None], kind, positions, 3.0)[0])
        assert value == pytest.approx(row["lower"], rel=1e-12, abs=1e-300)
        assert row["lower"] <= row["upper"] * (1 + 1e-9) + 1e-15


def test_upper_is_null_where_unknown() -> None:
    result = run_cli("modulus", "attention", "--kind", "token", "--deltas", "0.1", "--json")
    row = json.loads(result.stdout)["results"][0]
    assert row["upper"] is None and row["exact"] is None and row["lower"] > 0


def test_table_and_plot(tmp_path: Path) -> None:
    figure = tmp_path / "moduli.png"
    result = run_cli("modulus", "contextual_max", "--deltas", "0.01:0.3:4", "--plot", str(figure))
    assert result.code == 0, result.stderr
    assert "sequence" in result.stdout and "exact" in result.stdout
    assert figure.stat().st_size > 10_000
    assert not list(tmp_path.glob(".tmp-*"))


def test_user_function_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "my_target.py"
    source.write_text("import torch\ndef double_max(X):\n    return 2 * X.amax(dim=1, keepdim=True).expand_as(X)\n")
    result = run_cli("modulus", f"{source}:double_max", "--kind", "token", "--deltas", "0.1", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["lower"] == pytest.approx(0.2, rel=1e-9)


def test_user_function_from_a_module() -> None:
    result = run_cli("modulus", "loopbound.theory.targets:DOMAIN", "--deltas", "0.1")
    assert_one_line_error(result, "is a tuple, not a function")
    result = run_cli("modulus", "torch:tanh", "--kind", "token", "--deltas", "0.1", "--json")
    assert result.code == 0, result.stderr
    assert 0 < json.loads(result.stdout)["results"][0]["lower"] <= 0.1


def test_samples_file_gives_the_all_pairs_estimate(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((300, 2, 1))
    np.savez(tmp_path / "samples.npz", X=X, Y=np.sin(3 * X))
    result = run_cli("modulus", str(tmp_path / "samples.npz"), "--kind", "sequence", "--deltas", "0.05,0.5", "--json")
    assert result.code == 0, result.stderr
    rows = json.loads(result.stdout)["results"]
    assert 0 < rows[0]["lower"] <= rows[1]["lower"] <= 3 * 0.5


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, str]:
    files = {
        "shape": "def f(X):\n    return X[:, :1]\n",
        "nan": "def f(X):\n    return X * float('nan')\n",
        "inf": "def f(X):\n    return X / 0.0\n",
        "raises": "def f(X):\n    raise RuntimeError('boom')\n",
        "broken": "def f(:\n",
    }
    paths = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        paths[name] = f"{path}:f"
    np.savez(tmp_path / "bad.npz", A=np.zeros(3))
    paths["npz"] = str(tmp_path / "bad.npz")
    paths["missing_function"] = f"{tmp_path / 'shape.py'}:g"
    return paths


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["nosuch"], ["unknown target 'nosuch'"]),
        (["missing.py:f"], ["no such file: missing.py"]),
        (["no.such.module:f"], ["no module named"]),
        (["holder:alpha=2"], ["0 < alpha <= 1"]),
        (["holder:alpha"], ["name=value"]),
        (["holder", "--deltas", "0"], ["--deltas", "> 0"]),
        (["holder", "--deltas", "-0.1,0.2"], ["--deltas"]),
        (["holder", "--deltas", "abc"], ["--deltas", "number"]),
        (["holder", "--deltas", "nan"], ["--deltas"]),
        (["holder", "--d", "0"], ["--d", ">= 1"]),
        (["holder", "--N", "0"], ["--N", ">= 1"]),
        (["holder", "--N", "two"], ["--N"]),
        (["holder", "--p", "0.5"], ["--p", "1 <= p"]),
        (["holder", "--p", "inf"], ["--p"]),
        (["holder", "--kind", "global"], ["unknown modulus kind"]),
        (["holder", "--frobnicate"], ["unrecognized arguments"]),
        (["holder", "--plot", "out.txt"], ["--plot", ".png"]),
        (["holder", "--plot", "/no/such/dir/x.png"], ["does not exist"]),
    ],
)
def test_bad_input_is_one_line_and_status_2(args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(run_cli("modulus", *args), *fragments)


@pytest.mark.parametrize(
    "name, fragments",
    [
        ("shape", ["must return shape"]),
        ("nan", ["NaN or inf"]),
        ("inf", ["NaN or inf"]),
        ("raises", ["raised RuntimeError: boom"]),
        ("broken", ["importing", "SyntaxError"]),
        ("missing_function", ["has no function 'g'"]),
        ("npz", ["must hold arrays X"]),
    ],
)
def test_bad_user_targets_are_one_line_and_status_2(bad_files: dict[str, str], name: str, fragments: list[str]) -> None:
    extra = ["--kind", "sequence"] if name == "npz" else []
    assert_one_line_error(run_cli("modulus", bad_files[name], "--deltas", "0.1", *extra), *fragments)


def test_samples_reject_constrained_kinds(tmp_path: Path) -> None:
    np.savez(tmp_path / "s.npz", X=np.zeros((3, 2, 1)), Y=np.zeros((3, 2, 1)))
    assert_one_line_error(run_cli("modulus", str(tmp_path / "s.npz"), "--kind", "token"), "sequence only")


def test_console_script_reports_errors_without_traceback(tmp_path: Path) -> None:
    """The installed entry point, as a real process: exit status 2, one line, no traceback."""
    source = tmp_path / "nan_target.py"
    source.write_text(textwrap.dedent("def f(X):\n    return X * float('nan')\n"))
    for args in (["modulus", f"{source}:f"], ["modulus", "holder", "--deltas", "-1"], ["modulus"]):
        completed = subprocess.run(
            [sys.executable, "-m", "loopbound.cli", *args], capture_output=True, text=True, timeout=120
        )
        assert completed.returncode == 2, completed.stderr
        assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
        assert "Traceback" not in completed.stderr
