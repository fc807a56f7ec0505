# The two commands a newcomer needs (see README): `make run` and `make test`.
# Each builds or updates the virtual environment first; a stamp makes that a no-op when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mplug_nb-installed
OUT ?= runs/main

.PHONY: env run test nbtest pytest sync readme clean-env

$(STAMP): settings.ini setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

env: $(STAMP)

## The main job: ShapesWorld, pre-training, every task fine-tuned and measured, a report (demo budget, about 15 min).
run: env
	$(BIN)/mplug_nb_run --out $(OUT) --resume

## Every test: the notebooks (nbdev_test) and the tests that do not fit in a notebook (pytest).
test: env nbtest pytest

nbtest: env
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: env
	$(BIN)/python -m pytest -q tests

## Export the library from the notebooks, clean them, and regenerate README.md from nbs/index.ipynb.
sync: env
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(BIN)/python tools/readme.py

readme: env
	$(BIN)/python tools/readme.py

clean-env:
	rm -rf $(VENV)
