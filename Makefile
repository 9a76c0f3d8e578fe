# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install the project once; later calls skip what is done.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

HOST ?= 127.0.0.1
PORT ?= 8000

# Build the demo city's ledger under ./data (embedded SQLite) if there is none, then serve
# the API and the public site on http://$(HOST):$(PORT) until Ctrl-C.
run: install
	$(BIN)/drledger demo --if-empty
	$(BIN)/drledger serve --host $(HOST) --port $(PORT) --welcome

# All tests: SQLite file and PostgreSQL (127.0.0.1:5432, database `test`), and
# browser tests in Debian's chromium (installed by tests/setup_browser.sh if missing).
test: install
	sh tests/setup_browser.sh
	$(BIN)/python -m pytest -n 2 -q

# Every benchmark, one after another (tens of minutes; each prints ratios
# against its baseline). One alone: $(BIN)/python benchmarks/NAME.py --help
bench: install
	for b in append import draw draw_run draw_list log results beacon; do $(BIN)/python benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) data .pytest_cache
