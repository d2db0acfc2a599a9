"""Analysts without a JVM read the lakehouse with deltalake (delta-rs) and DuckDB, offline."""

from __future__ import annotations

from pyspark.sql import types as T

from store.lakehouse import Lakehouse

SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False),
        T.StructField("probability", T.DoubleType(), True),
    ]
)


def test_delta_rs_and_duckdb_read_what_spark_wrote(spark, tmp_path):
    import duckdb
    from deltalake import DeltaTable

    lh = Lakehouse(str(tmp_path / "lh"))
    lh.create(spark, "gold.t_analyst", SCHEMA, constraints={"p_ok": "probability BETWEEN 0 AND 1"})
    rows = [("v1", 0.9), ("v2", 0.2), ("v3", 0.6)]
    spark.createDataFrame(rows, SCHEMA).write.format("delta").mode("append").save(
        lh.path("gold.t_analyst")
    )
    spark.createDataFrame([("v2", 0.4)], SCHEMA).createOrReplaceTempView("upd")
    spark.sql(
        f"MERGE INTO delta.`{lh.path('gold.t_analyst')}` t USING upd s ON t.village_id = s.village_id "
        "WHEN MATCHED THEN UPDATE SET *"
    )
    dataset = DeltaTable(lh.path("gold.t_analyst")).to_pyarrow_dataset()
    con = duckdb.connect()
    con.register("village_risk", dataset)
    got = con.execute(
        "SELECT village_id, probability FROM village_risk ORDER BY probability DESC"
    ).fetchall()
    assert got == [("v1", 0.9), ("v3", 0.6), ("v2", 0.4)]
