"""Run by the Airflow environment's Python (.venv-airflow), not by pytest: prints JSON.

    python dag_probe.py graph DAGS_DIR INTERVAL_END   the DagBag: import errors, schedules,
                                                      tasks, edges, and each task's arguments
                                                      rendered for one data interval end (ISO)
    python dag_probe.py imports DAG_FILE              heavy modules loaded by importing a file
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HEAVY = ("pyspark", "pandas", "sklearn", "numpy", "delta", "jobs", "features", "models")


def _task(task: Any) -> dict[str, Any]:
    return {
        "operator": type(task).__name__,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": str(task.trigger_rule),
        "retries": task.retries,
        "retry_delay_s": task.retry_delay.total_seconds(),
        "conn_id": getattr(task, "_conn_id", None),
        "spark_binary": getattr(task, "_spark_binary", None),
        "application": getattr(task, "application", None),
        "env_vars": getattr(task, "env_vars", None),
    }


def _render(dag: Any, task: Any, interval_end: Any) -> dict[str, Any] | None:
    if not hasattr(task, "application_args"):
        return None
    context = {
        "dag": dag,
        "task": task,
        "data_interval_end": interval_end,
    }
    env = dag.get_template_env()
    return {
        "args": task.render_template(task.application_args, context, env),
        "jars": task.render_template(task.jars, context, env),
        "conf": task.render_template(task.conf, context, env),
    }


def graph(dags_dir: str, interval_end: str) -> dict[str, Any]:
    import pendulum

    sys.path.insert(0, dags_dir)  # as Airflow does for its DAG bundle
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dags_dir)
    end = pendulum.parse(interval_end)
    out: dict[str, Any] = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
                           "dags": {}}
    for dag_id, dag in bag.dags.items():
        tt = dag.timetable
        # The scheduler's own timetable class for the same cron and zone: the interval a
        # manual run (`airflow dags test DAG DATE`) at `end` gets.
        from airflow.timetables.interval import CronDataIntervalTimetable

        core = CronDataIntervalTimetable(tt.expression, tt.timezone)
        interval = core.infer_manual_data_interval(run_after=end)
        out["dags"][dag_id] = {
            "fileloc": Path(dag.fileloc).name,
            "timetable": type(tt).__name__,
            "cron": getattr(tt, "expression", None),
            "timezone": str(getattr(tt, "timezone", "")),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "interval": [interval.start.isoformat(), interval.end.isoformat()],
            "tasks": {t.task_id: _task(t) for t in dag.tasks},
            "rendered": {t.task_id: _render(dag, t, interval.end) for t in dag.tasks},
        }
    return out


def imports(dag_file: str) -> dict[str, Any]:
    path = Path(dag_file).resolve()
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
    return {"file": path.name, "heavy": loaded}


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    result = graph(*rest) if mode == "graph" else imports(*rest)
    print("PROBE-JSON " + json.dumps(result, default=str))
