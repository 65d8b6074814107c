# `make chat` sets everything up and starts the chat over seeds/; `make test` runs the tests.
# Both are quick to re-run: the venv is reinstalled only when pyproject.toml changes, and the
# index only re-embeds articles that changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test index clean

chat: $(STAMP)
	$(BIN)/rag chat seeds

test: $(STAMP)
	$(BIN)/python -m pytest -q

index: $(STAMP)
	$(BIN)/rag index seeds

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) embeddings/*/ *.egg-info
