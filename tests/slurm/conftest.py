"""The Slurm tier: tests marked ``slurm`` need a running cluster, which ``make test-slurm`` starts
(.ci/slurm-test: a single-node cluster on this machine, found through ``SLURM_CONF``). Elsewhere
they skip with that reason; under ``make test-slurm`` (``LOOPBOUND_SLURM_CI=1``) a cluster that
does not answer is a failure, never a skip."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """The name of the cluster's idle node, once ``sinfo`` answers."""
    problem = None
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        problem = "Slurm's client commands are not installed"
    else:
        answer = subprocess.run(
            ["sinfo", "--noheader", "--format=%n %T"], capture_output=True, text=True, timeout=60, check=False
        )
        nodes = [line.split() for line in answer.stdout.splitlines() if line.strip()]
        if answer.returncode != 0 or not nodes:
            problem = f"no Slurm cluster answers ({' '.join(answer.stderr.split()) or 'no nodes'})"
        else:
            return nodes[0][0]
    if os.environ.get("LOOPBOUND_SLURM_CI"):
        pytest.fail(f"make test-slurm started no usable cluster: {problem}")
    pytest.skip(f"needs a running Slurm cluster ({problem}); `make test-slurm` starts one")
