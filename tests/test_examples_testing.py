"""The worked example of docs/testing.md runs: its property tests, under loopbound's ``ci`` profile,
fail on the summed contextual ids (the planted bug) with a counterexample hypothesis shrinks to at
most N = 3 tokens, and pass on Horner's ids (the fix)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopbound.pytest_plugin import ENVIRONMENT_VARIABLE

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "testing" / "test_contextual_ids.py"
PROPERTIES = ("test_sequences_that_are_not_permutations_share_no_id", "test_ids_follow_their_tokens_under_permutation")


@pytest.fixture(scope="module")
def example_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of one pytest run of the example (in a subprocess, as a user would run it)."""
    environment = {k: v for k, v in os.environ.items() if k not in (ENVIRONMENT_VARIABLE, "PYTEST_ADDOPTS")}
    command = [sys.executable, "-m", "pytest", str(EXAMPLE), "--hypothesis-profile=ci", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [*command, "-rA", "-p", "no:xdist", "--basetemp", str(tmp_path_factory.mktemp("example"))],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path_factory.mktemp("cwd"),
        timeout=120,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    return run.stdout


def test_the_planted_bug_fails_with_a_counterexample_of_at_most_three_tokens(example_output: str) -> None:
    output = example_output
    assert re.search(r"^=+ 1 failed, 3 passed in ", output, flags=re.MULTILINE), output
    assert re.search(rf"^FAILED \S+::{PROPERTIES[0]}\[summed\]", output, flags=re.MULTILINE), output
    report = re.search(r"(?:Failing test case|Falsifying example): (\w+)\(", output)
    assert report is not None and report.group(1) == PROPERTIES[0], output
    tokens = re.search(r"N=(\d+),", output[report.end() :])
    assert tokens is not None, output
    assert int(tokens.group(1)) <= 3, f"the counterexample was not shrunk to at most 3 tokens: {output}"
    assert "(ii) id" in output and "shared by sequences that are not permutations of each other" in output


def test_the_fixed_construction_passes(example_output: str) -> None:
    output = example_output
    for name in PROPERTIES:
        assert re.search(rf"^PASSED \S+::{name}\[horner\]$", output, flags=re.MULTILINE), output
    assert re.search(rf"^PASSED \S+::{PROPERTIES[1]}\[summed\]$", output, flags=re.MULTILINE), output
