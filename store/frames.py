"""pandas <-> Spark, both ways over Arrow: what the stages use to write driver-side results
(scikit-learn fits, the plan's solver) as Delta tables and to collect Spark results.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T


def spark_frame(spark: SparkSession, pdf: pd.DataFrame, schema: T.StructType) -> DataFrame:
    """A Spark DataFrame of the schema's columns, built over Arrow (no Python loop over rows).

    NaN, NaT and None become null; integer columns holding NaN (float) stay integers (a
    fractional value is refused); date columns may hold dates or datetime64; naive timestamps
    mean wall time in the session's time zone (as in Spark's own pandas conversion). Passing a
    pyarrow Table always takes Spark's Arrow path, whatever spark.sql.execution.arrow.* say.
    """
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    zone = spark.conf.get("spark.sql.session.timeZone")
    cols: dict[str, Any] = {}
    for f in schema.fields:
        s = pdf[f.name]
        if isinstance(f.dataType, T.TimestampType):
            s = pd.to_datetime(s)
            if s.dt.tz is None:
                s = s.dt.tz_localize(zone)
        cols[f.name] = s
    table = pa.Table.from_pandas(
        pd.DataFrame(cols, index=pdf.index), schema=to_arrow_schema(schema), preserve_index=False
    )
    # One partition per Arrow batch (maxRecordsPerBatch rows): merged to the default parallelism, as
    # a parallelized list would be, so a written table keeps a few files, not one per batch.
    return spark.createDataFrame(table, schema=schema).coalesce(spark.sparkContext.defaultParallelism)


def pandas_frame(df: DataFrame) -> pd.DataFrame:
    """df.toPandas() over Arrow (always, whatever spark.sql.execution.arrow.* say), same result.

    Spark's non-Arrow toPandas collects Row objects and builds the frame in a Python loop;
    this gives the frame it would, in the same row order: dates as datetime.date objects,
    nullable integers as float64, nullable booleans as objects with None, timestamps as naive
    datetime64[ns] wall time in the session's time zone, arrays as lists, maps as dicts.
    """
    table = df.toArrow()
    pdf = table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=True)
    zone = df.sparkSession.conf.get("spark.sql.session.timeZone")
    for i, f in enumerate(df.schema.fields):
        if isinstance(f.dataType, T.TimestampType):
            pdf[f.name] = pdf[f.name].dt.tz_convert(zone).dt.tz_localize(None)
        elif isinstance(f.dataType, T.ArrayType | T.MapType):
            values = table.column(i).to_pylist(maps_as_pydicts="strict")
            pdf[f.name] = pd.Series(values, index=pdf.index, dtype="object")
    return pdf
