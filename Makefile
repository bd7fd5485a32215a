# dmarcwatch: `make dev` runs the service locally, `make test` runs every check. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install dev test lint typecheck pytest knot layer synth bench clean

help:
	@echo "make dev    - run the whole service locally (API, embedded AWS) and print where to reach it"
	@echo "make test   - install everything, then lint, type-check and run every test"
	@echo "make synth  - synthesize the CloudFormation template (offline) into cdk.out/"
	@echo "make bench  - run the benchmarks in bench/"

# --- installation -------------------------------------------------------------------------------------
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed

# knotd serves the fixture zones the DNS tests query (Debian package `knot`).
# knotd lives in /usr/sbin, which is not on every PATH.
KNOTD_FOUND = command -v knotd >/dev/null || test -x /usr/sbin/knotd
knot:
	@$(KNOTD_FOUND) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq knot >/dev/null; }
	@$(KNOTD_FOUND) || { echo "knotd is not installed (Debian package knot)"; exit 1; }

# The third-party dependency layer for Lambda (arm64, Python 3.12), from PyPI wheels.
layer: $(BIN)/.installed
	$(BIN)/python infra/build_deps_layer.py

# --- the two commands ---------------------------------------------------------------------------------
dev: $(BIN)/.installed
	$(BIN)/dmarcwatch local

test: $(BIN)/.installed node_modules/.installed knot layer lint typecheck pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed
	$(BIN)/pytest -n 2 --durations=10

synth: $(BIN)/.installed node_modules/.installed layer
	npx cdk synth --no-notices --quiet

bench: $(BIN)/.installed knot
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/local_stack.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
