# Backoffice — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded database, demo keys and var/local.env live here.
VAR_DIR ?= var
export DEBUG ?= 1

.PHONY: run test install lint format migrate demo worker beat clean bench bench-cpu

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, load demo data and serve on http://127.0.0.1:8000
## (uvicorn serves the whole app: the API, the admin and the live streams; see docs/delivery.md;
## with localstripe installed, scripts/run-dev-server.sh starts it beside, for the README's card tour)
run: export VAR_DIR := $(abspath $(VAR_DIR))
run: $(STAMP)
	$(BIN)/python -m backoffice.local_env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_data --base-url http://$(HOST):$(PORT)
	scripts/run-dev-server.sh $(HOST):$(PORT)

## make test: throwaway PostgreSQL, Redis and localstripe on loopback, the whole suite on them (and the
## pinned TypeScript client tools in var/typescript-client, for the schema's tests; the
## admin's browser tests drive Debian's Chromium, installed with apt-get when missing).
## PYTEST_WORKERS processes run it side by side (pytest-xdist), each with a Redis of its own,
## then the tests marked `serial` run alone (scripts/run-tests.sh); PYTEST_WORKERS=0: one
## process, in order (for -s or --pdb)
PYTEST_WORKERS ?= 3
test: $(STAMP)
	scripts/install-typescript-tools.sh
	scripts/ensure-chromium.sh
	DEBUG=0 TEST_WORKERS=$(PYTEST_WORKERS) scripts/with-services.sh scripts/run-tests.sh $(PYTEST_ARGS)

## make bench: throwaway PostgreSQL and Redis, gunicorn, each scenario; QUICK=1 for a short run
QUICK ?=
WORKERS ?=
WORKER_CLASS ?=
THREADS ?=
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	DEBUG=0 WORKERS=$(WORKERS) WORKER_CLASS=$(WORKER_CLASS) THREADS=$(THREADS) \
		scripts/with-services.sh $(BIN)/python -m bench.run $(if $(QUICK),--quick) $(BENCH_ARGS)

## make bench-cpu: CPU per operation in-process (the profiling loop); BENCH_ARGS="--profile checkout"
bench-cpu: $(BENCH_STAMP)
	DEBUG=0 scripts/with-services.sh $(BIN)/python -m bench.cpu $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: $(STAMP)
	$(BIN)/celery -A backoffice worker --loglevel=INFO

beat: $(STAMP)
	$(BIN)/celery -A backoffice beat --loglevel=INFO

clean:
	rm -rf var/test-services
