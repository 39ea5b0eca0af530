"""Test configuration: hypothesis profiles and the GPU tier.

Profiles (choose with HYPOTHESIS_PROFILE): loopbound's own, defined once in
:mod:`loopbound.pytest_plugin` — ``ci`` (the default: derandomised, no deadline — timings
on a shared 2-core machine are not a property — 40 examples), ``dev`` and ``thorough`` (many more
examples, random, for local runs; ``fuzz`` is its older name). Tests marked ``gpu`` are
deselected by default and skip, with the reason, where CUDA is missing; tests marked ``slow`` run
with ``make test-slow``.
"""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

from loopbound.pytest_plugin import register_profiles

# One torch thread per test process: the constructions run many tiny GEMMs, and OpenMP threads
# competing for 2 cores (two xdist workers, or anything else running) make those ~10× slower
# (measured: 41.6 s against 4.5 s for one forward pass of the universal approximator).
torch.set_num_threads(1)

register_profiles()
settings.register_profile("fuzz", settings.get_profile("thorough"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; this machine has no GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
