# newswire: `make up` runs the whole pipeline on this machine, `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3
STATE ?= .state
INSTALLED := $(STATE)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST := $(PYTHON) -m pytest

.PHONY: help install up down status test test-unit test-integration test-e2e lint format schemas bench clean

help:
	@echo "make up      start Kafka, Elasticsearch and the three services; load the samples; search"
	@echo "make test    unit, integration and end-to-end tests (starts the stack when needed)"
	@echo "make down    stop the services and the stack"
	@echo "make lint    ruff + mypy + schema drift check"

$(INSTALLED): pyproject.toml
	@mkdir -p $(STATE)
	$(PYTHON) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@rm -f $(STATE)/.installed-* && touch $@

install: $(INSTALLED)

up: install
	$(PYTHON) -m services.stack.quickstart up

down:
	$(PYTHON) -m services.stack.quickstart down

status: install
	newswire stack status
	newswire topics list

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
define run_pytest
	$(PYTEST) $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $(1): failing" >&2; exit 1; fi; exit $$rc
endef

test: install
	@$(call run_pytest,tests/unit tests/integration tests/e2e)

test-unit: install
	@$(call run_pytest,tests/unit)

test-integration: install
	@$(call run_pytest,tests/integration)

test-e2e: install
	@$(call run_pytest,tests/e2e)

lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m schemas.generate --check

format: install
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

schemas: install
	$(PYTHON) -m schemas.generate

clean: down
	rm -rf $(STATE) deploy/analysis-plugin/target deploy/native/target
