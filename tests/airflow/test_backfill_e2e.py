"""A backfill through a running Airflow: `airflow backfill create` of the pipeline over two
monthly intervals, run by a scheduler (LocalExecutor) and the API server its task processes
report to, both started here and stopped at the end, on a tiny generated county.

`airflow backfill create` only writes the backfill and its dag runs (queued) into the
metadata database; the scheduler runs them, one at a time (`--max-active-runs 1`), and only
while the DAG is unpaused. The test's schedule makes the pipeline monthly, so each backfill
run scores a different month. A second `backfill create` of the same range with the default
reprocess behaviour (`none`) creates no dag run ("already exists") and writes nothing.
"""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from af_harness import (
    Services,
    airflow_python,
    county_deployment,
    free_port,
    metadata,
    port_open,
    run_airflow,
    scheduler_env,
    table_versions,
)

# 14 spark-submits (7 per interval) under a real scheduler; in the Airflow end-to-end group
# of `make test`, on the worker of test_dags_e2e.py (two Airflow runs never share two cores).
pytestmark = [pytest.mark.slow, pytest.mark.airflow_e2e, pytest.mark.xdist_group("airflow-e2e")]

DAG_ID = "rural_risk_pipeline"
MONTHLY = "0 0 1 * *"  # the 1st, local midnight (Asia/Shanghai)
# Plain dates would be read as UTC midnights, 08:00 local: the local midnight of the 1st
# would fall before --from-date. With the zone's offset both 1sts are in the range.
RANGE = ("--dag-id", DAG_ID, "--from-date", "2022-11-01T00:00:00+08:00",
         "--to-date", "2022-12-01T00:00:00+08:00")
# logical date (UTC) -> (data interval end, UTC; project run id; period scored and planned)
RUNS = {
    "2022-10-31T16:00:00": ("2022-11-30T16:00:00", "rural_risk_pipeline-20221201T000000", "2022-12-01"),
    "2022-11-30T16:00:00": ("2022-12-31T16:00:00", "rural_risk_pipeline-20230101T000000", "2023-01-01"),
}
VILLAGES = 12
WAIT_SECONDS = 1800


def _airflow(env: dict[str, str], *args: str, log: Path) -> str:
    return run_airflow(env, *args, log=log, timeout=600)


def _utc(value: str | None) -> str | None:
    """A metadata timestamp as naive UTC ISO text (SQLite keeps them as text)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _dag_runs(home: Path) -> list[dict[str, Any]]:
    rows = metadata(home, "SELECT run_id, run_type, state, logical_date, data_interval_end, "
                          "backfill_id, end_date FROM dag_run WHERE dag_id = ? ORDER BY logical_date",
                    DAG_ID)
    keys = ("run_id", "run_type", "state", "logical_date", "data_interval_end", "backfill_id", "end_date")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _progress(home: Path) -> str:
    """Where the runs stand, for a failure message: each task's state and its log."""
    lines = [f"{r['run_id']}: {r['state']}" for r in _dag_runs(home)]
    for run_id, task_id, state in metadata(
            home, "SELECT run_id, task_id, state FROM task_instance WHERE dag_id = ? "
                  "ORDER BY run_id, start_date", DAG_ID):
        log = home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
        lines.append(f"  {run_id} {task_id}: {state} (log {log})")
    failed = sorted((home / "logs").glob(f"dag_id={DAG_ID}/run_id=*/task_id=*/attempt=*.log"))
    for log in failed:
        text = log.read_text(errors="replace")
        if "ERROR" in text:
            lines.append(f"--- {log} (end):\n{text[-2500:]}")
            break
    return "\n".join(lines)


def _wait_for_runs(home: Path, services: Services, count: int) -> list[dict[str, Any]]:
    """Wait until `count` dag runs exist and all have finished (or one has failed)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        services.check_alive()
        runs = _dag_runs(home)
        states = [r["state"] for r in runs]
        if "failed" in states or (len(runs) == count and set(states) <= {"success"}):
            return runs
        assert time.monotonic() < deadline, (
            f"the backfill's dag runs did not finish within {WAIT_SECONDS} s; scheduler log "
            f"{services.log('scheduler')}, task logs under {home / 'logs'}:\n{_progress(home)}")
        time.sleep(5)


def _wait_backfill_complete(home: Path, backfill_id: int, services: Services) -> None:
    """The scheduler marks a backfill complete (every 30 s) once none of its runs is queued or
    running; until then a new backfill of the DAG is refused."""
    deadline = time.monotonic() + 120
    while not metadata(home, "SELECT 1 FROM backfill WHERE id = ? AND completed_at IS NOT NULL",
                       backfill_id):
        services.check_alive()
        assert time.monotonic() < deadline, (
            f"backfill {backfill_id} was not marked complete within 120 s "
            f"(log {services.log('scheduler')})")
        time.sleep(2)


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    airflow_python()  # skips when .venv-airflow was never built
    work = tmp_path_factory.mktemp("airflow-backfill")
    port, home = free_port(), work / "airflow"
    env, landing, lakehouse, reports = county_deployment(
        work, VILLAGES, {"pipeline": MONTHLY}, **scheduler_env(home, port))
    _airflow(env, "db", "migrate", log=work / "migrate.log")
    # The scheduler reads serialized DAGs only: write them once (a deployment's dag-processor
    # does this continuously), and unpause, since the scheduler leaves a paused DAG's runs queued.
    _airflow(env, "dags", "reserialize", log=work / "reserialize.log")
    _airflow(env, "dags", "unpause", DAG_ID, log=work / "unpause.log")
    services = Services(home, port)
    out: dict[str, Any] = {"work": work, "home": home, "lakehouse": lakehouse, "reports": reports}
    started = time.monotonic()
    try:
        services.start(env)
        out["dry_run"] = _airflow(env, "backfill", "create", *RANGE, "--dry-run", log=work / "dry-run.log")
        _airflow(env, "backfill", "create", *RANGE, "--max-active-runs", "1", log=work / "backfill-1.log")
        out["runs"] = _wait_for_runs(home, services, len(RUNS))
        assert [r["state"] for r in out["runs"]] == ["success"] * len(RUNS), _progress(home)
        _wait_backfill_complete(home, 1, services)
        out["versions"] = table_versions(lakehouse)
        out["again"] = _airflow(env, "backfill", "create", *RANGE, log=work / "backfill-2.log")
        _wait_backfill_complete(home, 2, services)
        out["versions_again"] = table_versions(lakehouse)
        out["runs_again"] = _dag_runs(home)
        out["backfills"] = metadata(home, "SELECT b.id, b.reprocess_behavior, r.dag_run_id, "
                                          "r.logical_date, r.exception_reason FROM backfill b "
                                          "JOIN backfill_dag_run r ON r.backfill_id = b.id "
                                          "ORDER BY b.id, r.sort_ordinal")
    finally:
        services.stop()
        out["seconds"] = time.monotonic() - started
    out["left_running"], out["leftovers"] = services.running(), services.leftovers
    out["stopped"] = len(services.tree)
    out["port_open"] = port_open(port)
    print(f"backfill of {len(RUNS)} intervals: {out['seconds']:.0f} s with the services up")
    return out


def test_backfill_creates_the_two_monthly_runs_and_the_scheduler_runs_them(backfill):
    # the dry run lists the two local midnights of the 1st (in the offsets it was given)
    listed = re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d) ", backfill["dry_run"], re.M)
    assert [_utc(moment) for moment in listed] == list(RUNS)
    runs = backfill["runs"]
    assert [_utc(r["logical_date"]) for r in runs] == list(RUNS)
    assert [_utc(r["data_interval_end"]) for r in runs] == [end for end, _, _ in RUNS.values()]
    # Airflow names a backfill run after its run_after, the interval end
    assert [r["run_id"] for r in runs] == [f"backfill__{end}+00:00" for end, _, _ in RUNS.values()]
    assert {(r["run_type"], r["state"], r["backfill_id"]) for r in runs} == {("backfill", "success", 1)}


def test_each_interval_scored_and_planned_its_own_month(backfill):
    from deltalake import DeltaTable

    expected = sorted((period, run_id) for _, run_id, period in RUNS.values())
    for name in ("gold/village_risk", "gold/patrol_plan"):
        pdf = DeltaTable(str(backfill["lakehouse"] / name)).to_pandas()
        pairs = pdf.assign(period=pdf["period_start"].astype(str).str[:10])[["period", "run_id"]]
        assert sorted(set(pairs.itertuples(index=False, name=None))) == expected, name
    risk = DeltaTable(str(backfill["lakehouse"] / "gold" / "village_risk")).to_pandas()
    assert risk.groupby("run_id")["village_id"].nunique().to_dict() == {r: VILLAGES for _, r in expected}
    for _, run_id in expected:
        assert (backfill["reports"] / run_id / "index.html").is_file(), run_id
    assert os.readlink(backfill["reports"] / "latest") == expected[-1][1]  # the later interval


def test_the_first_interval_trained_the_champion_and_the_second_reused_it(backfill):
    from deltalake import DeltaTable

    (_, first, _), (second_end, _, _) = RUNS.values()
    registry = DeltaTable(str(backfill["lakehouse"] / "ops" / "model_registry")).to_pandas()
    assert set(registry.loc[registry["role"] == "champion", "run_id"]) == {first}
    # the landing was loaded once, by the first interval; the second found every file loaded
    log = DeltaTable(str(backfill["lakehouse"] / "ops" / "ingest_log")).to_pandas()
    assert set(log.loc[log["status"] == "loaded", "run_id"]) == {first}
    task_logs = sorted((backfill["home"] / "logs").glob(
        f"dag_id={DAG_ID}/run_id=backfill__{second_end}+00:00/task_id=first_champion/attempt=*.log"))
    assert len(task_logs) == 1, task_logs
    assert "train: nothing to do: ops.model_registry has a champion" in task_logs[0].read_text()


def test_a_second_backfill_of_the_range_creates_no_run_and_writes_nothing(backfill):
    # default reprocess behaviour `none`: a date with a finished run is skipped, whatever its state
    assert [(b, behaviour, run, _utc(logical), reason) for b, behaviour, run, logical, reason
            in backfill["backfills"] if b == 2] == [
        (2, "none", None, logical, "already exists") for logical in RUNS]
    assert backfill["runs_again"] == backfill["runs"]
    assert backfill["versions_again"] == backfill["versions"]
    assert "gold.village_risk" in backfill["versions"]


def test_nothing_is_left_running(backfill):
    assert backfill["stopped"] >= 2  # the services and what ran below them
    assert backfill["leftovers"] == [], "processes outlived the scheduler's and API server's stop"
    assert backfill["left_running"] == []
    assert not backfill["port_open"]


if __name__ == "__main__":  # a manual run: python tests/airflow/test_backfill_e2e.py
    sys.exit(pytest.main([__file__, "-v", "-s"]))
