# Quickstart: `make run` (set up, build the index if missing, start the bot or the terminal chat)
# and `make test` (set up, then the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test index eval bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned to the CPU build this machine carries; then the project.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/qabot run

index: setup
	$(BIN)/qabot index build

eval: setup
	$(BIN)/qabot eval ../shared/eval/dev.jsonl

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/bot_latency.py

lint: setup
	$(BIN)/ruff check bot corpus embeddings tests bench

clean:
	rm -rf $(VENV) data
