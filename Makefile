# kb: two commands on a fresh machine.
#   make serve  - create .venv, install, build the index from corpus/ when missing or stale, serve :8000
#   make test   - create .venv, install with test extras, run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test index bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TESTSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

# Incremental: only new or changed files are read; nothing is written when all is up to date.
# Files that cannot be read are named on stderr and skipped; the rest is still served.
index: $(STAMP)
	$(BIN)/kb build --corpus corpus --index index || [ -f index/CURRENT ]

# --watch: a file saved into corpus/ is searchable seconds later (incremental build in the background)
serve: index
	$(BIN)/kb serve --index index --host $(HOST) --port $(PORT) --watch --corpus corpus

test: $(TESTSTAMP)
	$(BIN)/python -m pytest -q

bench: $(TESTSTAMP)
	$(BIN)/kb bench --quick

clean:
	rm -rf $(VENV) index/CURRENT index/v-* index/tmp-* test-artifacts bench-results
