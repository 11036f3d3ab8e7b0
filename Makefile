# newswire: `make up` runs the whole pipeline on this machine, `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3
STATE ?= .state
INSTALLED := $(STATE)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST := $(PYTHON) -m pytest

# (relevance: ranking quality on judged queries; needs ../shared)
.PHONY: relevance bench-enrich help install up down status test test-unit test-integration test-e2e test-security test-faults test-cluster soak stress-enrich lint format schemas bench clean

help:
	@echo "make up      start Kafka, Elasticsearch, the three services and the search API/web page; load the samples; search"
	@echo "make test    unit, integration and end-to-end tests (starts the stack when needed)"
	@echo "make soak    the fault suite, longer and harder (kills, broker restarts, ES outages)"
	@echo "make down    stop the services and the stack"
	@echo "make lint    ruff + mypy + schema drift check"
	@echo "make bench   speed of each stage alone and together, on a private stack (table in bench/results)"

$(INSTALLED): pyproject.toml
	@mkdir -p $(STATE)
	$(PYTHON) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@rm -f $(STATE)/.installed-* && touch $@

install: $(INSTALLED)

# WORKERS=enrich=3,index=2: that many workers of those services (each its own process in the group).
# SECURE=1: secure mode (TLS, SCRAM + ACLs, ES users and API keys) in its own state dir $(STATE)/secure,
# on the same ports (`make down` the plain stack first); secrets in $(STATE)/secure/secrets, never the repo.
SECURE_ENV = $(if $(SECURE),NEWSWIRE_STACK_STATE_DIR=$${NEWSWIRE_STACK_STATE_DIR:-$(abspath $(STATE))/secure})
up: install
	$(SECURE_ENV) $(PYTHON) -m services.stack.quickstart up $(if $(WORKERS),--workers $(WORKERS)) $(if $(SECURE),--secure)

down:
	$(SECURE_ENV) $(PYTHON) -m services.stack.quickstart down

status: install
	newswire stack status
	newswire topics list

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
define run_pytest
	$(PYTEST) $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $(1): failing" >&2; exit 1; fi; exit $$rc
endef

test: install
	@$(call run_pytest,tests/unit tests/integration tests/e2e tests/faults tests/cluster tests/security)

test-unit: install
	@$(call run_pytest,tests/unit)

test-integration: install
	@$(call run_pytest,tests/integration)

test-e2e: install
	@$(call run_pytest,tests/e2e)

# Secure mode (stack up --secure) on private ports (Kafka 27092/27093/27192, ES 27200/27300,
# .state/security): every principal's job, every refusal with its line, the pipeline end to end.
test-security: install
	@$(call run_pytest,tests/security -s)

# The fault suite on a private stack (ports 19092/19200): kills services, the broker and Elasticsearch.
test-faults: install
	@$(call run_pytest,tests/faults -s)

# The cluster suite on a private 3-broker + 3-node cluster (Kafka 49092-49097, Elasticsearch 49200-49202,
# .state/cluster): kills the busiest leader, freezes a broker, kills the ES node with the primary, restarts
# every broker in turn, adds and removes workers; prints the pause per fault.
test-cluster: install
	@$(call run_pytest,tests/cluster -s)

# The same, harder: more articles, more kills, a longer Elasticsearch outage, three rounds; then the
# cluster suite with more articles and workers, longer outages, three rounds.
soak: install
	NEWSWIRE_FAULTS_ARTICLES=$${NEWSWIRE_FAULTS_ARTICLES:-6000} \
	NEWSWIRE_FAULTS_FLOW_SECONDS=$${NEWSWIRE_FAULTS_FLOW_SECONDS:-420} \
	NEWSWIRE_FAULTS_KILLS_PER_SERVICE=$${NEWSWIRE_FAULTS_KILLS_PER_SERVICE:-5} \
	NEWSWIRE_FAULTS_BROKER_RESTARTS=$${NEWSWIRE_FAULTS_BROKER_RESTARTS:-2} \
	NEWSWIRE_FAULTS_ES_OUTAGES=$${NEWSWIRE_FAULTS_ES_OUTAGES:-2} \
	NEWSWIRE_FAULTS_ES_OUTAGE_S=$${NEWSWIRE_FAULTS_ES_OUTAGE_S:-60} \
	NEWSWIRE_FAULTS_SETTLE_TIMEOUT_S=$${NEWSWIRE_FAULTS_SETTLE_TIMEOUT_S:-1200} \
	NEWSWIRE_FAULTS_ROUNDS=$${NEWSWIRE_FAULTS_ROUNDS:-3} \
	$(PYTEST) tests/faults -s
	NEWSWIRE_CLUSTER_ARTICLES=$${NEWSWIRE_CLUSTER_ARTICLES:-6000} \
	NEWSWIRE_CLUSTER_FLOW_SECONDS=$${NEWSWIRE_CLUSTER_FLOW_SECONDS:-420} \
	NEWSWIRE_CLUSTER_WORKERS=$${NEWSWIRE_CLUSTER_WORKERS:-3} \
	NEWSWIRE_CLUSTER_BROKER_DOWN_S=$${NEWSWIRE_CLUSTER_BROKER_DOWN_S:-20} \
	NEWSWIRE_CLUSTER_ES_DOWN_S=$${NEWSWIRE_CLUSTER_ES_DOWN_S:-30} \
	NEWSWIRE_CLUSTER_STEADY_S=$${NEWSWIRE_CLUSTER_STEADY_S:-20} \
	NEWSWIRE_CLUSTER_NODE_TIMEOUT_S=$${NEWSWIRE_CLUSTER_NODE_TIMEOUT_S:-600} \
	NEWSWIRE_CLUSTER_SETTLE_TIMEOUT_S=$${NEWSWIRE_CLUSTER_SETTLE_TIMEOUT_S:-1200} \
	NEWSWIRE_CLUSTER_ROUNDS=$${NEWSWIRE_CLUSTER_ROUNDS:-3} \
	$(PYTEST) tests/cluster -s

lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m schemas.generate --check
	$(PYTHON) -m schemas.asyncapi --check
	$(PYTHON) -m services.enrich.readme --check

format: install
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

schemas: install
	$(PYTHON) -m schemas.generate
	$(PYTHON) -m schemas.asyncapi

# Speed of each stage alone and of the whole pipeline, on a private stack (ports 29092/29200, state in
# .state/bench) so the shared one is left alone; 15-20 minutes. BENCH_ARGS="--articles 2000" for a quick look.
bench: install
	$(PYTHON) -m pip install --disable-pip-version-check -q -e '.[bench]'
	$(PYTHON) -m bench.speed $(BENCH_ARGS)

# Enrich's consumer-group life cycle over and over (issue 10), with faust/aiokafka at DEBUG; logs in
# /tmp/enrich-stress-*. The SIGTERM-and-restart test 20 times after the near-duplicate test, then 10
# rounds of workers joining, SIGKILLed mid-batch and stopped while articles flow: about 40 minutes.
# Not part of `make test`. Two workers on a new group, as bench.speed's enrich2: `python3 -m
# tests.stress.enrich pairs --fresh-topics 2` against a private broker (NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS).
stress-enrich: install
	$(PYTHON) -m tests.stress.enrich restart --runs $${RUNS:-20} --after-dedup
	$(PYTHON) -m tests.stress.enrich rounds --rounds $${ROUNDS:-10}

clean: down
	rm -rf $(STATE) deploy/analysis-plugin/target deploy/native/target

# Ranking quality of the search request against plain BM25 on judged queries (../shared), table in bench/results.
relevance: install
	$(PYTHON) -m bench.quality.relevance

# Enrich's CPU per BBC article, this tree beside another revision in one run: make bench-enrich AGAINST=<rev>
bench-enrich: install
	$(PYTHON) -m bench.speed.enrich_cpu --against $${AGAINST:-HEAD}
