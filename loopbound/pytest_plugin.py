"""pytest plugin: loopbound's hypothesis profiles, for your own suite, by name.

Installed with loopbound (entry point ``pytest11``, name ``loopbound``); nothing changes in a
suite that does not ask for a profile. Ask for one with hypothesis's own option or an environment
variable:

    pytest --hypothesis-profile=ci
    LOOPBOUND_HYPOTHESIS_PROFILE=thorough pytest

The profiles (:data:`PROFILES`):

- ``ci``: derandomised (the same examples on every run, no example database), no deadline and no
  ``too_slow`` health check (timings on a shared machine are not a property), ``print_blob`` (a
  failure prints the line that reproduces it), 40 examples per test: what loopbound's own suite
  runs;
- ``dev``: hypothesis's defaults (random, 100 examples, the example database replays failures)
  without the deadline, for local work;
- ``thorough``: 2000 examples per test, random, no deadline, the ``too_slow`` health check off: a
  long search before a release or after a change to a construction.

A profile is registered under its name only when it is asked for, so hypothesis's built-in ``ci``
profile (loaded by hypothesis itself when a CI environment is detected) stays as it is otherwise,
and a profile of the same name that your conftest.py registers wins over loopbound's. Use
:func:`register_profiles` to register them yourself (e.g. in a conftest.py); ``-p no:loopbound``
switches the plugin off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

ENVIRONMENT_VARIABLE = "LOOPBOUND_HYPOTHESIS_PROFILE"
"""Names a loopbound profile to load when ``--hypothesis-profile`` is not given."""

PROFILES: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "ci": MappingProxyType(
            {
                "derandomize": True,
                "deadline": None,
                "print_blob": True,
                "max_examples": 40,
                "suppress_health_check": (HealthCheck.too_slow,),
            }
        ),
        "dev": MappingProxyType({"deadline": None}),
        "thorough": MappingProxyType(
            {"deadline": None, "max_examples": 2000, "suppress_health_check": (HealthCheck.too_slow,)}
        ),
    }
)
"""The settings of each profile (on top of hypothesis's ``default`` profile)."""


def _registered(name: str) -> settings | None:
    """The profile registered as ``name``, or None."""
    try:
        return settings.get_profile(name)
    except InvalidArgument:
        return None


_BEFORE = {name: _registered(name) for name in PROFILES}
"""The profiles of these names that existed when the plugin was imported (hypothesis's built-in
``ci``): a registration made after that (your conftest.py) is left alone."""


def register_profiles(*names: str) -> None:
    """Register loopbound's profiles ``names`` (all of them by default) with hypothesis, under their
    names; an unknown name raises ValueError."""
    unknown = sorted(set(names) - set(PROFILES))
    if unknown:
        raise ValueError(f"unknown loopbound hypothesis profile(s) {unknown}; known: {sorted(PROFILES)}")
    for name in names or tuple(PROFILES):
        settings.register_profile(name, settings.get_profile("default"), **PROFILES[name])


def _registered_by_the_suite(name: str) -> bool:
    """Whether a profile ``name`` was registered after this plugin was imported (by a conftest.py)."""
    current = _registered(name)
    return current is not None and current is not _BEFORE[name]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the loopbound profile that ``--hypothesis-profile`` or the environment variable
    names (before hypothesis's own plugin loads it); load it when only the variable names it."""
    requested = config.getoption("--hypothesis-profile", default=None)
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE)
    if from_environment and from_environment not in PROFILES:
        raise pytest.UsageError(f"{ENVIRONMENT_VARIABLE}={from_environment!r}: known profiles are {sorted(PROFILES)}")
    name = requested or from_environment
    if isinstance(name, str) and name in PROFILES and not _registered_by_the_suite(name):
        register_profiles(name)
    if not requested and from_environment:
        settings.load_profile(from_environment)


__all__ = ["ENVIRONMENT_VARIABLE", "PROFILES", "register_profiles"]
