"""`maintain`: compaction and vacuum keep the rows, delete what no version needs, log it, and
rewrite ops.data_dictionary from the catalog."""

from __future__ import annotations

from datetime import date

import pytest


def _small_files(ctx, n: int = 4):
    from store.schemas import PATROL_PLAN_SCHEMA

    spark, lh, schema = ctx.spark, ctx.lakehouse, PATROL_PLAN_SCHEMA
    lh.create(spark, "gold.patrol_plan", schema)
    for i in range(n):  # one append, one file each
        spark.createDataFrame([(f"V{i}", date(2024, 5, 1), "police", 1.0 + i, 4, "x", "r")], schema) \
            .coalesce(1).write.format("delta").mode("append").save(lh.path("gold.patrol_plan"))
    return lh.path("gold.patrol_plan")


def test_maintain_compacts_vacuums_logs_and_keeps_the_rows(ctx):
    from deltalake import DeltaTable

    from jobs.maintain import DICTIONARY, LOG, maintain
    from store.catalog import TABLES, schema, sections_of

    path = _small_files(ctx)
    before = sorted(DeltaTable(path).to_pandas()["hours"])
    rows = maintain(ctx, retention_hours=0, allow_short=True)
    by_action = {r["action"]: r for r in rows}
    assert set(by_action) == {"optimize", "vacuum"}  # one table in this lakehouse
    opt, vac = by_action["optimize"], by_action["vacuum"]
    assert (opt["files_before"], opt["files_after"], opt["files_removed"]) == (4, 1, 4)
    assert opt["version_after"] == opt["version_before"] + 1
    # retention 0: the four compacted files are deleted from storage; the one left is read
    assert (vac["files_before"], vac["files_after"], vac["files_removed"]) == (1, 1, 4)
    assert sorted(DeltaTable(path).to_pandas()["hours"]) == before == [1.0, 2.0, 3.0, 4.0]
    assert len(list(__import__("pathlib").Path(path).glob("*.parquet"))) == 1
    assert ctx.spark.conf.get("spark.databricks.delta.retentionDurationCheck.enabled") == "true"

    log = DeltaTable(ctx.lakehouse.local_path(LOG)).to_pandas()
    assert sorted(log["action"]) == ["optimize", "vacuum"] and set(log["table_name"]) == {"gold.patrol_plan"}
    dictionary = DeltaTable(ctx.lakehouse.local_path(DICTIONARY)).to_pandas()
    sections = sections_of(ctx.settings)
    assert len(dictionary) == sum(len(schema(n, sections).fields) for n in TABLES)
    rank = dictionary[(dictionary["table_name"] == "gold.village_risk") & (dictionary["column_name"] == "rank")]
    assert rank["comment"].tolist() == ["1 = highest risk in the period (by probability, then score, then village_id)."]
    assert rank["position"].tolist() == [9] and rank["data_type"].tolist() == ["int"]


def test_a_short_retention_needs_the_flag(ctx):
    from jobs.maintain import RetentionError, retention

    with pytest.raises(RetentionError, match=r"VACUUM retention 24 h is below Delta's safe minimum of 168 h"):
        retention(ctx, 24, allow_short=False)
    assert retention(ctx, 24, allow_short=True) == 24.0
    assert retention(ctx, None, allow_short=False) == 168.0  # maintenance.vacuum_retention_hours
    with pytest.raises(RetentionError, match="expected 0 or more hours, got -1"):
        retention(ctx, -1, allow_short=True)
