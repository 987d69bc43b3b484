# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-fast test-reliability test-cluster cluster-start cluster-stop cluster-status install install-test system-packages migrate seed schema check-contract clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)
install-test: $(TEST_STAMP)

## Debian's packages the suite starts processes of (PgBouncer, nginx, Chromium for the HTML report), installed when
## missing
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := pgbouncer nginx-light chromium
system-packages:
	@if [ -x /usr/sbin/pgbouncer ] && [ -x /usr/sbin/nginx ] && [ -x /usr/bin/chromium ]; then exit 0; fi; \
	command -v apt-get >/dev/null || { echo "pgbouncer, nginx and chromium are required: install them" >&2; exit 1; }; \
	$(SUDO) apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
	{ $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null; }

## Serve the API on http://$(HOST):$(PORT)/graphql with demo data in var/crm.db (make run PORT=8001)
run: $(STAMP)
	$(BIN)/crm serve --demo --host $(HOST) --port $(PORT)

## The whole suite: SQLite and PostgreSQL (CRM_TEST_BACKENDS=sqlite to skip PostgreSQL locally)
test: $(TEST_STAMP) system-packages
	$(BIN)/lint-imports
	$(BIN)/pytest

## The edit loop: domain and application tests (no database, no servers), a tenth of the property examples
test-fast: $(TEST_STAMP)
	$(BIN)/pytest -q tests/unit tests/application --hypothesis-profile=quick

## The fault suite (docs/reliability.md): real servers and workers on PostgreSQL behind fault proxies, kill -9,
## cuts and pauses, then Jepsen-style checks; about two minutes (CRM_RELIABILITY_SECONDS sets the load's length)
test-reliability: $(TEST_STAMP)
	CRM_RELIABILITY=1 CRM_TEST_BACKENDS=postgresql $(BIN)/pytest -p no:cacheprovider -s tests/reliability

## The local cluster's test (docs/deployment.md): nginx, PgBouncer, two API processes and two workers started by
## deploy/local-cluster on the machine's PostgreSQL and RabbitMQ; balancing, cross-process live updates, one
## delivery per event, kill -9 under load, all through PgBouncer; about a minute
test-cluster: $(TEST_STAMP) system-packages
	CRM_CLUSTER=1 $(BIN)/pytest -p no:cacheprovider -s tests/cluster

## The deployment of docs/deployment.md on this machine (var/local-cluster): start it (with the demo data), see
## it, stop it (and drop its database)
cluster-start: $(STAMP) system-packages
	$(BIN)/python deploy/local-cluster/cluster.py start --demo
cluster-status:
	$(BIN)/python deploy/local-cluster/cluster.py status
cluster-stop:
	$(BIN)/python deploy/local-cluster/cluster.py stop

migrate: $(STAMP)
	$(BIN)/crm migrate

seed: $(STAMP)
	$(BIN)/crm seed-demo

schema: $(STAMP)
	$(BIN)/crm schema > schema.graphql

check-contract: $(STAMP)
	mkdir -p var && $(BIN)/crm schema > var/served.graphql && $(BIN)/python ../shared/contract/check var/served.graphql

clean:
	rm -rf $(VENV) var .pytest_cache

## Read-path benchmark (issue 9, docs/performance.md): the service against PostGraphile v5 and a hand-written SQL
## floor on the PostgreSQL at 127.0.0.1:5432; not part of `make test`. Options: make bench BENCH_ARGS="--scale 10"
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python bench/perf.py $(BENCH_ARGS)
