# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the suite).
VENV ?= .venv
PY := $(VENV)/bin/python
# Parallel when real servers are named (CI, .ci/run): most tests wait on PostgreSQL, Redis,
# emulators and subprocesses, so three workers keep two cores busy. With the embedded
# servers the tests run one by one, so that only one process starts them.
# `make test PYTEST_ARGS=-n0` runs them one by one anyway.
PYTEST_ARGS ?= $(if $(KITH_DATABASE_URL),$(if $(KITH_REDIS_URL),-n 3,-n 0),-n 0)
# The tests marked slow start worker processes, kill them and hold them to wall-clock limits:
# two at a time, after the others. (They ran one at a time while tests/workers/test_scale.py's
# lock audit could read another test database's advisory lock as its own; it now reads its own
# database's only, tests/support/scale.py.)
SLOW_ARGS ?= $(if $(KITH_DATABASE_URL),$(if $(KITH_REDIS_URL),-n 2,-n 0),-n 0)

.PHONY: install browser demo test test-fast lint serve clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# Headless Chromium for the browser tests, from Debian's packages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(VENV)/bin/kith demo

# Lint (ruff), format check (ruff format) and types (mypy: strict on analytics/ and ingest/).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# pytest's exit code 5 (no tests collected) is a failure of the suite, not a pass. `make lint`
# runs beside the first tests (its output is printed after them; a finding fails `make test`).
# The tests marked slow start worker processes, emulators and kill -9 of their own and measure
# what they did against wall-clock limits: they run after the others, two at a time.
test: install browser
	@lintlog=$$(mktemp); $(MAKE) --no-print-directory lint >$$lintlog 2>&1 & lint=$$!; \
	  $(VENV)/bin/pytest $(PYTEST_ARGS) -m "not slow"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; rc=1; fi; \
	  wait $$lint; lrc=$$?; echo "--- make lint"; cat $$lintlog; rm -f $$lintlog; \
	  if [ $$lrc -ne 0 ]; then echo "make lint failed"; fi; \
	  $(VENV)/bin/pytest $(SLOW_ARGS) -m slow; rc2=$$?; \
	  if [ $$rc2 -eq 5 ]; then echo "no slow tests were collected: failing"; rc2=1; fi; \
	  [ $$rc -eq 0 ] && [ $$rc2 -eq 0 ] && [ $$lrc -eq 0 ]

# The inner loop: everything but the tests marked slow (real-mail backtests, scale, crashes).
test-fast: install
	@$(VENV)/bin/pytest $(PYTEST_ARGS) -m "not slow"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

serve: install
	$(VENV)/bin/kith serve

clean:
	rm -rf $(VENV) .kith .pytest_cache
