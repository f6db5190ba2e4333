# Two commands on a fresh machine:  make run   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# openapi-python-client, which make test runs over the OpenAPI document, in a venv of its own
GENERATOR := $(VENV)/generator
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run worker test lint fmt openapi migrate key bench fuzz soak clean client client-check

$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,embedded]' -e clients/python
	@touch $(STAMP)

$(GENERATOR)/.installed-stamp: clients/python/openapi-python-client.txt $(STAMP)
	@test -x $(GENERATOR)/bin/python || $(BIN)/python -m venv $(GENERATOR)
	$(GENERATOR)/bin/python -m pip install --quiet -r clients/python/openapi-python-client.txt
	@touch $@

install: $(STAMP)

## make run: the API on $(HOST):$(PORT); the embedded PostgreSQL when IPLEDGE_DATABASE_URL is unset
run: install
	$(BIN)/ipledge serve --host $(HOST) --port $(PORT)

## make worker: webhook relay and periodic jobs
worker: install
	$(BIN)/ipledge worker

## make test: lint, types (mypy --strict), the import contracts, the OpenAPI check and the
## whole suite (IPLEDGE_TEST_DATABASE_URL or embedded)
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/ipledge openapi --check
	$(MAKE) --no-print-directory client-check
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

fmt: install
	$(BIN)/ruff format app tests bench migrations
	$(BIN)/ruff check --fix .

openapi: install
	$(BIN)/ipledge openapi

## make client: regenerate the OpenAPI document and the Python client's models and operations
## (clients/python) from it; make client-check (part of make test) fails when the committed
## client is behind, and sets up openapi-python-client, whose test checks the document with it
client: openapi
	$(BIN)/python clients/python/generate.py

client-check: install $(GENERATOR)/.installed-stamp
	$(BIN)/python clients/python/generate.py --check

migrate: install
	$(BIN)/ipledge migrate

## make key ROLE=admin [SUBJECT=...]: print a new API key once
key: install
	$(BIN)/ipledge keys create --role $(ROLE) $(if $(SUBJECT),--subject $(SUBJECT),)

## make demo [RELAY=1]: a guided end-to-end run against the API on $(HOST):$(PORT), printing
## each step and where to look in /docs, through the Python client (clients/python). After
## `make run` on the embedded PostgreSQL every step runs; with no worker running the demo
## delivers its webhook itself (RELAY=1: at once). A service with IPLEDGE_DATABASE_URL keeps
## the strict defaults: give it IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true IPLEDGE_MAX_BACKDATE_DAYS=120
## for every step.
.PHONY: demo
demo: install
	$(BIN)/ipledge demo --url http://$(HOST):$(PORT) $(if $(RELAY),--relay,)

## make fuzz [FUZZ_EXAMPLES=200]: schemathesis over every operation and role, and along the links
## between them, with fresh random
## examples (the short, fixed-seed run is part of make test); IPLEDGE_TEST_DATABASE_URL as for test
FUZZ_EXAMPLES ?= 200
fuzz: install
	IPLEDGE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) IPLEDGE_FUZZ_STATEFUL_EXAMPLES=$(FUZZ_EXAMPLES) IPLEDGE_FUZZ_RANDOM=1 \
		$(BIN)/pytest -p no:cacheprovider tests/fuzz

## make bench: the benchmark suite against the raw-asyncpg floor (127.0.0.1 only)
bench: install
	$(BIN)/python -m bench

## make soak: load with faults on 127.0.0.1 against its own PostgreSQL (var/soak, port 55432),
## then an audit; about 6 minutes, exits non-zero when a check fails. Tune with SOAK_RATE,
## SOAK_RECEIVER_DOWN_S, SOAK_PG_DOWN_S, SOAK_TAIL_S, SOAK_MAX_S (see python -m bench.soak -h).
soak: install
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
