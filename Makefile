# Two commands do everything: `make demo` (the main job) and `make test` (the whole suite).
# Both create or update the virtualenvs first; on Debian, missing system packages are installed.

PYTHON ?= python3
VENV := .venv
SERVER_VENV := .venv-argilla
BIN := $(VENV)/bin
PYTEST_ARGS ?=

# The embedded Argilla server runs from its own virtualenv (see stack/server-requirements.txt).
export ALLOOP_ARGILLA_PYTHON ?= $(CURDIR)/$(SERVER_VENV)/bin/python

.PHONY: install system-deps demo test test-engine soak lint clean

install: $(VENV)/.installed $(SERVER_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip check
	touch $@

$(SERVER_VENV)/.installed: stack/server-requirements.txt tests/engine/requirements.txt
	$(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/pip install --quiet --upgrade pip
	$(SERVER_VENV)/bin/pip install --quiet -r stack/server-requirements.txt -r tests/engine/requirements.txt
	$(SERVER_VENV)/bin/pip check
	touch $@

# redis-server and Chromium come from Debian; skipped when present or when apt-get is not there.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/lib/chromium/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# make demo                      you label in the Argilla UI; the model learns as you go
# make demo SIMULATE=1 ITERATIONS=12 DATASET=../shared/data/trec6   headless, with a simulated annotator
# make demo DATASET=pool.csv LABELS=billing,bug,other              your own texts (TEST= a labelled file)
SIMULATE ?=
ITERATIONS ?= 12
DATASET ?=
LABELS ?=
TEST ?=
FRESH ?=
demo: install
	$(BIN)/alloop demo $(if $(SIMULATE),--simulate) --iterations $(ITERATIONS) $(if $(DATASET),--dataset $(DATASET)) \
		$(if $(LABELS),--labels $(LABELS)) $(if $(TEST),--test $(TEST)) $(if $(FRESH),--fresh)

test: system-deps install test-engine
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make soak FAULTS=60: the fault suite alone, with more faults; prints each fault and the count.
FAULTS ?= 40
soak: system-deps install
	ALLOOP_FAULTS=$(FAULTS) $(BIN)/python -m pytest tests/faults -q -s

test-engine: $(SERVER_VENV)/.installed
	$(SERVER_VENV)/bin/python -m pytest -c tests/engine/pytest.ini --rootdir tests/engine tests/engine -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(SERVER_VENV) .pytest_cache .mypy_cache .ruff_cache
