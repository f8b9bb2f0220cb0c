# Tidemark: the two fresh-machine commands are `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
DATA_DIR ?= ./data

.PHONY: portal serve install install-test test-deps test test-unit test-integration test-e2e bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The portal's front-end modules from npm, pinned by its package-lock.json (ADR 0040).
PORTAL := read_api/portal
$(PORTAL)/node_modules/.package-lock.json: $(PORTAL)/package-lock.json
	npm ci --prefix $(PORTAL) --no-audit --no-fund --loglevel=error

portal: $(PORTAL)/node_modules/.package-lock.json

install: $(VENV)/bin/python portal
	$(PY) -m pip install -q -e .

install-test: $(VENV)/bin/python portal
	$(PY) -m pip install -q -e '.[test]'

serve: install
	$(VENV)/bin/tidemark serve --host 127.0.0.1 --port $(PORT) --data-dir $(DATA_DIR)

# Debian packages the tests drive (skopeo, podman, buildah, the peer registry, wrk) and a running PostgreSQL.
test-deps:
	sh scripts/test-deps.sh

test: install-test test-deps
	PORTAL_SCREENSHOTS=$${PORTAL_SCREENSHOTS:-test-results/portal} $(PY) -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile

test-unit: install-test
	$(PY) -m pytest tests/unit -q

test-integration: install-test test-deps
	$(PY) -m pytest tests/integration -q

test-e2e: install-test test-deps
	$(PY) -m pytest tests/e2e -q

bench: install-test test-deps
	$(PY) bench/run.py
