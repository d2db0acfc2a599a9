from __future__ import annotations

import pytest
from pyspark.sql import types as T

from store.lakehouse import Lakehouse, UnknownTableError, split_name

SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False, {"comment": "village code"}),
        T.StructField("hours", T.DoubleType(), True),
    ]
)


def test_names_must_be_layer_dot_table():
    assert split_name("gold.patrol_plan") == ("gold", "patrol_plan")
    for bad in ("patrol_plan", "platinum.x", "gold.bad-name", "a.b.c"):
        with pytest.raises(UnknownTableError):
            split_name(bad)


def test_create_makes_one_commit_with_comments_constraints_and_no_deletion_vectors(spark, tmp_path):
    lh = Lakehouse(str(tmp_path / "lh"))
    lh.create(spark, "gold.t_create", SCHEMA, comment="a test table",
              constraints={"hours_ok": "hours >= 0", "id_ok": "village_id <> ''"})
    path = lh.path("gold.t_create")
    assert path == f"{tmp_path}/lh/gold/t_create"
    assert lh.exists(spark, "gold.t_create")
    assert lh.version(spark, "gold.t_create") == 0  # columns, comment and constraints: one commit
    comments = {r["col_name"]: r["comment"] for r in spark.sql(f"DESCRIBE TABLE delta.`{path}`").collect()}
    assert comments["village_id"] == "village code"
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
    assert detail["description"] == "a test table"
    assert detail["properties"] == {"delta.constraints.hours_ok": "hours >= 0",
                                    "delta.constraints.id_ok": "village_id <> ''",
                                    "delta.enableDeletionVectors": "false"}
    assert not spark.catalog.tableExists("gold.t_create")  # by path; `register` names it
    spark.createDataFrame([("v1", 2.0)], SCHEMA).write.format("delta").mode("append").save(
        lh.path("gold.t_create")
    )
    with pytest.raises(Exception, match="hours_ok"):
        spark.createDataFrame([("v2", -1.0)], SCHEMA).write.format("delta").mode("append").save(
            lh.path("gold.t_create")
        )
    # creating again changes nothing (no new Delta version)
    before = lh.version(spark, "gold.t_create")
    lh.create(spark, "gold.t_create", SCHEMA, constraints={"hours_ok": "hours >= 0", "id_ok": "village_id <> ''"})
    assert lh.version(spark, "gold.t_create") == before


def test_create_adds_a_constraint_an_older_table_lacks(spark, tmp_path):
    lh = Lakehouse(str(tmp_path / "lh_old"))
    spark.createDataFrame([("v1", 1.0)], SCHEMA).write.format("delta").save(lh.path("gold.t_old"))
    lh.create(spark, "gold.t_old", SCHEMA, constraints={"hours_ok": "hours >= 0"})
    assert lh.version(spark, "gold.t_old") == 1
    with pytest.raises(Exception, match="hours_ok"):
        spark.createDataFrame([("v2", -1.0)], SCHEMA).write.format("delta").mode("append").save(
            lh.path("gold.t_old"))


def test_register_all_finds_existing_tables(spark, tmp_path):
    lh = Lakehouse(str(tmp_path / "lh2"))
    spark.createDataFrame([("v1", 1.0)], SCHEMA).write.format("delta").save(lh.path("silver.t_reg"))
    (tmp_path / "lh2" / "silver" / "not_a_table").mkdir()
    assert lh.register_all(spark) == ["silver.t_reg"]
    assert spark.sql("SELECT village_id FROM silver.t_reg").first()["village_id"] == "v1"
    spark.sql("DROP TABLE silver.t_reg")


def test_reading_a_missing_table_says_which(spark, tmp_path):
    lh = Lakehouse(str(tmp_path / "empty"))
    with pytest.raises(UnknownTableError, match="gold.village_risk does not exist"):
        lh.read(spark, "gold.village_risk")
    assert lh.version(spark, "gold.village_risk") is None


def test_a_second_lakehouse_in_the_same_session_gets_its_own_tables(spark, tmp_path):
    first, second = Lakehouse(str(tmp_path / "one")), Lakehouse(str(tmp_path / "two"))
    first.create(spark, "gold.t_two_roots", SCHEMA)
    spark.createDataFrame([("v1", 1.0)], SCHEMA).write.format("delta").mode("append").save(
        first.path("gold.t_two_roots")
    )
    first.register(spark, "gold.t_two_roots")
    second.create(spark, "gold.t_two_roots", SCHEMA)
    second.register(spark, "gold.t_two_roots")
    assert second.exists(spark, "gold.t_two_roots")
    assert spark.sql("SELECT COUNT(*) AS n FROM gold.t_two_roots").first()["n"] == 0
    assert first.read(spark, "gold.t_two_roots").count() == 1  # the first table's data is kept
    first.register(spark, "gold.t_two_roots")
    assert spark.sql("SELECT COUNT(*) AS n FROM gold.t_two_roots").first()["n"] == 1
    spark.sql("DROP TABLE gold.t_two_roots")


def test_local_path_only_for_a_lakehouse_on_local_disk(tmp_path):
    from store.lakehouse import Lakehouse

    assert Lakehouse(str(tmp_path)).local_path("ops.ingest_log") == tmp_path / "ops" / "ingest_log"
    assert Lakehouse(f"file://{tmp_path}").local_path("silver.villages") == tmp_path / "silver" / "villages"
    assert Lakehouse("hdfs://nn:8020/rr").local_path("silver.villages") is None
    assert Lakehouse("s3a://bucket/rr").local_path("gold.village_risk") is None


def test_create_can_add_the_columns_an_older_table_lacks(spark, tmp_path):
    lh = Lakehouse(str(tmp_path / "lh_cols"))
    lh.create(spark, "gold.t_cols", SCHEMA)
    spark.createDataFrame([("v1", 1.0)], SCHEMA).write.format("delta").mode("append").save(lh.path("gold.t_cols"))
    wider = T.StructType([*SCHEMA.fields, T.StructField("note", T.StringType(), True, {"comment": "it's new"})])
    lh.create(spark, "gold.t_cols", wider)  # without the flag: left as it is
    assert lh.read(spark, "gold.t_cols").columns == ["village_id", "hours"]
    lh.create(spark, "gold.t_cols", wider, add_missing_columns=True)
    fields = {f.name: f for f in lh.read(spark, "gold.t_cols").schema.fields}
    assert list(fields) == ["village_id", "hours", "note"] and fields["note"].metadata["comment"] == "it's new"
    assert [tuple(r) for r in lh.read(spark, "gold.t_cols").collect()] == [("v1", 1.0, None)]


def test_a_whole_table_overwrite_takes_this_releases_columns(spark, tmp_path):
    """gold.township_audit of an older release had `source`; the next whole write replaces the
    schema (flags_from, with its comment) instead of failing on the mismatch."""
    import pandas as pd


    lh = Lakehouse(str(tmp_path / "lh_old_audit"))
    old = T.StructType([T.StructField("township_id", T.StringType()), T.StructField("source", T.StringType())])
    lh.create(spark, "gold.t_audit", old)
    spark.createDataFrame([("T1", "backtest")], old).write.format("delta").mode("append").save(lh.path("gold.t_audit"))
    new = T.StructType([T.StructField("township_id", T.StringType()),
                        T.StructField("flags_from", T.StringType(), True, {"comment": "backtest or scored"})])
    assert lh.overwrite(spark, "gold.t_audit", pd.DataFrame({"township_id": ["T1"], "flags_from": ["scored"]}), new) == 1
    table = lh.read(spark, "gold.t_audit")
    assert table.columns == ["township_id", "flags_from"] and [tuple(r) for r in table.collect()] == [("T1", "scored")]
    assert table.schema["flags_from"].metadata["comment"] == "backtest or scored"
