# Minato: every target is a thin wrapper, so people and CI run the same commands.
# Needs only Python 3.11+ and make: the first target that needs the environment creates it.
.DEFAULT_GOAL := help
.PHONY: help install run demo test test-unit test-e2e lint fmt typecheck check deploy-check bench clean
SHELL := /bin/bash

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

PACKAGES := -p shared -p gateway -p trades -p forms -p naccs_bridge -p notifications -p naccs_standin -p minato_cli -p bench
SERVICES := gateway trades forms naccs_bridge notifications

help: ## List the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

$(VENV)/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml cli/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced ## Create .venv from the lock file (uv, installed into .tools)

run: install ## Run the whole system: embedded PostgreSQL (or DATABASE_URL), every service, mail sink
	$(PY) -m shared.devstack run

demo: install ## Seed the demo world into a running `make run`: every business type, logins, trades
	$(PY) -m shared.devstack demo

run-%: install ## Run one service alone on its default port, e.g. make run-trades (see README)
	$(PY) -m shared.devstack service $*

test: install ## Run every test (real PostgreSQL: DATABASE_URL, or the embedded one)
	$(PY) -m pytest

test-unit: install ## Run the tests that need no running processes
	$(PY) -m pytest -m "not e2e"

test-e2e: install ## Run the end-to-end tests (every service as a real process)
	$(PY) -m pytest -m e2e

test-%: install ## Run one service's tests, e.g. make test-trades
	$(PY) -m pytest services/$*/tests

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install ## Format and auto-fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install ## mypy --strict on shared and every service
	$(VENV)/bin/mypy $(PACKAGES)

check: lint typecheck test ## Everything CI runs

deploy-check: install ## Validate deploy/ offline: k8s schemas, compose spec, hadolint, agreement with the code
	$(PY) -m pytest -q tests/deploy/test_manifests.py

bench: install ## Benchmarks against references measured in the same run (installs wrk and nginx)
	@command -v wrk >/dev/null && command -v nginx >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq wrk nginx-light)
	$(PY) -m bench.run

revision-%: install ## New migration for a service: make revision-trades MSG="add trade"
	cd services/$* && ../../$(VENV)/bin/alembic revision -m "$(MSG)"

clean: ## Remove the environments (keeps .data: the embedded database and keys)
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
