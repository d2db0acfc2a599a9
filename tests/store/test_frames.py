"""pandas <-> Spark over Arrow: values, nulls, types and schema survive the round trip exactly."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import Row
from pyspark.sql import types as T

from store.frames import pandas_frame, spark_frame

SCHEMA = T.StructType(
    [
        T.StructField("id", T.StringType(), False),
        T.StructField("name", T.StringType(), True),
        T.StructField("day", T.DateType(), True),
        T.StructField("day64", T.DateType(), True),
        T.StructField("at", T.TimestampType(), True),
        T.StructField("n", T.IntegerType(), True),
        T.StructField("big", T.LongType(), True),
        T.StructField("x", T.DoubleType(), True),
        T.StructField("ok", T.BooleanType(), True),
        T.StructField("words", T.ArrayType(T.StringType()), True),
    ]
)


def _pdf() -> pd.DataFrame:
    """The shapes the model code hands over: object dates, datetime64, NaN in int columns, ..."""
    return pd.DataFrame(
        {
            "extra": [1, 2, 3],  # not in the schema: left out
            "id": ["a", "b", "c"],
            "name": ["x", None, np.nan],
            "day": [date(2021, 2, 1), None, date(2020, 12, 31)],
            "day64": pd.to_datetime(["2021-02-01", None, "2020-12-31"]),
            "at": pd.to_datetime(["2021-02-01 09:30:00", None, "2020-12-31 23:59:59"]),
            "n": [3.0, np.nan, -1.0],
            "big": np.array([2**40, 0, -5], dtype="int64"),
            "x": [0.25, np.nan, None],
            "ok": [True, None, False],
            "words": [["one", "two"], [], None],
        },
        index=[7, 3, 5],  # not a range index: ignored
    )


EXPECTED = [
    Row(id="a", name="x", day=date(2021, 2, 1), day64=date(2021, 2, 1), at=datetime(2021, 2, 1, 9, 30),
        n=3, big=2**40, x=0.25, ok=True, words=["one", "two"]),
    Row(id="b", name=None, day=None, day64=None, at=None, n=None, big=0, x=None, ok=None, words=[]),
    Row(id="c", name=None, day=date(2020, 12, 31), day64=date(2020, 12, 31),
        at=datetime(2020, 12, 31, 23, 59, 59), n=-1, big=-5, x=None, ok=False, words=None),
]


def test_spark_frame_keeps_values_nulls_and_schema(spark):
    df = spark_frame(spark, _pdf(), SCHEMA)
    assert df.schema == SCHEMA  # names, types and nullability exactly
    assert df.collect() == EXPECTED
    # Naive timestamps are wall time of the session's zone (Asia/Shanghai: UTC+8).
    utc = df.selectExpr("CAST(to_utc_timestamp(at, 'Asia/Shanghai') AS STRING) AS u").first()["u"]
    assert utc == "2021-02-01 01:30:00"


def test_spark_frame_refuses_what_the_schema_forbids(spark):
    with pytest.raises(Exception, match="non-nullable"):
        spark_frame(spark, _pdf().assign(id=["a", None, "c"]), SCHEMA)
    with pytest.raises(Exception, match="truncated"):
        spark_frame(spark, _pdf().assign(n=[1.5, 2.0, 3.0]), SCHEMA)


def test_spark_frame_of_no_rows(spark):
    df = spark_frame(spark, _pdf().iloc[:0], SCHEMA)
    assert df.schema == SCHEMA and df.count() == 0


def test_pandas_frame_is_what_non_arrow_to_pandas_gives(spark):
    schema = T.StructType([*SCHEMA.fields, T.StructField("m", T.MapType(T.StringType(), T.LongType()))])
    df = spark.createDataFrame(
        [tuple(r) + (m,) for r, m in zip(EXPECTED, [{"k": 1}, None, {}], strict=True)], schema
    ).repartition(2)
    assert spark.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "false"
    rows = df.toPandas()  # Spark's row-by-row path: the reference
    got = pandas_frame(df)
    pd.testing.assert_frame_equal(got, rows, check_exact=True)
    by_id = got.set_index("id")
    assert by_id["n"].dtype == "float64" and np.isnan(by_id.at["b", "n"])  # nullable int
    assert by_id["big"].dtype == "int64" and by_id.at["a", "big"] == 2**40
    assert by_id["ok"].dtype == "object" and by_id.at["b", "ok"] is None
    assert by_id.at["a", "day"] == date(2021, 2, 1) and by_id.at["b", "day"] is None
    assert by_id["at"].dtype == "datetime64[ns]" and by_id.at["a", "at"] == pd.Timestamp("2021-02-01 09:30")
    assert by_id.at["a", "words"] == ["one", "two"] and by_id.at["a", "m"] == {"k": 1}
    # and back again: the same rows
    assert sorted(spark_frame(spark, got, SCHEMA).collect()) == sorted(EXPECTED)
