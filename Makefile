# The README's two commands: `make run` (the main job) and `make test`.
# Both work on a fresh machine with nothing but Python: they create the virtual
# environment and install what is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU machine takes the local CPU wheel with this pin; override for CUDA, e.g.
# `make test TORCH=torch` on a GPU machine.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2

.PHONY: run test test-slow lint typecheck format bench figures clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
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

bench: $(STAMP)
	$(BIN)/python benchmarks/modulus.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis .typecheck
