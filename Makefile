# xaispec: `make book` builds the book (quick profile, offline); `make test` runs the whole suite.
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup test book clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install xaispec with its test extras

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	@touch $(STAMP)

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest -q --durations=25

book: $(STAMP) ## build the book: quick profile, synthetic corpora, offline -> _build/html/index.html
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/xaispec book --profile quick --corpus synthetic

clean-venv: ## remove the virtual environment
	rm -rf $(VENV)
