"""The gate between ingest and features: this run's manifest counts, silver row counts, the
incidents a backfill leaves out, and the failure when a required table is missing. On a local
lakehouse it runs without Spark; the Spark path (other roots) gives the same answers."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

import pytest

from jobs.context import RunContext

RUN = "run-7"


def _log_row(source: str, file: str, status: str, accepted: int, quarantined: int, run_id: str = RUN) -> dict:
    return {"source": source, "file": file, "file_hash": f"h-{file}", "size_bytes": 10, "run_id": run_id,
            "ingested_at": datetime(2023, 1, 2, tzinfo=UTC), "status": status,
            "rows_read": accepted + quarantined, "rows_accepted": accepted,
            "rows_quarantined": quarantined, "rows_duplicate": 0, "message": None}


@pytest.fixture()
def landed(ctx):
    from features.landing import tables

    spark, lh = ctx.spark, ctx.lakehouse
    rows = [
        _log_row("villages", "villages/v.csv", "loaded", 12, 1),
        _log_row("incidents", "incidents/01.csv", "loaded", 40, 2),
        _log_row("incidents", "incidents/02.csv", "loaded", 30, 0),
        _log_row("incidents", "incidents/03.csv", "rejected", 0, 0),
        _log_row("incidents", "incidents/00.csv", "loaded", 99, 9, run_id="an-earlier-run"),
    ]
    lh.create(spark, "ops.ingest_log", tables.INGEST_LOG)
    spark.createDataFrame(rows, tables.INGEST_LOG).write.format("delta").mode("append").save(
        lh.path("ops.ingest_log"))
    spark.createDataFrame([(f"V{i}",) for i in range(12)], "village_id string").write.format(
        "delta").save(lh.path("silver.villages"))
    # Local midnight of 2023-01-02 in Asia/Shanghai is 2023-01-01 16:00 UTC.
    reported = [datetime(2022, 12, 31, 10, tzinfo=UTC), datetime(2023, 1, 1, 15, 59, 59, tzinfo=UTC),
                datetime(2023, 1, 1, 16, 0, 0, tzinfo=UTC), datetime(2023, 1, 3, 1, tzinfo=UTC)]
    spark.createDataFrame([(f"I{i}", t) for i, t in enumerate(reported)],
                          "incident_id string, reported_at timestamp").write.format("delta").save(
        lh.path("silver.incidents"))
    return ctx


def _statuses(ctx) -> dict:
    from jobs.validate import source_status

    return {s.source: s for s in source_status(ctx, ["villages", "incidents", "patrols"])}


def test_local_lakehouse_is_checked_without_spark(landed):
    from jobs.validate import incidents_after

    ctx = RunContext(settings=landed.settings, lakehouse=landed.lakehouse, run_id=RUN)
    by = _statuses(ctx)
    assert (by["villages"].silver_rows, by["villages"].loaded, by["villages"].rows_quarantined) == (12, 1, 1)
    inc = by["incidents"]
    assert (inc.silver_rows, inc.loaded, inc.rejected, inc.rows_accepted, inc.rows_quarantined) == (4, 2, 1, 70, 2)
    assert by["patrols"].silver_rows is None and by["patrols"].loaded == 0
    assert incidents_after(ctx, date(2023, 1, 2)) == 2  # the one at local midnight counts
    assert ctx._spark is None


def test_spark_path_gives_the_same_answers(landed, monkeypatch):
    import jobs.validate as V
    from store.lakehouse import Lakehouse

    local = _statuses(RunContext(settings=landed.settings, lakehouse=landed.lakehouse, run_id=RUN))
    # as for an hdfs:// root: no delta-rs handle, so every read goes through Spark
    monkeypatch.setattr(Lakehouse, "local_delta", lambda self, name, without_files=False: None)
    landed.run_id = RUN
    assert _statuses(landed) == local
    assert V.incidents_after(landed, date(2023, 1, 2)) == 2


def test_missing_required_table_fails_naming_it(landed, capsys):
    from jobs.validate import ValidationError, run

    ctx = RunContext(settings=landed.settings, lakehouse=landed.lakehouse, run_id=RUN)
    with pytest.raises(ValidationError, match=r"silver\.patrols does not exist"):
        run(ctx, argparse.Namespace(as_of=date(2023, 1, 2), require=["villages", "patrols"]))
    out = capsys.readouterr().out
    assert "2 incidents are reported on or after 2023-01-02" in out
    assert run(ctx, argparse.Namespace(as_of=None, require=None)) == 0
