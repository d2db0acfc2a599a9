"""Shared wiring of the rural-risk DAGs: settings from conf/schedule.yaml and one factory
for the tasks that run a `rural-risk` stage through spark-submit.

Light on purpose: the DAG processor imports this on every parse, so it reads one YAML file
and imports Airflow only; Spark, pandas and scikit-learn stay in the jobs themselves.
Listed in .airflowignore: it holds no DAG.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import yaml
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

DAGS_DIR = Path(__file__).resolve().parent

# Delta's session extension and catalog are static settings: under spark-submit they must be
# on its command line, since the JVM may hold a session before the job's factory runs.
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


class ScheduleConfigError(ValueError):
    """conf/schedule.yaml is missing or holds a value of the wrong kind."""


def project_dir() -> Path:
    """The project checkout the tasks run in (RURAL_RISK_HOME, else the parent of this folder)."""
    home = os.environ.get("RURAL_RISK_HOME")
    return Path(home).resolve() if home else DAGS_DIR.parent


def _under(root: Path, value: str) -> str:
    """A path from the settings: URIs as they are, relative paths under the project checkout."""
    if "://" in value:
        return value
    path = Path(value)
    return str(path if path.is_absolute() else root / path)


@dataclass(frozen=True)
class Schedule:
    """conf/schedule.yaml with its environment overrides and paths resolved."""

    root: Path
    data: dict[str, Any]

    @classmethod
    def load(cls) -> Schedule:
        root = project_dir()
        path = Path(os.environ.get("RURAL_RISK_SCHEDULE") or root / "conf" / "schedule.yaml")
        if not path.exists():
            raise ScheduleConfigError(
                f"schedule settings {path} do not exist: set RURAL_RISK_HOME to the rural-risk "
                "checkout on this Airflow worker (or RURAL_RISK_SCHEDULE to the file)"
            )
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not isinstance(data.get("spark"), dict):
            raise ScheduleConfigError(f"{path} must hold a mapping with a `spark` block")
        return cls(root=root, data=data)

    def dag(self, name: str) -> dict[str, Any]:
        block = self.data.get(name)
        if not isinstance(block, dict) or "dag_id" not in block or "schedule" not in block:
            raise ScheduleConfigError(f"conf/schedule.yaml needs a `{name}` block with dag_id and schedule")
        return block

    @property
    def timezone(self) -> str:
        return str(self.data.get("timezone", "Asia/Shanghai"))

    @property
    def profile(self) -> str:
        return os.environ.get("RURAL_RISK_PROFILE") or str(self.data.get("profile", "local"))

    @property
    def lakehouse(self) -> str:
        value = os.environ.get("RURAL_RISK_LAKEHOUSE") or str(self.data.get("lakehouse", "lakehouse"))
        return _under(self.root, value)

    @property
    def landing(self) -> str:
        value = os.environ.get("RURAL_RISK_LANDING") or str(self.data.get("landing", "data/landing"))
        return _under(self.root, value)

    @property
    def reports(self) -> str:
        value = os.environ.get("RURAL_RISK_REPORTS") or str(self.data.get("reports", "reports"))
        return _under(self.root, value)

    def spark(self, key: str, default: Any = None) -> Any:
        return self.data["spark"].get(key, default)

    def spark_path(self, key: str, default: str) -> str:
        return _under(self.root, str(self.spark(key, default)))

    def define_connection(self) -> None:
        """Define the Spark connection from `spark.master` unless the environment has one.

        Only an environment variable is set, and only for this process and the tasks it
        starts; a connection kept in the metastore needs `spark.master: null`.
        """
        master = self.spark("master")
        conn_id = str(self.spark("conn_id", "spark_default"))
        var = f"AIRFLOW_CONN_{conn_id.upper()}"
        if master and var not in os.environ:
            os.environ[var] = json.dumps({"conn_type": "spark", "host": str(master)})

    def default_args(self, block: dict[str, Any]) -> dict[str, Any]:
        return {
            "owner": "rural-risk",
            "retries": int(block.get("retries", 2)),
            "retry_delay": timedelta(minutes=float(block.get("retry_delay_minutes", 5))),
            "execution_timeout": timedelta(minutes=float(block.get("execution_timeout_minutes", 120))),
        }

    def dag_arguments(self, block: dict[str, Any]) -> dict[str, Any]:
        """The @dag arguments both DAGs take from their block of conf/schedule.yaml."""
        from airflow.sdk import CronDataIntervalTimetable

        args: dict[str, Any] = {
            "dag_id": str(block["dag_id"]),
            "schedule": CronDataIntervalTimetable(str(block["schedule"]), timezone=self.timezone),
            "start_date": self.start_date(block),
            "catchup": bool(block.get("catchup", False)),
            "max_active_runs": int(block.get("max_active_runs", 1)),
            "default_args": self.default_args(block),
            "user_defined_macros": template_macros(self),
            "tags": list(block.get("tags", ["rural-risk"])),
        }
        if "max_active_tasks" in block:
            args["max_active_tasks"] = int(block["max_active_tasks"])
        return args

    def start_date(self, block: dict[str, Any]) -> pendulum.DateTime:
        return pendulum.parse(str(block.get("start_date", "2026-01-01")), tz=self.timezone)


def delta_jars(jar_cache: str) -> str:
    """Comma-separated Delta jars of the project's jar cache (rendered when a task starts)."""
    manifest = Path(jar_cache) / "jars.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"no Delta jar cache at {jar_cache}: run `make setup` (or `.venv/bin/python -m "
            "jobs.jars`) in the rural-risk checkout on this worker"
        )
    names = json.loads(manifest.read_text(encoding="utf-8")).get("jars", [])
    jars = [Path(jar_cache) / name for name in names]
    missing = [str(j) for j in jars if not j.exists()]
    if not jars or missing:
        raise FileNotFoundError(f"the Delta jar cache {jar_cache} is incomplete: {missing or 'empty'}")
    return ",".join(str(j) for j in jars)


def class_archive_option(archive: str) -> str:
    """-XX:SharedArchiveFile=... when the driver's class archive (`make setup`,
    jobs/class_archive.py) exists on this worker; "" otherwise (Spark starts as without it)."""
    return f"-XX:SharedArchiveFile={Path(archive).resolve()}" if Path(archive).is_file() else ""


def driver_java_options(cfg: Schedule) -> str:
    """The driver's JVM options: `spark.driver.extraJavaOptions` of `spark.conf`, then the
    class archive option when the archive exists on this worker."""
    java = str((cfg.spark("conf") or {}).get("spark.driver.extraJavaOptions", ""))
    archive = cfg.spark("class_archive", ".cache/jvm/current.jsa")
    extra = class_archive_option(_under(cfg.root, str(archive))) if archive else ""
    return " ".join(part for part in (java.strip(), extra) if part)


def template_macros(cfg: Schedule) -> dict[str, Any]:
    """Jinja macros of the DAGs: the jar list and the class archive are looked up on the
    worker, when a task renders."""
    jar_cache = cfg.spark_path("jar_cache", ".cache/jars")
    return {"rural_risk_delta_jars": lambda: delta_jars(jar_cache),
            "rural_risk_driver_java_options": lambda: driver_java_options(cfg)}


def as_of_template(cfg: Schedule) -> str:
    """The run's as-of date: the local date its data interval ends on."""
    return f"{{{{ data_interval_end.in_timezone('{cfg.timezone}') | ds }}}}"


def run_id_template(cfg: Schedule) -> str:
    """The project run id of a DAG run, from its DAG and data interval end.

    A scheduled run, its retries, a cleared task, a manual rerun and a backfill of the
    same interval all carry the same id, so rows written again are the same rows.
    """
    return f"{{{{ dag.dag_id }}}}-{{{{ data_interval_end.in_timezone('{cfg.timezone}') | ts_nodash }}}}"


def stage_task(
    cfg: Schedule, task_id: str, command: list[str], **kwargs: Any
) -> SparkSubmitOperator:
    """A task running `rural-risk <global options> <command...>` with the project's spark-submit."""
    python = cfg.spark_path("python", ".venv/bin/python")
    env = {
        "PYSPARK_PYTHON": python,
        "PYSPARK_DRIVER_PYTHON": python,
        **{str(k): str(v) for k, v in (cfg.spark("env") or {}).items()},
    }
    conf = {**DELTA_CONF, **{str(k): str(v) for k, v in (cfg.spark("conf") or {}).items()}}
    conf["spark.driver.extraJavaOptions"] = "{{ rural_risk_driver_java_options() }}"
    args = [
        "--lakehouse", cfg.lakehouse,
        "--profile", cfg.profile,
        "--run-id", run_id_template(cfg),
        *command,
    ]
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id=str(cfg.spark("conn_id", "spark_default")),
        spark_binary=cfg.spark_path("spark_submit", ".venv/bin/spark-submit"),
        application=cfg.spark_path("application", "jobs/cli.py"),
        application_args=args,
        jars="{{ rural_risk_delta_jars() }}",
        driver_memory=cfg.spark("driver_memory"),
        conf=conf,
        env_vars=env,
        name=f"rural-risk-{task_id}",
        **kwargs,
    )
