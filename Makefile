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
PROFILE ?= local
# make test runs the suite on two pytest workers (pytest-xdist): each worker holds one Spark
# application at a time, so the machine never runs more than two. TEST_WORKERS=0 runs it in
# one process.
TEST_WORKERS ?= 2

.PHONY: help setup jars demo test test-fast test-env test-airflow-e2e lint format airflow clean benchmark
.PHONY: benchmark-pipeline benchmark-pipeline-table spark-cluster spark-cluster-stop test-cluster
.PHONY: sql-server sql-server-stop
SQL_PORT ?= 10000

help:
	@echo "make demo   - set up, generate a $(VILLAGES)-village $(YEARS)-year county, run the pipeline"
	@echo "make test   - set up (project, Airflow and browser environments side by side), lint, run every test (TEST_WORKERS=2 pytest workers)"
	@echo "make test-fast - the same without the Airflow end-to-end run (about 10 minutes less)"
	@echo "make setup  - create $(VENV), install the project (editable) and fetch the Delta jars"
	@echo "make airflow- create .venv-airflow with Airflow 3 and the Spark provider"
	@echo "make browser- install headless Chromium (Debian) for the report tests"
	@echo "make benchmark - generator and model benchmarks (results: docs/benchmarks.md, docs/model-card.md)"
	@echo "make benchmark-pipeline VILLAGES=N YEARS=Y - every stage timed, with the floor and DuckDB references"
	@echo "make benchmark-pipeline-table - docs/benchmarks.md tables from benchmarks/results/pipeline_scale*.jsonl"
	@echo "make spark-cluster / spark-cluster-stop - a local Spark standalone master and worker"
	@echo "make test-cluster - the pipeline on that cluster and locally give the same gold tables"
	@echo "make sql-server / sql-server-stop - the lakehouse over JDBC at jdbc:hive2://localhost:$(SQL_PORT)/default (docs/analysts.md)"
	@echo "make lint   - ruff"
	@echo "make clean  - remove generated data, lakehouse and reports (keeps environments and caches)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(JARS): $(STAMP) conf/base.yaml
	$(BIN)/python -m jobs.jars

# The class archive (faster Spark starts, jobs/class_archive.py): built once, a no-op after.
setup: $(STAMP) $(JARS)
	@$(BIN)/python -m jobs.class_archive

jars: $(JARS)

demo: setup
	$(BIN)/rural-risk generate --out $(LANDING) --villages $(VILLAGES) --years $(YEARS) --seed $(SEED) --overwrite
	$(BIN)/rural-risk --lakehouse $(LAKEHOUSE) pipeline --landing $(LANDING) --top 10

# The suite's three environments do not depend on each other: the project's (pip, Delta jars,
# class archive), Airflow's (pip) and Chromium are set up side by side, each target's output
# printed whole when it ends (-O).
test-env:
	@$(MAKE) --no-print-directory -j3 -O setup airflow browser

test: test-env
	$(BIN)/ruff check .
	$(BIN)/pytest tests $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder) --durations=15

# Everything make test runs but the Airflow end-to-end run (tests marked airflow_e2e).
test-fast: test-env
	$(BIN)/ruff check .
	$(BIN)/pytest tests -m "not airflow_e2e" $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder) --durations=15

# The Airflow end-to-end run alone (both DAGs through `airflow dags test`, 17 spark-submits);
# make test runs it too.
test-airflow-e2e: setup airflow
	$(BIN)/pytest tests/airflow -m airflow_e2e

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

benchmark: setup
	$(BIN)/python benchmarks/generate_scale.py --villages $(VILLAGES) --years $(YEARS) --engine local
	$(BIN)/rural-risk generate --out data/bench/landing --villages $(VILLAGES) --years $(YEARS) --seed $(SEED) --overwrite
	$(BIN)/python benchmarks/model_benchmark.py --build --landing data/bench/landing --lakehouse data/bench/lakehouse --truth data/bench/landing/_truth --out data/bench/model_benchmark.json

# The whole pipeline stage by stage (each stage its own process, sampled from /proc) with two
# references in the same run: a bare Spark load of the landing files and the features' incident
# counts in DuckDB. One JSON line per stage in benchmarks/results/pipeline_scale.jsonl
# (docs/benchmarks.md). Run it alone on the machine; PROFILE=cluster runs it on a cluster.
benchmark-pipeline: setup
	$(BIN)/python benchmarks/pipeline_scale.py --villages $(VILLAGES) --years $(YEARS) --seed $(SEED) --profile $(PROFILE)

benchmark-pipeline-table: $(STAMP)
	$(BIN)/python benchmarks/pipeline_table.py

# A Spark standalone master and one worker on 127.0.0.1 from pyspark's own jars (pid files and
# logs in .cache/spark-cluster/); the jobs reach it with --profile cluster and
# RURAL_RISK_SPARK_MASTER=spark://127.0.0.1:7077 (docs/benchmarks.md, "Running on a cluster").
spark-cluster: $(STAMP)
	benchmarks/spark_cluster.sh start

spark-cluster-stop:
	benchmarks/spark_cluster.sh stop

# Starts its own cluster on free ports, runs the pipeline there and locally, compares gold.
test-cluster: setup
	$(BIN)/pytest tests/jobs/test_cluster.py

# The Spark Thrift Server over $(LAKEHOUSE), read-only, in the background (jobs/sql_server.py;
# docs/analysts.md): DBeaver, beeline or any Hive JDBC client at jdbc:hive2://localhost:$(SQL_PORT)/default.
sql-server: setup
	$(BIN)/rural-risk --lakehouse $(LAKEHOUSE) --profile $(PROFILE) sql-server start --port $(SQL_PORT)

sql-server-stop:
	$(BIN)/rural-risk --lakehouse $(LAKEHOUSE) sql-server stop

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
