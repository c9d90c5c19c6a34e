# l1ad — the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_ARGS ?=

.PHONY: demo test test-slow lint env sysdeps hls4ml08 clean

demo: env
	$(BIN)/l1ad demo $(DEMO_ARGS)

test: env hls4ml08
	$(BIN)/python -m pytest

test-slow: env hls4ml08
	$(BIN)/python -m pytest -m slow

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

env: $(STAMP) sysdeps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian tools the project uses when present: yosys (resource estimates), iverilog (second simulator).
# Installed when missing and possible; every stage that needs one says so clearly when it is absent.
sysdeps:
	@bash scripts/install_sysdeps.sh

# hls4ml 0.8.1 from PyPI into .cache/hls4ml-0.8.1 (outside the venv): the second hls4ml generation the import tests
# write and compile 0.8-era projects with; `make test` installs it (tests that need it skip, saying so, when it is
# absent, e.g. under a bare `pytest`).
hls4ml08: env
	PYTHON=$(BIN)/python bash scripts/install_hls4ml08.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache sim/sim_build*
