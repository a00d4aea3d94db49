# aivmon: `make run` starts the platform; `make test` checks everything. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench system-deps clean native-optional sanitize

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

# The SQL-injection check's compiled parts (C); `make run` falls back to pure Python without a
# compiler, `make test` and `make bench` need them.
NATIVE_SOURCES := $(wildcard apps/security/detectors/sqli/native/*.c apps/security/detectors/sqli/native/*.h)

$(VENV)/.built-native: $(NATIVE_SOURCES) scripts/build_native.py | $(BIN)/python
	$(BIN)/python scripts/build_native.py
	touch $@

native-optional: | $(BIN)/python
	$(BIN)/python scripts/build_native.py --optional

run: $(VENV)/.installed-run native-optional
	scripts/run.sh

system-deps:
	scripts/system_deps.sh

test: $(VENV)/.installed-dev $(VENV)/.built-native system-deps
	scripts/test.sh

bench: $(VENV)/.installed-dev $(VENV)/.built-native
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.query
	$(BIN)/python -m bench.security
	$(BIN)/python -m bench.security_sqli
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.health
	$(BIN)/python -m bench.sdk

sanitize: $(VENV)/.installed-dev
	scripts/sanitize_native.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy apps aivmon sdk

clean:
	rm -rf $(VENV) var/build-native apps/security/detectors/sqli/native/*.so var/staticfiles var/prometheus var/test_*
