# The project's commands. Each one bootstraps what it needs on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
VENV := .venv
UV := .tools/bin/uv
SYNCED := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell command -v python3)

.PHONY: run test lint fmt bench clean

$(UV): scripts/bootstrap.sh
	scripts/bootstrap.sh

$(SYNCED): pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen
	@touch $@

run: $(SYNCED)  ## start an edge on embedded defaults (local origin, memory + disk) at 127.0.0.1:8080
	$(VENV)/bin/agentcache serve --demo --config var/agentcache.toml

test: lint  ## every test (lint included)
	scripts/test-deps.sh
	$(VENV)/bin/pytest

lint: $(SYNCED)  ## ruff and mypy --strict
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

fmt: $(SYNCED)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: $(SYNCED)  ## benchmarks against nginx and the direct origin; rewrites BENCHMARKS.md
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .tools var .pytest_cache .mypy_cache .ruff_cache .hypothesis
