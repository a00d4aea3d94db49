# aivmon: `make run` starts the platform; `make test` checks everything. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	scripts/run.sh

system-deps:
	scripts/system_deps.sh

test: $(VENV)/.installed-dev system-deps
	scripts/test.sh

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.query
	$(BIN)/python -m bench.security
	$(BIN)/python -m bench.security_sqli
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.health
	$(BIN)/python -m bench.sdk

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy apps aivmon sdk

clean:
	rm -rf $(VENV) var/staticfiles var/prometheus var/test_*
