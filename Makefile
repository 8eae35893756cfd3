# Lvyue (履约) — build, run and test.  Quick start: `make run`, `make test`.
#
# Needs: python3 (>= 3.11, with venv), node/npm for the bundled front-end libraries.
# Everything Python goes into .venv; front-end libraries are copied into web/static/vendor/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
FLASK       := $(BIN)/flask --app web --debug
VENV_STAMP  := $(VENV)/.installed
VENDOR_DIR  := web/static/vendor/bpmn-js
VENDOR_STAMP := $(VENDOR_DIR)/.installed
BPMN_DIST   := node_modules/bpmn-js/dist
ECHARTS_DIR := web/static/vendor/echarts
HOST        ?= 127.0.0.1
PORT        ?= 5000
PG_URL      ?= postgresql://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

# Browser tests drive Debian's chromium; without it they are left out (CI installs it).
ifeq ($(wildcard /usr/bin/chromium),)
E2E_FILTER := -m "not e2e"
endif

.PHONY: help venv vendor db run test test-pg lint bench clean

help:
	@echo "make run      app with demo data on SQLite at http://$(HOST):$(PORT) (venv + vendor + db)"
	@echo "make test     test suite (SQLite; set TEST_DATABASE_URL for PostgreSQL)"
	@echo "make test-pg  test suite against PostgreSQL at $(PG_URL)"
	@echo "make db       migrate the database, load demo organisation, deploy bundled processes"
	@echo "make venv     create .venv and install the project (re-runs when pyproject.toml changes)"
	@echo "make vendor   install bpmn-js and ECharts with npm and copy them to web/static/vendor/"
	@echo "make lint     ruff check"
	@echo "make bench    run the benchmarks (bench/run.py)"
	@echo "make clean    remove .venv, node_modules and web/static/vendor (keeps instance/)"

# --- Python environment -------------------------------------------------------------------------
venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create $(VENV). On Debian/Ubuntu: apt-get install python3-venv"; rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -e ".[dev,prod]"
	@touch $@

# --- Front-end libraries (bpmn-js), served by the app itself --------------------------------------
ifneq ($(wildcard package.json),)
vendor: $(VENDOR_STAMP)
else
vendor:
	@echo "vendor: no package.json yet, skipping the front-end libraries (bpmn-js)."
endif

$(VENDOR_STAMP): $(wildcard package.json package-lock.json)
	@command -v npm >/dev/null || { echo "vendor: npm is required (apt-get install nodejs npm)"; exit 1; }
	@if [ -f package-lock.json ]; then \
	  echo "npm ci --no-audit --no-fund"; npm ci --no-audit --no-fund; \
	else \
	  echo "npm install --no-audit --no-fund"; npm install --no-audit --no-fund; \
	fi
	mkdir -p $(VENDOR_DIR)/assets
	cp $(BPMN_DIST)/bpmn-navigated-viewer.production.min.js $(BPMN_DIST)/bpmn-modeler.production.min.js $(VENDOR_DIR)/
	cp -R $(BPMN_DIST)/assets/. $(VENDOR_DIR)/assets/
	mkdir -p $(ECHARTS_DIR)
	cp node_modules/echarts/dist/echarts.min.js $(ECHARTS_DIR)/
	@touch $@

# --- Database, app --------------------------------------------------------------------------------
# The default database is instance/lvyue.sqlite3; DATABASE_URL=postgresql://... selects another.
db: venv
	$(FLASK) db upgrade
	$(FLASK) org seed-demo
	$(FLASK) processes deploy-bundled

run: venv vendor db
	@echo "Lvyue: http://$(HOST):$(PORT)/  (demo accounts in README.md; Ctrl-C stops)"
	LVYUE_SCHEDULER_ENABLED=true $(FLASK) run --host $(HOST) --port $(PORT) --no-reload

# --- Checks ---------------------------------------------------------------------------------------
test: venv vendor
	$(BIN)/python -m pytest -q $(E2E_FILTER) $(PYTEST_ARGS)

test-pg:
	TEST_DATABASE_URL=$(PG_URL) $(MAKE) test

lint: venv
	$(BIN)/ruff check .

bench: venv
	@if [ -f bench/run.py ]; then $(BIN)/python bench/run.py; else echo "bench: no bench/run.py yet."; fi

clean:
	rm -rf $(VENV) node_modules web/static/vendor
