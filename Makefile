# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# A trial keeps its generated secret key under ./var/; production passes SECRET_KEY instead.
ifeq ($(strip $(SECRET_KEY)),)
export SECRET_KEY_FILE ?= $(CURDIR)/var/secret_key
endif

.PHONY: run test install install-server bench audit audit-check clean

# What the server needs, and nothing else: `make run` on a fresh machine.
install-server: $(BIN)/.installed-server

$(BIN)/.installed-server: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

# The development tools too: `make test`, the audit, the benchmarks.
install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(BIN)/.installed-server

var/secret_key:
	mkdir -p var
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# The embedded default: SQLite, in-process pipeline, plain HTTP on loopback (so cookies
# cannot be Secure-only here).
run: install-server var/secret_key
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py bootstrap
	@echo "Serving on http://127.0.0.1:$(PORT)/demo/  (health: /healthz, admin: /admin/)"
	COOKIE_SECURE=$${COOKIE_SECURE:-false} PUBLIC_URL=$${PUBLIC_URL:-http://127.0.0.1:$(PORT)} \
	  HOST=127.0.0.1 PORT=$(PORT) WEB_WORKERS=2 BIN=$(BIN) scripts/serve

test: install var/secret_key
	scripts/test

# The cookie audit: Chromium through every public surface, every tracking mode and consent
# state, on a throwaway database of its own (never the one `make run` uses).
audit: install var/secret_key
	$(BIN)/python manage.py cookie_audit --format md --output docs/cookie-audit.md

# CI: fails on an unpermitted write (exit 1), a scenario that could not run (exit 2), or a
# committed report that differs from what the product produces now.
audit-check: install var/secret_key
	$(BIN)/python manage.py cookie_audit --format md --output var/cookie-audit.md
	diff -u docs/cookie-audit.md var/cookie-audit.md

# The production configuration under load, beside a bare Django view, the pipeline under a
# million events, then the highest rate the whole stack sustains (see bench/README.md).
bench: install
	$(BIN)/python bench/run.py && $(BIN)/python bench/pipeline.py && $(BIN)/python bench/sustained.py

clean:
	rm -rf $(VENV) var
