# make run   - install, migrate the SQLite database, set up the demo account, serve on 127.0.0.1:5000
# make test  - install (system packages included) and run the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export FLASK_APP := wsgi

.PHONY: install system-deps run test idp clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# axe-core for the browser tests' accessibility checks, pinned by package-lock.json (never served).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed

# xmlsec1: the test IdP (pysaml2) signs with it; chromium: the browser tests; npm: installs axe-core for them.
# Only the missing ones are installed: a Node.js from elsewhere (NodeSource) brings its own npm, and Debian's npm
# package conflicts with it.
system-deps:
	@missing=""; \
	for tool in xmlsec1 chromium npm; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -z "$$missing" ] || { echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; }

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo setup
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# The local test IdP on :5001, wired to the demo account (run after `make run`, in a second terminal).
idp: install
	$(BIN)/python -m devtools.idp --port 5001 --wire-demo

# The suite runs on every core (pytest-xdist; PYTEST_WORKERS=0 runs it in one process): each worker has its own
# SQLite files or, on PostgreSQL, its own database (tests/helpers.py).
PYTEST_WORKERS ?= auto
test: system-deps install node_modules/.installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache node_modules
