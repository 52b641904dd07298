# The two commands: `make run` starts everything, `make test` runs every test.
# Both work on a fresh clone: they create .venv and install what is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test faults lint format install install-dev migrate seed clean

$(BIN)/python:
	@echo ">> creating virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt constraints.txt | $(BIN)/python
	@echo ">> installing requirements (first run: a few minutes, torch CPU build included)"
	$(BIN)/python -m pip install --progress-bar on -r requirements.txt -c constraints.txt
	@touch $(STAMP)

$(DEV_STAMP): requirements-dev.txt requirements.txt constraints.txt $(STAMP)
	@echo ">> installing test and lint tools (requirements-dev.txt)"
	$(BIN)/python -m pip install --progress-bar on -r requirements-dev.txt -c constraints.txt
	@touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

migrate: install
	@echo ">> migrating the database"
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput

seed: migrate
	@echo ">> seeding the demo account"
	DJANGO_DEBUG=1 $(BIN)/python manage.py seed_demo

run: seed
	@echo ">> starting web (daphne), worker (celery) and Redis"
	DJANGO_DEBUG=1 $(BIN)/python -m config.stack

# Two pytest-xdist workers, a test file each at a time: most of the suite's time is spent waiting
# on real processes (daphne, Celery, Chromium), so two files overlap well on two cores.
# `make test TEST_WORKERS=0` runs everything in one process.
TEST_WORKERS ?= 2

test: install-dev
	@echo ">> running tests"
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The fault suite alone (tests/faults/: kill -9 of workers and web processes, Redis and database
# outages, scale-out); `make test` runs it too, so CI does.
faults: install-dev
	@echo ">> running the fault tests"
	$(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/ .pytest_cache .ruff_cache
