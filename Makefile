# rural-risk: `make demo` and `make test` work on a fresh machine (they set up what they need).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JARS := .cache/jars/jars.json
LANDING ?= data/landing
LAKEHOUSE ?= lakehouse
VILLAGES ?= 250
YEARS ?= 5
SEED ?= 42

.PHONY: help setup jars demo test test-airflow-e2e lint format airflow clean benchmark

help:
	@echo "make demo   - set up, generate a $(VILLAGES)-village $(YEARS)-year county, run the pipeline"
	@echo "make test   - set up (project and Airflow environments), lint, run every test"
	@echo "make setup  - create $(VENV), install the project (editable) and fetch the Delta jars"
	@echo "make airflow- create .venv-airflow with Airflow 3 and the Spark provider"
	@echo "make browser- install headless Chromium (Debian) for the report tests"
	@echo "make benchmark - generator and model benchmarks (results: docs/benchmarks.md, docs/model-card.md)"
	@echo "make lint   - ruff"
	@echo "make clean  - remove generated data, lakehouse and reports (keeps environments and caches)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(JARS): $(STAMP) conf/base.yaml
	$(BIN)/python -m jobs.jars

setup: $(STAMP) $(JARS)

jars: $(JARS)

demo: setup
	$(BIN)/rural-risk generate --out $(LANDING) --villages $(VILLAGES) --years $(YEARS) --seed $(SEED) --overwrite
	$(BIN)/rural-risk --lakehouse $(LAKEHOUSE) pipeline --landing $(LANDING) --top 10

test: setup airflow browser
	$(BIN)/ruff check .
	$(BIN)/pytest tests --durations=15

# The Airflow end-to-end run alone (both DAGs through `airflow dags test`, 36 spark-submits,
# about 32 minutes on a 2-CPU machine); make test runs it too.
test-airflow-e2e: setup airflow
	$(BIN)/pytest tests/airflow/test_dags_e2e.py -m airflow_e2e

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

benchmark: setup
	$(BIN)/python benchmarks/generate_scale.py --villages $(VILLAGES) --years $(YEARS) --engine local
	$(BIN)/rural-risk generate --out data/bench/landing --villages $(VILLAGES) --years $(YEARS) --seed $(SEED) --overwrite
	$(BIN)/python benchmarks/model_benchmark.py --build --landing data/bench/landing --lakehouse data/bench/lakehouse --truth data/bench/landing/_truth --out data/bench/model_benchmark.json

clean:
	rm -rf data lakehouse reports spark-warehouse metastore_db derby.log

# Airflow 3 and the Spark provider in their own environment (the provider's pyspark-client
# must not replace pyspark in $(VENV)); the DAGs are in airflow_dags/, see docs/airflow.md.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed

$(AIRFLOW_STAMP): airflow_dags/requirements-airflow.txt
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r airflow_dags/requirements-airflow.txt
	@touch $@

airflow: $(AIRFLOW_STAMP)

# Headless Chromium for the report's browser tests (Debian packages); a no-op when present.
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }
