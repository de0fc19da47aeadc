# Quickstart: `make run` (set up, build the index if missing, start the bot or the terminal chat)
# and `make test` (set up, then the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test index eval eval-genre eval-cmrc train bench bench-scale lint clean
CMRC ?= ../shared/eval/cmrc2018
GENRE ?= ../shared/eval/genre
TRAIN ?= ../shared/train

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

# The seed's question set and our own probes (both kept in the repo); the public genre set (eight
# real reports of the seed's kind) too when ../shared is beside the checkout.
eval: setup
	$(BIN)/qabot eval tests/data/dev.jsonl
	$(BIN)/qabot eval tests/data/seed_probes.jsonl
	$(BIN)/qabot eval tests/data/followups.jsonl
	@if [ -d $(GENRE) ]; then $(MAKE) --no-print-directory eval-genre; else echo "($(GENRE) not found: genre set skipped)"; fi

eval-genre: setup
	QABOT_CORPUS_DIR=$(GENRE)/corpus QABOT_DATA_DIR=data-genre $(BIN)/qabot index build
	QABOT_CORPUS_DIR=$(GENRE)/corpus QABOT_DATA_DIR=data-genre $(BIN)/qabot eval $(GENRE)/questions.jsonl

# The answer step's models, rebuilt from the public training sets (fixed seed; about 40 minutes on
# 2 cores, most of it embedding sentences once: later runs reuse data-train/cache). Not part of CI:
# the models and their manifest are committed in embeddings/answering/models/.
train: setup
	$(BIN)/python -m embeddings.answering.training --train-dir $(TRAIN) --work data-train

# CMRC 2018 (public Wikipedia reading comprehension) with its own corpus and index, as a user
# would run it; a benchmark of several minutes, not part of the tests.
eval-cmrc: setup
	QABOT_CORPUS_DIR=$(CMRC)/corpus QABOT_DATA_DIR=data-cmrc $(BIN)/qabot index build
	QABOT_CORPUS_DIR=$(CMRC)/corpus QABOT_DATA_DIR=data-cmrc $(BIN)/qabot eval $(CMRC)/questions.jsonl

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/bot_latency.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/soak.py --compare-typing
	$(BIN)/python bench/retrieval.py --backends torch openvino
	$(BIN)/python bench/bot_latency.py --compare
	$(BIN)/python bench/stores.py --synthetic 20000

# 10k and 100k generated passages (about 10 minutes); add --sizes 1000000 for a million (about an hour)
bench-scale: setup
	$(BIN)/python bench/scale.py --sizes 10000 100000

lint: setup
	$(BIN)/ruff check bot corpus embeddings tests bench

clean:
	rm -rf $(VENV) data data-cmrc
