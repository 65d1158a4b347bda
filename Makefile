# Two commands on a fresh machine: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench clean

setup: $(STAMP)

# CPU torch 2.13.0 goes in first (a bare `torch` would pull a multi-GB CUDA build), then the project.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PY) scripts/check_torch.py
	$(PIP) install --quiet -e '.[dev]'
	$(PY) scripts/check_torch.py
	touch $(STAMP)

run: setup
	$(VENV)/bin/retention run

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/retrieval.py

clean:
	rm -rf $(VENV) data .pytest_cache
