# The two commands: `make run` serves the demo city on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install run test lint bench clean

install: $(BIN)/hotline

$(BIN)/hotline: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/hotline
	$(PIP_INSTALL) -e '.[test]'
	touch $@

run: install
	$(BIN)/hotline migrate
	$(BIN)/hotline seed-demo --classifier
	$(BIN)/hotline serve --host $(HOST) --port $(PORT)

test: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy hotline web routing knowledge_base
	$(BIN)/pytest -q

# Benchmarks start what they need on this machine (local PostgreSQL) and write docs/PERFORMANCE.md.
bench: $(VENV)/.test-deps
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.sla_sweep
	$(BIN)/python -m bench.suggest
	$(BIN)/python -m bench.kb
	$(BIN)/python -m bench.kb_import
	$(BIN)/python -m bench.ticket_export
	$(BIN)/python -m bench.classifier

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/mypy hotline

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .mypy_cache .ruff_cache
