"""The one Spark session factory: settings it always applies."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from conf import default_warehouse_dir
from jobs.spark import spark_conf


def test_the_warehouse_is_one_folder_per_user_outside_the_working_directory(settings) -> None:
    conf = spark_conf(settings)
    assert conf["spark.sql.warehouse.dir"] == default_warehouse_dir()
    assert default_warehouse_dir() == os.path.join(
        tempfile.gettempdir(), f"rural-risk-spark-warehouse-{os.getuid()}")
    # A profile may still put it elsewhere.
    moved = replace(settings, data={**settings.data, "spark": {
        **settings.data["spark"], "conf": {**(settings.get("spark.conf") or {}),
                                           "spark.sql.warehouse.dir": "/srv/wh"}}})
    assert spark_conf(moved)["spark.sql.warehouse.dir"] == "/srv/wh"


def test_a_running_session_uses_it_and_leaves_no_spark_warehouse_here(spark) -> None:
    used = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    assert used == Path(default_warehouse_dir())
    assert not used.is_relative_to(Path.cwd())
