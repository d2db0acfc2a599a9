"""End to end through Airflow: `airflow dags test` of the pipeline and training DAGs for one
interval, on a tiny generated county, SQLite metadata in a temporary AIRFLOW_HOME.

Order, as on a first deployment: the pipeline runs on a new lakehouse and succeeds in full
(its first_champion task trains the first model, so it scores, plans and reports); it runs
the same interval once more, which must change nothing (no table gets a new version, the
first_champion task trains nothing); then the training DAG backtests, trains and promotes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from af_harness import airflow_python, county_deployment, run_airflow

# 17 spark-submits (7 + 7 + 3): part of `make test` (and so CI);
# `make test-airflow-e2e` runs it alone.
pytestmark = [pytest.mark.slow, pytest.mark.airflow_e2e, pytest.mark.xdist_group("airflow-e2e")]

DAY = "2023-01-02"  # the interval of 1 January 2023 (local): as-of 2023-01-02
PIPELINE_RUN_ID = "rural_risk_pipeline-20230102T000000"
TRAINING_RUN_ID = "rural_risk_training-20230101T030000"
SCORED_PERIOD = "2023-01-01"
VILLAGES = 12
GOLD = ("gold.village_features", "gold.village_risk", "gold.patrol_plan")
SOURCES = ("villages", "population", "incidents", "patrols", "organizations", "resources", "survey")


def _airflow(env: dict[str, str], *args: str, log: Path) -> str:
    return run_airflow(env, *args, log=log)


def _dag_test(env: dict[str, str], dag_id: str, log: Path, *extra: str) -> str:
    out = _airflow(env, "dags", "test", dag_id, DAY, *extra, log=log)
    finished = re.findall(r"DagRun Finished: dag_id=(\w+).*?state=(\w+)", out)
    assert finished == [(dag_id, "success")], f"{dag_id} did not succeed (log {log}):\n{out[-4000:]}"
    return out


def _snapshot(lakehouse: Path) -> dict[str, Any]:
    """Delta version and sorted rows of every table, read with delta-rs (no JVM)."""
    from deltalake import DeltaTable

    snap: dict[str, Any] = {}
    for layer in ("bronze", "silver", "gold"):
        for folder in sorted((lakehouse / layer).glob("*")):
            if not (folder / "_delta_log").is_dir():
                continue
            table = DeltaTable(str(folder))
            pdf = table.to_pandas()
            rows = sorted(tuple(str(v) for v in r) for r in pdf.astype(str).itertuples(index=False))
            snap[f"{layer}.{folder.name}"] = {"version": table.version(), "columns": list(pdf.columns),
                                              "rows": rows, "frame": pdf}
    return snap


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    airflow_python()  # skips when .venv-airflow was never built
    work = tmp_path_factory.mktemp("airflow-e2e")
    env, _, lakehouse, reports = county_deployment(work, VILLAGES)
    _airflow(env, "db", "migrate", log=work / "migrate.log")
    full = _dag_test(env, "rural_risk_pipeline", work / "pipeline-1.log")
    after_full = _snapshot(lakehouse)
    again = _dag_test(env, "rural_risk_pipeline", work / "pipeline-2.log")
    after_again = _snapshot(lakehouse)
    training = _dag_test(env, "rural_risk_training", work / "training.log")
    return {"work": work, "reports": reports, "logs": (full, again, training),
            "full": after_full, "again": after_again}


def test_first_run_loads_every_source_and_builds_features(deployment):
    snap = deployment["full"]
    for source in SOURCES:
        assert f"silver.{source}" in snap, source
    villages = snap["silver.villages"]["frame"]
    assert villages["village_id"].is_unique and len(villages) == VILLAGES
    # The landed incidents arrive in silver, each id once.
    incidents = snap["silver.incidents"]["frame"]
    assert incidents["incident_id"].is_unique and len(incidents) > 100
    features = snap["gold.village_features"]["frame"]
    periods = sorted({str(p)[:10] for p in features["period_start"]})
    assert periods[0] == "2021-01-01" and periods[-1] == "2022-12-01"
    assert features.groupby("period_start")["village_id"].nunique().eq(VILLAGES).all()


def test_first_run_trains_the_first_champion_and_the_training_dag_the_next(deployment):
    from deltalake import DeltaTable

    registry = DeltaTable(str(deployment["work"] / "lakehouse" / "ops" / "model_registry")).to_pandas()
    champions = registry[registry["role"] == "champion"].sort_values("created_at")
    # the pipeline's first run registered the first champion, the training DAG the current one
    assert list(champions["run_id"].unique()) == [PIPELINE_RUN_ID, TRAINING_RUN_ID]
    full, again, training = deployment["logs"]
    assert "holds no champion yet: training the first one" in full
    assert "train: nothing to do: ops.model_registry has a champion" in again
    assert f"champion {TRAINING_RUN_ID}-" in training and "promoted: artifact loads" in training


def test_full_run_scores_and_plans_the_next_period(deployment):
    snap = deployment["full"]
    risk = snap["gold.village_risk"]["frame"]
    assert sorted({str(p)[:10] for p in risk["period_start"]}) == [SCORED_PERIOD]
    assert sorted(risk["rank"].astype(int)) == list(range(1, VILLAGES + 1))
    assert risk["probability"].between(0, 1).all()
    assert 0 < int(risk["flagged"].astype(bool).sum()) < VILLAGES
    assert set(risk["run_id"]) == {PIPELINE_RUN_ID}
    # The highest-ranked village has the highest probability.
    assert risk.sort_values("rank")["probability"].is_monotonic_decreasing
    plan = snap["gold.patrol_plan"]["frame"]
    assert sorted({str(p)[:10] for p in plan["period_start"]}) == [SCORED_PERIOD]
    assert (plan["hours"] >= 0).all()
    # the plan's hours per actor type are those its capacity table says it used, within capacity
    cap = snap["gold.patrol_capacity_used"]["frame"]
    assert sorted({str(p)[:10] for p in cap["period_start"]}) == [SCORED_PERIOD]
    used = cap.groupby("actor_type")["used_hours"].sum().round(6)
    planned = plan.groupby("actor_type")["hours"].sum().round(6).reindex(used.index, fill_value=0.0)
    assert planned.to_dict() == used.to_dict() and used.sum() > 0
    assert (cap["used_hours"] <= cap["capacity_hours"] + 1e-9).all()
    assert set(plan["village_id"]) <= set(risk["village_id"])
    assert (deployment["reports"] / PIPELINE_RUN_ID / "index.html").is_file()


def test_running_the_same_interval_again_changes_nothing(deployment):
    full, again = deployment["full"], deployment["again"]
    assert sorted(full) == sorted(again)
    for name in GOLD:
        assert again[name]["rows"] == full[name]["rows"], name
    # Ingest is exactly-once per file, and the later stages find their outputs made from the
    # same inputs (jobs/reuse.py): the rerun writes no version of any table.
    assert {n: s["version"] for n, s in again.items()} == {n: s["version"] for n, s in full.items()}
    rerun = deployment["logs"][1]
    for stage in ("features", "train", "score", "allocate", "report"):
        assert f"{stage}: nothing to do" in rerun, stage


if __name__ == "__main__":  # a manual run: python tests/airflow/test_dags_e2e.py
    sys.exit(pytest.main([__file__, "-v"]))
