"""DagBag tests: the DAG files parse, hold the expected task graph and schedules, render the
as-of date and run id of their data interval, and import nothing heavy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from af_harness import DAGS, ROOT, airflow_python, run_probe

# A manual run at 11:00 on 2 January (Asia/Shanghai) covers 1 January, local midnight to midnight.
RUN_AFTER = "2023-01-02T03:00:00+00:00"


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_probe(airflow_python(), tmp_path_factory.mktemp("airflow-home"), "graph", str(DAGS), RUN_AFTER)


def _edges(dag: dict[str, Any]) -> dict[str, list[str]]:
    return {tid: t["upstream"] for tid, t in dag["tasks"].items()}


def test_dagbag_has_both_dags_and_no_import_errors(bag):
    assert bag["import_errors"] == {}
    assert sorted(bag["dags"]) == ["rural_risk_maintenance", "rural_risk_pipeline", "rural_risk_training"]


def test_pipeline_task_graph(bag):
    dag = bag["dags"]["rural_risk_pipeline"]
    expected = {
        "ingest": [],
        "validate": ["ingest"],
        "ingest_complete": ["ingest"],
        "features": ["validate"],
        "first_champion": ["features"],
        "score": ["first_champion"],
        "allocate": ["score"],
        "report": ["allocate"],
    }
    assert _edges(dag) == expected
    tasks = dag["tasks"]
    # A failed ingest (one source or more) does not stop validate; ingest_complete fails the run.
    assert tasks["ingest"]["trigger_rule"].endswith("ALL_SUCCESS")
    assert tasks["validate"]["trigger_rule"] == "TriggerRule.ALL_DONE"
    assert tasks["ingest_complete"]["trigger_rule"] == "TriggerRule.ALL_SUCCESS"
    assert tasks["features"]["trigger_rule"] == "TriggerRule.ALL_SUCCESS"
    assert tasks["ingest_complete"]["operator"] == "EmptyOperator"


def test_training_task_graph(bag):
    dag = bag["dags"]["rural_risk_training"]
    assert _edges(dag) == {"backtest": [], "train": ["backtest"], "promote": ["train"]}


def test_maintenance_runs_weekly_with_the_settings_retention(bag):
    dag = bag["dags"]["rural_risk_maintenance"]
    assert _edges(dag) == {"maintain": []}
    assert (dag["timetable"], dag["cron"], dag["max_active_runs"]) == ("CronDataIntervalTimetable", "0 4 * * 0", 1)
    args = dag["rendered"]["maintain"]["args"]
    assert args[-1:] == ["maintain"]  # retention from the settings, no override in the DAG


def test_schedules_from_conf(bag):
    pipe, train = bag["dags"]["rural_risk_pipeline"], bag["dags"]["rural_risk_training"]
    assert (pipe["timetable"], pipe["cron"], pipe["timezone"]) == (
        "CronDataIntervalTimetable", "0 0 * * *", "Asia/Shanghai")
    assert (train["timetable"], train["cron"]) == ("CronDataIntervalTimetable", "0 3 1 * *")
    assert pipe["max_active_runs"] == 1 and pipe["catchup"] is False
    # Daily interval: local midnight to local midnight (UTC+8).
    assert pipe["interval"] == ["2022-12-31T16:00:00+00:00", "2023-01-01T16:00:00+00:00"]
    # Monthly interval ending at the last 1st-of-month 03:00 before the run.
    assert train["interval"] == ["2022-11-30T19:00:00+00:00", "2022-12-31T19:00:00+00:00"]


def test_retries_on_every_spark_task(bag):
    for dag_id, retries, delay in (("rural_risk_pipeline", 2, 300.0), ("rural_risk_training", 1, 600.0),
                                   ("rural_risk_maintenance", 1, 600.0)):
        spark = {tid: t for tid, t in bag["dags"][dag_id]["tasks"].items()
                 if t["operator"] == "SparkSubmitOperator"}
        assert spark, dag_id
        assert {(t["retries"], t["retry_delay_s"]) for t in spark.values()} == {(retries, delay)}, dag_id


def test_tasks_run_the_project_cli_with_its_spark_submit_and_python(bag):
    for dag in bag["dags"].values():
        for tid, t in dag["tasks"].items():
            if t["operator"] != "SparkSubmitOperator":
                continue
            assert t["spark_binary"] == str(ROOT / ".venv/bin/spark-submit"), tid
            assert t["application"] == str(ROOT / "jobs/cli.py"), tid
            assert t["conn_id"] == "spark_default", tid
            assert t["env_vars"]["PYSPARK_PYTHON"] == str(ROOT / ".venv/bin/python"), tid
            assert t["env_vars"]["PYSPARK_DRIVER_PYTHON"] == str(ROOT / ".venv/bin/python"), tid


def test_rendered_arguments_carry_the_interval(bag):
    pipe = bag["dags"]["rural_risk_pipeline"]["rendered"]
    head = ["--lakehouse", str(ROOT / "lakehouse"), "--profile", "local",
            "--run-id", "rural_risk_pipeline-20230102T000000"]
    landing = str(ROOT / "data/landing")
    # Every source in one task (conf/schedule.yaml lists none: all of conf/ingest.yaml's).
    assert pipe["ingest"]["args"] == [*head, "ingest", "--landing", landing]
    for stage in ("validate", "features", "score", "allocate"):
        assert pipe[stage]["args"] == [*head, stage, "--as-of", "2023-01-02"], stage
    assert pipe["report"]["args"] == [*head, "report", "--out", str(ROOT / "reports")]
    # the first run of a new lakehouse trains the first champion; later runs find it
    assert pipe["first_champion"]["args"] == [*head, "train", "--as-of", "2023-01-02", "--if-no-champion"]
    assert pipe["ingest_complete"] is None
    train = bag["dags"]["rural_risk_training"]["rendered"]
    assert train["train"]["args"] == [
        "--lakehouse", str(ROOT / "lakehouse"), "--profile", "local",
        "--run-id", "rural_risk_training-20230101T030000", "train", "--as-of", "2023-01-01"]


def _bag_with_schedule(tmp_path: Path, edit: Any) -> dict[str, Any]:
    """The DAG bag rendered under conf/schedule.yaml as `edit(data)` changed it."""
    import yaml

    data = yaml.safe_load((ROOT / "conf" / "schedule.yaml").read_text(encoding="utf-8"))
    edit(data)
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(yaml.safe_dump(data), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    return run_probe(airflow_python(), home, "graph", str(DAGS), RUN_AFTER,
                     RURAL_RISK_SCHEDULE=str(schedule))


def test_ingest_limited_to_the_sources_of_the_schedule(tmp_path):
    out = _bag_with_schedule(tmp_path, lambda d: d["pipeline"].update(sources=["villages", "incidents"]))
    args = out["dags"]["rural_risk_pipeline"]["rendered"]["ingest"]["args"]
    assert args[args.index("ingest"):] == ["ingest", "--landing", str(ROOT / "data/landing"),
                                           "--source", "villages", "--source", "incidents"]


def test_delta_jars_rendered_from_the_jar_cache(bag):
    jars = bag["dags"]["rural_risk_pipeline"]["rendered"]["features"]["jars"].split(",")
    assert any(Path(j).name.startswith("io.delta_delta-spark") for j in jars)
    assert all(Path(j).is_file() and Path(j).parent == ROOT / ".cache/jars" for j in jars)


@pytest.mark.parametrize("dag_file", ["rural_risk_pipeline.py", "rural_risk_training.py",
                                      "rural_risk_maintenance.py"])
def test_no_heavy_imports_at_module_level(tmp_path, dag_file):
    out = run_probe(airflow_python(), tmp_path, "imports", str(DAGS / dag_file))
    assert out == {"file": dag_file, "heavy": []}


def test_drivers_map_the_class_archive_when_setup_built_it(bag):
    conf = bag["dags"]["rural_risk_pipeline"]["rendered"]["features"]["conf"]
    archive = ROOT / ".cache" / "jvm" / "current.jsa"
    java = conf["spark.driver.extraJavaOptions"]
    if archive.is_file():
        assert java == f"-XX:SharedArchiveFile={archive.resolve()}"
    else:  # no archive (no Java runtime when `make setup` ran): the option is left out
        assert "SharedArchiveFile" not in java
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_no_class_archive_when_the_schedule_sets_it_null(tmp_path):
    out = _bag_with_schedule(tmp_path, lambda d: d["spark"].update(
        class_archive=None, conf={"spark.driver.extraJavaOptions": "-XX:+UseSerialGC"}))
    conf = out["dags"]["rural_risk_pipeline"]["rendered"]["score"]["conf"]
    assert conf["spark.driver.extraJavaOptions"] == "-XX:+UseSerialGC"
