"""The pytest plugin (entry point ``pytest11``): a user's suite, run in a subprocess with loopbound
installed, gets loopbound's hypothesis profiles by name, and none when it asks for none."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from loopbound.pytest_plugin import ENVIRONMENT_VARIABLE, PROFILES, register_profiles

pytest_plugins = ["pytester"]

USER_TEST = """
from hypothesis import given, settings, strategies as st

def test_report_the_active_profile():
    s = settings()
    print(f"ACTIVE {settings.get_current_profile_name()} max_examples={s.max_examples} "
          f"derandomize={s.derandomize} deadline={s.deadline} print_blob={s.print_blob}")

RUNS = []

@given(st.integers())
def test_count_examples(n):
    RUNS.append(n)

def test_zz_examples_ran():
    print(f"EXAMPLES {len(RUNS)}")
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=USER_TEST)
    return pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args)


def test_hypothesis_profile_option_selects_loopbound_ci(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    result = _run(pytester, "--hypothesis-profile=ci")
    result.assert_outcomes(passed=3)
    ci = PROFILES["ci"]
    result.stdout.fnmatch_lines(
        [
            f"*ACTIVE ci max_examples={ci['max_examples']} derandomize=True deadline=None print_blob=True*",
            "*EXAMPLES 40*",
        ]
    )


def test_a_suite_that_asks_for_nothing_keeps_hypothesis_defaults(pytester: pytest.Pytester, monkeypatch) -> None:
    """Not forced: hypothesis's own profile (``default``, or its built-in ``ci`` where a CI
    environment is detected) with its 100 examples, not loopbound's 40."""
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    result = _run(pytester)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*ACTIVE * max_examples=100 *", "*EXAMPLES 100*"])


def test_environment_variable_loads_a_profile(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "thorough")
    result = _run(pytester)
    result.assert_outcomes(passed=3)
    many = PROFILES["thorough"]["max_examples"]
    result.stdout.fnmatch_lines([f"*ACTIVE thorough max_examples={many} derandomize=False *", f"*EXAMPLES {many}*"])


def test_a_profile_the_suite_registers_itself_wins(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    pytester.makeconftest("from hypothesis import settings\nsettings.register_profile('ci', max_examples=7)\n")
    result = _run(pytester, "--hypothesis-profile=ci")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*ACTIVE ci max_examples=7 *", "*EXAMPLES 7*"])


def test_an_unknown_profile_in_the_environment_variable_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch
) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "nightly")
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{ENVIRONMENT_VARIABLE}='nightly': known profiles are*"])


def test_the_profiles_hold_their_documented_settings() -> None:
    """One definition: the repository's own conftest.py registered these from the plugin."""
    ci, dev, thorough = (settings.get_profile(name) for name in ("ci", "dev", "thorough"))
    assert ci.derandomize and ci.deadline is None and ci.print_blob and ci.max_examples == 40
    assert (
        not dev.derandomize
        and dev.deadline is None
        and dev.max_examples == settings.get_profile("default").max_examples
    )
    assert (
        not thorough.derandomize
        and thorough.max_examples == 2000
        and HealthCheck.too_slow in thorough.suppress_health_check
    )
    assert settings.get_profile("fuzz") == thorough


def test_register_profiles_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="nightly"):
        register_profiles("ci", "nightly")


def test_loading_the_plugin_imports_no_torch() -> None:
    """Every pytest session of anyone with loopbound installed loads the plugin: it must stay light."""
    import subprocess
    import sys

    probe = "import sys, loopbound.pytest_plugin; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
