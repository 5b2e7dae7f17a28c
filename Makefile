# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench setup clean

$(PY):
	@scripts/check_python.sh "$(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

## setup: create .venv and install the pinned requirements
setup: $(STAMP)

## run: the portal with its worker (and the sandbox as later issues add it), until Ctrl-C
run: $(STAMP)
	@scripts/run.sh

## test: the whole suite against a private Redis and DATABASE_URL (SQLite by default)
test: $(STAMP)
	@scripts/ensure_chromium.sh
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: the benchmarks in bench/ (webhook ingest, sync throughput, VTEX budget, feed poller, bulk backfill, bulk scale) → docs/benchmarks.md
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

## lint: ruff lint and format check
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
