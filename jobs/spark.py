"""The one SparkSession factory used by every job and by the tests."""

from __future__ import annotations

import logging
import os
import sys
import time

from pyspark.sql import SparkSession

from conf import CONF_DIR, Settings, default_warehouse_dir
from jobs.class_archive import java_option
from jobs.jars import ensure_jars

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every Spark setting of the profile plus Delta, time zone, jars and quiet logging."""
    conf: dict[str, str] = {str(k): str(v) for k, v in (settings.get("spark.conf") or {}).items()}
    conf.update(DELTA_CONF)
    conf["spark.sql.session.timeZone"] = settings.timezone
    # Executors' Python workers read naive datetimes in their own zone: the driver's (local
    # mode has it by inheritance, a cluster's executors only from here) unless the profile
    # sets another one.
    conf.setdefault("spark.executorEnv.TZ", settings.timezone)
    conf.setdefault("spark.sql.catalogImplementation", "in-memory")
    conf.setdefault("spark.sql.warehouse.dir", default_warehouse_dir())
    jars = ensure_jars(settings)
    conf["spark.jars"] = ",".join(str(j) for j in jars)
    log4j = f"-Dlog4j2.configurationFile=file:{CONF_DIR / 'log4j2.properties'}"
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        conf[key] = f"{conf[key]} {log4j}".strip() if key in conf else log4j
    # The driver maps the class archive `make setup` built, when there is one (jobs/class_archive.py).
    archive = java_option(settings, jars)
    if archive and "-XX:ArchiveClassesAtExit" not in conf["spark.driver.extraJavaOptions"]:
        conf["spark.driver.extraJavaOptions"] += f" {archive}"
    return conf


def quiet_spark_python_loggers() -> None:
    """PySpark logs every failed query as a JSON record with the JVM stack trace; the CLI
    reports the error itself in one line, so that logger is silenced."""
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL + 1)


def use_local_zone(zone: str) -> None:
    """The driver's Python clock zone follows the session zone, so naive datetimes going in
    and out of Spark (createDataFrame, collect, toPandas) and log times mean the same wall time."""
    os.environ["TZ"] = zone
    time.tzset()


def build_spark(settings: Settings, app_name: str | None = None) -> SparkSession:
    """A SparkSession for the profile: local[*] by default, a cluster master by profile."""
    # Python workers must run the interpreter (and packages) of this environment.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    use_local_zone(settings.timezone)
    master = str(settings["spark.master"])
    if master.startswith("local"):
        # Local mode talks to itself only: bind to loopback (and skip the hostname warning).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    quiet_spark_python_loggers()
    builder = SparkSession.builder.appName(
        app_name or str(settings.get("spark.app_name", "rural-risk"))
    )
    # Under spark-submit (Airflow's SparkSubmitOperator) the JVM already runs with the
    # --master it was given (and the Delta jars as --jars): that master wins over the profile's.
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = builder.master(master)
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(str(settings.get("spark.log_level", "WARN")))
    return spark
