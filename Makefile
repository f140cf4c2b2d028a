# Reddit Lakehouse: the two commands a newcomer needs are `make local` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Spark 3.5 needs Java 17 (a Java 25 JDK on the same machine breaks it).
JAVA17 := $(firstword $(wildcard /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/temurin-17-* /usr/lib/jvm/java-17-*))
export JAVA_HOME := $(if $(JAVA17),$(JAVA17),$(JAVA_HOME))
# Offline and quiet CDK: no telemetry, no notices, no Node end-of-life banner.
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

LAKE ?= .lake
ARGS ?=

.PHONY: help install test lint local synth clean bench

help:
	@echo "make install  create .venv and node_modules (idempotent)"
	@echo "make local    run the whole pipeline offline on the synthetic corpus into $(LAKE)/"
	@echo "make test     lint + the whole test suite (what CI runs)"
	@echo "make synth    synthesize dev and prod into cdk.out/ (cdk-nag + cfn-lint)"
	@echo "make bench    run the benchmarks under bench/"

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@# Bytecode for the project's own modules, as pip writes for installed packages (an editable
	@# install gets none, and where PYTHONDONTWRITEBYTECODE is set every run would recompile them).
	$(BIN)/python -m compileall -q lakehouse lakehouse_tools lambdas glue_jobs infra bench
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest $(ARGS)

local: install
	$(BIN)/lakehouse run --source synthetic --lake $(LAKE) --summary-json $(LAKE)/summary.json $(ARGS)

synth: install
	rm -rf cdk.out
	npx --no-install cdk synth --quiet --no-notices
	$(BIN)/cfn-lint cdk.out/*.template.json

bench: install
	$(BIN)/python bench/ingest_vs_dlt.py
	$(BIN)/python bench/process_vs_duckdb.py
	$(BIN)/python bench/problem_rule/measure.py
	PYTHONPATH=. $(BIN)/python -m bench.problem_rule.classifier

clean:
	rm -rf cdk.out $(LAKE) .pytest_cache .mypy_cache .ruff_cache
