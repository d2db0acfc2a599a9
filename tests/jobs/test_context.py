from __future__ import annotations

import logging
import re
import time
from dataclasses import replace

from jobs.context import RunContext


def _sleeper(seconds: float):
    """A mapInPandas function defined inside a function, so it is shipped by value to workers."""

    def slow(batches):
        import time

        for batch in batches:
            time.sleep(seconds)
            yield batch

    return slow


def test_a_long_stage_logs_spark_task_progress(spark, settings, lakehouse, caplog):
    quick = replace(settings, data={**settings.data, "progress_seconds": 0.3})
    ctx = RunContext(settings=quick, lakehouse=lakehouse, run_id="test-run").attach(spark)
    caplog.set_level(logging.INFO, logger="rural-risk")
    with ctx.stage("slow work") as st:
        rows = spark.range(0, 4, numPartitions=2).mapInPandas(_sleeper(1.5), schema="id LONG").count()
        st.done(rows=rows)
    lines = [r.getMessage() for r in caplog.records]
    progress = [ln for ln in lines if re.fullmatch(r"slow work: \d+/2 Spark tasks done, \d+ running \(\d+s so far\)", ln)]
    assert progress, lines
    assert lines[-1].startswith("slow work: done in") and "4 rows" in lines[-1]
    # The watcher stops with its stage: nothing is logged for it afterwards.
    time.sleep(0.8)
    assert [r.getMessage() for r in caplog.records] == lines


def test_progress_can_be_turned_off(spark, settings, lakehouse, caplog):
    off = replace(settings, data={**settings.data, "progress_seconds": 0})
    ctx = RunContext(settings=off, lakehouse=lakehouse, run_id="test-run").attach(spark)
    caplog.set_level(logging.INFO, logger="rural-risk")
    with ctx.stage("quiet work"):
        spark.range(0, 2, numPartitions=1).mapInPandas(_sleeper(1.5), schema="id LONG").count()
    assert [r.getMessage().split(":")[1].split()[0] for r in caplog.records] == ["started", "done"]
