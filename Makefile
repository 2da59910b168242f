# Threadline's commands. `make dev` and `make test` work on a fresh clone: they install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 3000
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# sam build needs the Lambda runtime's interpreter (python3.13) on PATH; pyenv provides it here.
SAM_BUILD_ENV := PYENV_VERSION=$(shell $(PYTHON) -c 'import platform; print(platform.python_version())'):3.13.0
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install dev deploy-local test test-fast lint typecheck sam-validate build layer-requirements openapi schema docs bench bench-ingest bench-coldstart bench-read bench-expiry bench-events bench-media stop clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python "$$(command -v $(PYTHON))"
	touch $@

install: $(VENV)/.installed ## create .venv and install the locked dependencies

layer-requirements: | $(UV) ## export the layer's (and the WebSocket authorizer's) requirements.txt from the lock
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header -o layers/threadline/requirements.txt > /dev/null
	$(UV) export --frozen --only-group websocket-authorizer --no-hashes --no-emit-project --no-header \
		-o functions/websocket_authorizer/requirements.txt > /dev/null

openapi: install ## write api/openapi.yaml from template.yaml and the models (Swagger UI: /docs on make dev)
	$(BIN)/python -m devtools.openapi

schema: install ## write layers/threadline/threadline/db/schema.sql: pg_dump of a freshly migrated database (never applied)
	$(BIN)/python -m devtools.schema

docs: install ## write the field tables of docs/websocket.md and docs/events.md from the frame and event-data models
	$(BIN)/python -m devtools.model_docs

dev: install ## run the whole API locally on http://127.0.0.1:$(PORT) (embedded PostgreSQL, no Docker)
	$(BIN)/threadline serve --demo --port $(PORT)

stop: install ## stop the embedded PostgreSQL that make dev started
	$(BIN)/threadline db stop

test: install lint sam-validate build ## everything CI runs: lint, SAM validation and build, the test suite
	$(SAM_BUILD_ENV) $(BIN)/pytest

test-fast: install ## the test suite alone
	$(SAM_BUILD_ENV) $(BIN)/pytest

lint: install ## ruff, mypy and the layer's import contract (import-linter, [tool.importlinter] in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/threadline/threadline devtools bench
	PYTHONPATH=layers/threadline $(BIN)/lint-imports

sam-validate: install ## sam validate --lint (cfn-lint)
	$(BIN)/sam validate --lint

build: install ## sam build (arm64 layer and functions) into .aws-sam/
	$(SAM_BUILD_ENV) $(BIN)/sam build

bench: bench-ingest bench-coldstart bench-read bench-expiry bench-events bench-media ## every benchmark

bench-expiry: install ## one window-expiry run over 1,000,000 closed windows (target < 5 s) vs a plain UPDATE
	$(BIN)/python -m bench.expiry

bench-events: install ## event log appends with/without the log vs COPY, dispatcher deliveries/s vs bare POSTs, catch-up p50/p99, commit-to-delivery
	$(BIN)/python -m bench.events

bench-media: install ## media copies/s through the real pipeline vs a bare download-and-put loop; webhook p99 with media vs text
	$(BIN)/python -m bench.media

bench-ingest: install ## messages/s through the real handler vs raw COPY and the seed's JSONB model
	$(BIN)/python -m bench.ingest

bench-read: install ## read API handler p50/p99 at 1,000,000 messages and 100,000 conversations, first vs deep pages
	$(BIN)/python -m bench.read

bench-coldstart: install ## per function: init + first request up to its first round trip (python3.13) vs the cookbook reference
	$(SAM_BUILD_ENV) $(BIN)/python -m bench.coldstart

clean: ## remove build output and local state (the embedded database too)
	-$(BIN)/threadline db stop
	rm -rf .aws-sam .local .venv .uv

deploy-local: install ## rehearse the deployment: sam build + sam deploy to a local AWS emulator (MiniStack), then call it
	$(SAM_BUILD_ENV) $(BIN)/python -m devtools.rehearsal
