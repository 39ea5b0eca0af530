"""``loopbound build``: the construction's sizes and precision as the contract says, the other
variant's precision beside it, and one-line errors for bad input."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from loopbound.constructions.universal import build_universal, loops_for_grid
from loopbound.theory.targets import builtin_target
from tests.loopbound.cli_runner import assert_one_line_error, run_cli


@pytest.mark.parametrize("timestep", [True, False])
def test_json_report_matches_the_built_module(timestep: bool) -> None:
    args = ["build", "smooth", "--delta", "1/4", "--N", "2", "--json"] + (["--timestep"] if timestep else [])
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["loops"] == loops_for_grid(4, 1, 2)
    assert record["theory"] == {
        "embedding_width": 26,
        "ff_width": 74,
        "heads": 2,
        "head_size": 1,
        "loops": 3 + 2 + 2 * 4**3 - 1,
    }
    assert record["embedding_width"] <= 26 and record["ff_width"] <= 74
    if timestep:
        model = build_universal(
            builtin_target("smooth", d=1, N=2), Fraction(1, 4), timestep=True
        ).model.model  # the approximator's LoopedTransformer
        assert record["parameter_count"] == model.parameter_count()
        assert record["evaluates_in"] == ["float64"]
        assert record["precision_bits_other_variant"] > 53
    else:
        assert record["evaluates_in"] == ["exact rational arithmetic only"]


def test_table_shows_both_variants_precision() -> None:
    result = run_cli("build", "holder", "--delta", "0.125", "--timestep")
    assert result.code == 0, result.stderr
    assert "bits without timestep scaling" in result.stdout and "(theory 17d+9 = 26)" in result.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["holder", "--delta", "0.3"], "1/m"),
        (["holder", "--delta", "0"], "1/m"),
        (["holder", "--delta", "x"], "1/m"),
        (["holder"], "--delta"),
        (["linear", "--delta", "1/4"], "not permutation-equivariant"),
        (["holder", "--delta", "1/2", "--N", "3"], "distinct cells"),
        (["nosuch", "--delta", "1/4"], "unknown target"),
        (["holder", "--delta", "1/4", "--sharpness", "3"], "sharpness"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli("build", *args), fragment)
