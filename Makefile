# The interface: every command a developer, CI or an operator runs is a target here.
# `make run` and `make test` install what they need themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PACKAGES := libs/contracts libs/runtime $(wildcard services/*)
SERVICE ?=
ROLE   ?= supervisor
OFFICE ?= BLT
MSG    ?= change
# `make up`, `make migrate` and `make replay-parked` use real servers; the environment may override.
SERVERS_ENV := SAMBANG_DATABASE_URL="$${SAMBANG_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/sambang_{service}}" \
               SAMBANG_AMQP_URL="$${SAMBANG_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"

.DEFAULT_GOAL := help
.PHONY: help install run up secrets rotate-data-key test test-faults lint typecheck pytest browser-test bench profile migrate migration token replay-parked docs deploy-manifests constraints clean servers

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements/base.txt requirements/dev.txt requirements/constraints.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) -m pip install -q --no-deps $(foreach p,$(PACKAGES),-e $(p))
	@touch $@

install: $(STAMP) ## create .venv and install every library and service (editable, pinned)

run: $(STAMP) ## embedded mode: every service + front door on :8000, in-memory bus, SQLite in ./var
	env -u SAMBANG_DATABASE_URL -u SAMBANG_AMQP_URL SAMBANG_ENVIRONMENT=development $(PY) -m sambang_runtime.launcher run

up: $(STAMP) servers ## each service its own process on RabbitMQ and PostgreSQL, front door on :8000 (development unless SAMBANG_ENVIRONMENT says production)
	$(SERVERS_ENV) SAMBANG_ENVIRONMENT="$${SAMBANG_ENVIRONMENT:-development}" $(PY) -m sambang_runtime.launcher up

secrets: $(STAMP) ## generate production keys and passwords into deploy/.env and deploy/secrets/ (git-ignored; kept unless FORCE=1; BROKER=amqps://...?cafile=...; POSTGRES=host:port, {service} allowed)
	$(PY) -m sambang_runtime.deployment secrets deploy/.env $(if $(FORCE),--force) $(if $(BROKER),--broker "$(BROKER)") $(if $(POSTGRES),--postgres "$(POSTGRES)")

servers: ## start local PostgreSQL and RabbitMQ if they are down
	@bash deploy/local/ensure-servers.sh

test: lint typecheck pytest ## ruff, mypy and the whole test suite on real RabbitMQ and PostgreSQL

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy strict on the libraries, every service, the end-to-end and fault tests and the benches
	$(VENV)/bin/mypy libs/contracts/src libs/runtime/src $(wildcard services/*/src) tests/e2e tests/faults bench

pytest: $(STAMP) servers ## the test suite only
	$(PY) -m pytest -q

test-faults: $(STAMP) ## journeys while each service, RabbitMQ, PostgreSQL and SIMKIM fail in turn, then on a 3-node RabbitMQ cluster and a PostgreSQL failover; reconciliations (own servers; ~10 min)
	SAMBANG_FAULTS=1 $(PY) -m pytest -q -s tests/faults

browser-test: $(STAMP) ## the web clients in Debian's chromium against the embedded stack (apt-installs chromium if missing)
	$(PY) -m pytest -q tests/browser

bench: $(STAMP) servers ## every benchmark; each prints one JSON line last
	@for b in bench/bus.py bench/booking.py bench/payments.py bench/capture.py bench/notify.py bench/gateway.py bench/journey.py bench/cluster.py; do echo "== $$b"; $(PY) $$b || exit 1; done

profile: $(STAMP) servers ## each bench under py-spy (every process sampled): docs/profiles/<bench>.svg, the top functions in docs/profiles/top.md
	@mkdir -p docs/profiles
	@for b in booking payments gateway bus journey; do echo "== $$b"; \
	  $(VENV)/bin/py-spy record --subprocesses --nonblocking --rate 100 -o docs/profiles/$$b.svg -- $(PY) bench/$$b.py > /dev/null || exit 1; done
	$(PY) bench/flametop.py --scrub docs/profiles/*.svg
	$(PY) bench/flametop.py docs/profiles/booking.svg docs/profiles/payments.svg docs/profiles/gateway.svg docs/profiles/bus.svg docs/profiles/journey.svg > docs/profiles/top.md

migrate: $(STAMP) ## apply migrations of every service (SERVICE=x for one) to SAMBANG_DATABASE_URL
	$(SERVERS_ENV) SAMBANG_ENVIRONMENT="$${SAMBANG_ENVIRONMENT:-development}" $(PY) -m sambang_runtime.launcher migrate $(SERVICE)

migration: $(STAMP) ## autogenerate a migration: make migration SERVICE=payment MSG="add column"
	@test -n "$(SERVICE)" || (echo "usage: make migration SERVICE=<name> MSG=<message>" && exit 2)
	$(PY) -m sambang_runtime.launcher new-migration $(SERVICE) "$(MSG)"

token: $(STAMP) ## print a dev token: make token ROLE=supervisor OFFICE=BLT [TTL=600 for an approval token]
	@$(PY) -m sambang_runtime.auth $(foreach r,$(subst $(comma), ,$(ROLE)),--role $(r)) --office $(OFFICE) $(if $(TTL),--ttl $(TTL))

rotate-data-key: $(STAMP) ## re-encrypt stored personal data and images under the active (last) key of SAMBANG_PII_KEYS (SERVICE=x for one)
	$(SERVERS_ENV) SAMBANG_ENVIRONMENT="$${SAMBANG_ENVIRONMENT:-development}" $(PY) -m sambang_runtime.launcher rotate-data-key $(SERVICE)

replay-parked: $(STAMP) ## put parked messages back: make replay-parked SERVICE=payment
	@test -n "$(SERVICE)" || (echo "usage: make replay-parked SERVICE=<name>" && exit 2)
	$(SERVERS_ENV) $(PY) -m sambang_runtime.launcher replay-parked $(SERVICE)

deploy-manifests: $(STAMP) ## render deploy/ (RabbitMQ definitions, compose, k8s) from the services
	$(PY) -m sambang_runtime.deployment .

docs: $(STAMP) ## export JSON Schemas and the AsyncAPI document into docs/events
	$(PY) -m sambang_contracts.schemas docs/events

constraints: $(STAMP) ## re-pin every installed package into requirements/constraints.txt
	@(echo "# Every package of the environment, pinned (pip freeze). Regenerate with 'make constraints'."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^-e') > requirements/constraints.txt

clean: ## remove the virtualenv, caches and embedded-mode data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

comma := ,
