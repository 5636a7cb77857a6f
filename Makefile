# The two set-up commands of the README: `make quickstart` (the local identity provider) and `make test`.
PYTHON ?= python3
VENV ?= venv
BIN := $(VENV)/bin

.PHONY: install quickstart test lint lock rehearsal keycloak-kms

# The venv is exactly requirements.lock (hashes checked), then the kit itself without resolving anything.
$(BIN)/idpkit: pyproject.toml requirements.lock
	scripts/install-system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
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

# Re-resolve every dependency (pyproject.toml's ranges) into requirements.lock, for every platform the kit runs on.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal --python-version 3.11 \
		--quiet -o requirements.lock

# The AWS host path of every stack, run for real (root; about 10 minutes each). CI runs dev and prod.
rehearsal: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest tests/rehearsal --run-all-rehearsals -p no:randomly

# The KMS signing provider jar (keycloak-kms/, Maven; skipped when its sources are unchanged).
keycloak-kms: install
	$(BIN)/idpkit host kms-provider
