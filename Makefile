# The two commands a newcomer needs:  make run   and   make test
# Both create the virtual environment .venv on first use (Python 3.11 required).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run run-workers test lint format bench bench-browser bench-load bench-views demo clean install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## Install, prepare the fictional demo authority, and start the app on http://localhost:8501
run: install
	$(BIN)/python -m framework demo-store
	$(BIN)/python serve.py  # streamlit run app.py, loading the libraries meanwhile

## As run, with two Streamlit worker processes behind a sticky proxy on the same address (twice
## the page runs at once; see the README)
run-workers: install
	$(BIN)/python -m framework demo-store
	$(BIN)/python serve.py --workers 2

## Install and run every test (browser tests run when Chromium is installed)
test: install-dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m framework demo-store  # the demo's store: tests that read it run, not skip
	$(BIN)/python -m pytest -n 2

lint: install-dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

format: install-dev
	$(BIN)/python -m ruff format .
	$(BIN)/python -m ruff check --fix .

## Time generation and load (demo size and 100,000 children); appends to docs/benchmarks.md
bench: install
	$(BIN)/python -m framework bench --markdown docs/benchmarks.md

## Time the app in headless Chromium (first page; page switches and filter changes); appends
## to docs/benchmarks.md. Needs Debian's Chromium (apt-get install chromium).
bench-browser: install-dev
	$(BIN)/python -m framework.browser_bench --markdown docs/benchmarks.md

## 20 people at once: simultaneous sessions (WebSocket clients speaking Streamlit's protocol)
## with their own filters and roles; page times and isolation, appended to docs/benchmarks.md
bench-load: install
	$(BIN)/python -m tests.load_harness --sessions 20 --markdown docs/benchmarks.md

## First views: the engine's time for each page's view nobody has asked for yet, after the
## views were worked out ahead (one process, no Streamlit); appends to docs/benchmarks.md
bench-views: install-dev
	$(BIN)/python -m tests.view_bench --views 40 --markdown docs/benchmarks.md

clean:
	rm -rf data/demo data/demo.duckdb data/bench
