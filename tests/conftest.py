"""Test configuration: hypothesis profiles and the GPU tier.

Profiles (choose with HYPOTHESIS_PROFILE): ``ci`` (default: derandomised, no deadline — timings on
a shared 2-core machine are not a property) and ``fuzz`` (many more examples, random, for local
runs). Tests marked ``gpu`` are deselected by default and skip, with the reason, where CUDA is
missing; tests marked ``slow`` run with ``make test-slow``.
"""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# One torch thread per test process: the constructions run many tiny GEMMs, and OpenMP threads
# competing for 2 cores (two xdist workers, or anything else running) make those ~10× slower
# (measured: 41.6 s against 4.5 s for one forward pass of the universal approximator).
torch.set_num_threads(1)

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40, print_blob=True)
settings.register_profile("fuzz", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; this machine has no GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
