# The two set-up commands of the README: `make quickstart` (the local identity provider) and `make test`.
PYTHON ?= python3
VENV ?= venv
BIN := $(VENV)/bin

.PHONY: install quickstart test lint keycloak-kms

$(BIN)/idpkit: pyproject.toml
	scripts/install-system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/idpkit

quickstart: install
	$(BIN)/idpkit local up
	$(BIN)/idpkit realm apply --stack local
	$(BIN)/idpkit smoke --stack local

# The virtualenv's bin first: runbook steps and CLI subprocesses call `idpkit` by name.
test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The KMS signing provider jar (keycloak-kms/, Maven; skipped when its sources are unchanged).
keycloak-kms: install
	$(BIN)/idpkit host kms-provider
