# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.txt
# `make lock` resolves on PyPI alone, whatever this machine's pip configuration adds (mirrors, constraints).
COMPILE_ENV := env PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= PIP_CONSTRAINT= PIP_EXTRA_INDEX_URL= CUSTOM_COMPILE_COMMAND="make lock"
COMPILE := $(COMPILE_ENV) $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--index-url=https://pypi.org/simple --no-emit-index-url
# `make lock` moves every pin to the newest release pyproject.toml allows; `make lock UPGRADE=` only adds
# what pyproject.toml gained and keeps the other pins.
UPGRADE ?= --upgrade

.PHONY: run test test-sqlite test-postgres install lint lock bench clean

# Exactly the lock, hash-checked (PyICU builds from source against Debian's libicu-dev), then the project itself
# with nothing resolved; `pip check` catches a pyproject.toml dependency that the lock lacks.
$(STAMP): $(LOCK) pyproject.toml
	@pkg-config --exists icu-i18n 2>/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  echo "== installing libicu-dev, pkg-config and g++ (Debian packages) to build PyICU"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libicu-dev pkg-config g++ >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
	  echo "$(LOCK) does not satisfy pyproject.toml: run 'make lock UPGRADE='"; exit 1; }
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/wholesale migrate
	$(BIN)/wholesale demo
	$(BIN)/wholesale serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	./scripts/test.sh

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgres: $(STAMP)
	./scripts/test.sh --postgres-only

# Every check runs and reports; the target fails if any of them found something.
lint: $(STAMP)
	@status=0; \
	for check in "ruff check src tests bench" "ruff format --check src tests bench" "mypy" "lint-imports"; do \
	  echo "== $$check"; $(BIN)/$$check || status=1; \
	done; exit $$status

# pip-compile as the lock pins it (not the whole stamp: that refuses a pyproject.toml the lock does not satisfy yet).
$(BIN)/pip-compile:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)

# Re-resolve the pins from pyproject.toml: dev.txt (what `make install` uses) and runtime.txt (production, the
# same versions without the dev tools). Commit both; the next `make` reinstalls from them.
lock: $(BIN)/pip-compile
	$(COMPILE) $(UPGRADE) --extra dev --output-file requirements/dev.txt pyproject.toml
	$(COMPILE) --upgrade --constraint requirements/dev.txt --output-file requirements/runtime.txt pyproject.toml

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
