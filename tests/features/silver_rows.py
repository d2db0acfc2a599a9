"""Tiny hand-written silver (and bronze) tables for the feature tests (docs/tables.md schemas)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.assemble import SILVER_DDL

DDL = dict(SILVER_DDL) | {
    "villages": "village_id STRING, village_name STRING, township_id STRING, township_name STRING, "
    "county_id STRING, county_name STRING, longitude DOUBLE, latitude DOUBLE, area_km2 DOUBLE, "
    "terrain STRING, updated_at TIMESTAMP",
    "incidents": "incident_id STRING, reported_at TIMESTAMP, occurred_at TIMESTAMP, village_id STRING, "
    "longitude DOUBLE, latitude DOUBLE, village_snapped BOOLEAN, category STRING, severity INT, "
    "source STRING, response_minutes DOUBLE, status STRING, is_false_alarm BOOLEAN, "
    "reporter_key STRING, updated_at TIMESTAMP",
}
BRONZE_INCIDENT_FIELDS = (
    "incident_id", "reported_at", "occurred_at", "village_id", "longitude", "latitude", "category",
    "severity", "source", "response_minutes", "status", "updated_at", "_file", "_line",
)


def frame(spark: SparkSession, source: str, rows: list[dict[str, Any]]) -> DataFrame:
    """A silver table from dicts; dates and timestamps given as local strings, missing keys null."""
    schema = spark.createDataFrame([], DDL[source]).schema
    as_text = T.StructType(
        [
            T.StructField(f.name, T.StringType() if isinstance(f.dataType, (T.DateType, T.TimestampType)) else f.dataType)
            for f in schema.fields
        ]
    )
    data = [tuple(r.get(f.name) for f in schema.fields) for r in rows]
    df = spark.createDataFrame(data, as_text)
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def village(vid: str, township: str, lon: float, lat: float, area: float = 2.0) -> dict[str, Any]:
    return {
        "village_id": vid, "village_name": f"name {vid}", "township_id": township,
        "township_name": f"town {township}", "county_id": "C", "county_name": "county",
        "longitude": lon, "latitude": lat, "area_km2": area, "updated_at": "2020-01-01 00:00:00",
    }


def incident(
    iid: str, vid: str, reported: str, category: str = "theft", severity: int = 1,
    source: str = "citizen_call", status: str = "open", updated: str | None = None,
    response: float | None = None,
) -> dict[str, Any]:
    return {
        "incident_id": iid, "village_id": vid, "reported_at": reported, "occurred_at": reported,
        "village_snapped": False, "category": category, "severity": severity, "source": source,
        "response_minutes": response, "status": status, "is_false_alarm": status == "false_alarm",
        "updated_at": updated or reported,
    }


def bronze_incidents(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    """bronze.incidents rows: every field a string (as landed), plus _file and _line."""
    schema = T.StructType(
        [T.StructField(c, T.LongType() if c == "_line" else T.StringType()) for c in BRONZE_INCIDENT_FIELDS]
    )
    data = [
        tuple(None if r.get(c) is None else (r[c] if c == "_line" else str(r[c])) for c in BRONZE_INCIDENT_FIELDS)
        for r in rows
    ]
    return spark.createDataFrame(data, schema)


def save(ctx, name: str, df: DataFrame, mode: str = "overwrite") -> None:
    """Write a table into the test lakehouse and register it."""
    df.write.format("delta").mode(mode).save(ctx.lakehouse.path(name))
    ctx.lakehouse.register(ctx.spark, name)
