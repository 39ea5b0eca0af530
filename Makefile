# The README's two commands: `make run` (the main job) and `make test`.
# Both work on a fresh machine with nothing but Python: they create the virtual
# environment and install what is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is installed first, on its own, so that its build is chosen rather than left to luck: where
# `nvidia-smi -L` lists a GPU, PyPI's build (on Linux, the CUDA build); elsewhere the CPU build from
# PyTorch's CPU wheel index (TORCH_INDEX). A machine that cannot reach that index (pip retries it for
# a few seconds) takes the same pinned CPU wheel from pip's own find-links, where one is configured.
# Its dependencies come from PyPI with loopbound's own (torch is installed with --no-deps).
# Override either, e.g. `make test TORCH=torch TORCH_INDEX=`.
TORCH ?= torch==2.13.0
GPUS := $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
ifeq ($(GPUS),0)
TORCH_INDEX ?= --index-url https://download.pytorch.org/whl/cpu
else
TORCH_INDEX ?=
endif
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2

.PHONY: run test test-slow test-slurm lint typecheck format bench figures clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/loopbound run

# The test run starts with the habits: ruff (lint and format) and the type checker.
test: lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	MYPY=$(BIN)/mypy bash .ci/typecheck

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Sweeps on a real Slurm cluster: .ci/slurm-test installs Debian's slurmctld, slurmd and munge
# where missing (apt, as root), starts a throwaway single-node cluster under a temporary folder,
# runs the tests marked `slurm`, and stops every daemon it started, also when a test fails.
test-slurm: $(STAMP)
	bash .ci/slurm-test $(BIN)/python

bench: $(STAMP)
	$(BIN)/python benchmarks/modulus.py

# Every paper figure, redrawn by running each notebook of notebooks/ into FIGURES_OUT (PDF and PNG;
# each written file is listed). FIGURE_SIZE=paper draws them at the paper's size (longer).
FIGURES_OUT ?= figures
FIGURE_SIZE ?= ci
FIGURES_ARGS ?=
figures: $(STAMP)
	$(BIN)/loopbound figures --out $(FIGURES_OUT) --size $(FIGURE_SIZE) $(FIGURES_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis .typecheck
