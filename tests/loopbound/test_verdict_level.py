"""A verdict's confidence level is 1/2 ≤ level < 1 (loopbound.theory.verdict_level), on the command
line and in a sweep file alike: "held at the 0% level" states nothing."""

from __future__ import annotations

import argparse

import pytest

from loopbound.cli_types import unit_level
from loopbound.sweep.config import FieldError
from loopbound.sweep.kinds.approximation import ApproximationParams
from loopbound.theory.errors import InputError
from loopbound.theory.verdict_level import check_verdict_level
from tests.loopbound.cli_runner import assert_one_line_error, run_cli

REFUSED = ["0.49", "0.3", "0.0", "0.01", "1", "-0.5", "nan", "inf"]
ACCEPTED = ["0.5", "0.9", "0.95", "0.999"]


@pytest.mark.parametrize("text", REFUSED)
def test_levels_below_one_half_or_not_below_one_are_refused_everywhere(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"0\.5 <= level < 1"):
        unit_level(text)
    with pytest.raises(InputError, match=r"0\.5 <= level < 1"):
        check_verdict_level(float(text))
    with pytest.raises(FieldError, match=r"level: must (satisfy 0\.5 <= level < 1|be finite)"):
        ApproximationParams(loops=5, level=float(text))


@pytest.mark.parametrize("text", ACCEPTED)
def test_levels_from_one_half_up_are_accepted_everywhere(text: str) -> None:
    assert unit_level(text) == float(text) == check_verdict_level(float(text))
    assert ApproximationParams(loops=5, level=float(text)).level == float(text)


def test_the_command_line_refuses_a_low_level_in_one_line() -> None:
    result = run_cli("verify", "holder", "--N", "1", "--loops", "5", "--level", "0.3")
    assert_one_line_error(result, "--level", "0.5 <= level < 1")
