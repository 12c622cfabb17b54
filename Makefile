# The README's two commands are `make run` and `make test`; .ci/run calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dashboard: npm installs from package-lock.json, Vite builds into the package (git-ignored).
WEB_MODULES := web/node_modules/.installed
WEB_BUILD := src/attribo/api/web_dist/index.html
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts \
  web/svelte.config.js web/tsconfig.json

.PHONY: run test lint web bench-ingest clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Set up and run the server on the embedded defaults with a simulated month (./attribo-data).
run: $(STAMP) $(WEB_BUILD)
	$(BIN)/attribo demo

$(WEB_MODULES): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_MODULES)

$(WEB_BUILD): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run check && npm run build
	touch $(WEB_BUILD)

## Build the dashboard when its sources changed.
web: $(WEB_BUILD)

## Set up and run lint, types and the whole test suite (slow checks included).
test: $(STAMP) lint $(WEB_BUILD)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

bench-ingest: $(STAMP)
	$(BIN)/attribo bench ingest --json

clean:
	rm -rf $(VENV) attribo-data
