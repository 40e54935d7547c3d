# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the suite).
VENV ?= .venv
PY := $(VENV)/bin/python
# Parallel when real servers are named (CI, .ci/run): most tests wait on PostgreSQL, Redis,
# emulators and subprocesses, so three workers keep two cores busy. With the embedded
# servers the tests run one by one, so that only one process starts them.
# `make test PYTEST_ARGS=-n0` runs them one by one anyway.
PYTEST_ARGS ?= $(if $(KITH_DATABASE_URL),$(if $(KITH_REDIS_URL),-n 3,-n 0),-n 0)
# The tests marked slow (worker processes started and killed, real-mail backtests, scale) run
# in the same workers as the others, handed out first (tests/conftest.py), so the longest
# ones start at once and the short ones fill in around them: a second pytest session of their
# own after the others paid the workers' start (every test module imported: ~11 CPU-s each)
# again and left cores idle while its last long test ran.

.PHONY: install browser demo test test-fast lint serve clean

# Python writes its bytecode caches (__pycache__/, with pytest's rewritten test modules beside
# them) for the suite and lint even where the environment turns them off
# (PYTHONDONTWRITEBYTECODE=1 here): without them every xdist worker compiled and rewrote every
# test module again (collection 10 CPU-s a worker instead of 5.6), and every process a test
# starts (workers, `kith` commands, the zygotes) compiled the project's modules again.
test test-fast lint: export PYTHONDONTWRITEBYTECODE :=

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
# runs beside the tests (its output is printed after them; a finding fails `make test`).
test: install browser
	@lintlog=$$(mktemp); $(MAKE) --no-print-directory lint >$$lintlog 2>&1 & lint=$$!; \
	  $(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; rc=1; fi; \
	  wait $$lint; lrc=$$?; echo "--- make lint"; cat $$lintlog; rm -f $$lintlog; \
	  if [ $$lrc -ne 0 ]; then echo "make lint failed"; fi; \
	  [ $$rc -eq 0 ] && [ $$lrc -eq 0 ]

# The inner loop: everything but the tests marked slow (real-mail backtests, scale, crashes).
test-fast: install
	@$(VENV)/bin/pytest $(PYTEST_ARGS) -m "not slow"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

serve: install
	$(VENV)/bin/kith serve

clean:
	rm -rf $(VENV) .kith .pytest_cache
