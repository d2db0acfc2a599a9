"""Conforming checked bronze rows to the silver contract: villages, projection, versions.

Pure DataFrame transforms; jobs/ingest.py decides what is written where.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.landing.rules import TableSpec, clean
from features.periods import period_start_col
from features.spatial import haversine_km

SPARK_TYPES = {
    "string": T.StringType(), "code": T.StringType(), "int": T.IntegerType(),
    "double": T.DoubleType(), "bool": T.BooleanType(), "date": T.DateType(),
    "timestamp": T.TimestampType(), "json_list": T.IntegerType(),
}
# Columns silver adds to (or changes from) the landed ones, per source.
DERIVED = {
    "incidents": {
        "village_snapped": (T.BooleanType(), "village found from coordinates (nearest within the snap distance)"),
        "is_false_alarm": (T.BooleanType(), "status = false_alarm: kept, never counts as risk"),
        "reporter_key": (T.StringType(), "keyed pseudonym of the reporter (id number, else phone, else name)"),
    },
    "patrols": {
        "duration_hours": (T.DoubleType(), "ended_at - started_at in hours"),
        "is_night": (T.BooleanType(), "any part between 20:00 and 06:00 local time"),
        "checkpoints": (T.IntegerType(), "number of checkpoints logged"),
    },
    "survey": {"q_knows_grid_worker": (T.BooleanType(), "resident knows the grid worker")},
}
DROPPED = {"survey": ("completed",)}
LINEAGE = {
    "_file": (T.StringType(), "landed file (relative to the landing root) of this row version"),
    "_file_hash": (T.StringType(), "SHA-256 of that file's content (null on rows of releases before it)"),
    "_line": (T.LongType(), "physical line of the row in that file"),
    "_run_id": (T.StringType(), "ingest run that wrote this row version"),
}


def resolve_villages(typed: DataFrame, mode: str, villages: DataFrame, snap_km: float) -> DataFrame:
    """Adds `_village_ok` (village known; null when there is nothing to check) and, in snap
    mode, replaces a missing village_id by the nearest village within snap_km
    (`village_snapped`), ties broken by the smaller village_id."""
    if mode == "none":
        return typed
    known = villages.select(F.col("village_id").alias("_vid"), F.lit(True).alias("_vknown")).distinct()
    out = (typed.join(F.broadcast(known), on=F.col("village_id") == F.col("_vid"), how="left")
           .drop("_vid"))
    if mode == "exists":
        return out.withColumn("_village_ok", F.when(F.col("village_id").isNotNull(), F.col("_vknown").isNotNull())).drop("_vknown")
    needs_snap = F.col("village_id").isNull() & F.col("longitude").isNotNull() & F.col("latitude").isNotNull()
    cands = (
        out.filter(needs_snap).select("_file", "_line", "longitude", "latitude")
        .crossJoin(F.broadcast(villages.select(
            F.col("village_id").alias("_v"), F.col("longitude").alias("_vlon"), F.col("latitude").alias("_vlat"))))
        .withColumn("_d", haversine_km(F.col("longitude"), F.col("latitude"), F.col("_vlon"), F.col("_vlat")))
        .filter(F.col("_d") <= F.lit(float(snap_km)))
        .groupBy("_file", "_line").agg(F.min(F.struct("_d", "_v")).getField("_v").alias("_snap"))
    )
    snapped = out.join(cands, on=["_file", "_line"], how="left")
    given = F.col("village_id").isNotNull()
    return snapped.select(
        *[c for c in snapped.columns if c not in ("village_id", "_snap", "_vknown")],
        F.coalesce(F.col("village_id"), F.col("_snap")).alias("village_id"),
        (~given & F.col("_snap").isNotNull()).alias("village_snapped"),
        F.when(given, F.col("_vknown").isNotNull())
        .when(needs_snap, F.col("_snap").isNotNull()).alias("_village_ok"),
    )


def village_checks(mode: str) -> dict[str, Column]:
    """Checks added by village resolution (same shape as rules.check_columns)."""
    if mode == "none":
        return {}
    checks = {"unknown_village": F.col("_village_ok")}
    if mode == "snap":
        located = (F.col("_in_village_id").isNotNull()
                   | (F.col("_in_longitude").isNotNull() & F.col("_in_latitude").isNotNull()))
        checks["missing_required:village_id|located"] = located
    return checks


def silver_fields(spec: TableSpec) -> list[tuple[str, T.DataType, str]]:
    """(name, type, comment) of the silver table, in order, lineage last."""
    derived = DERIVED.get(spec.source, {})
    out = []
    for c in spec.columns:
        if c.name in DROPPED.get(spec.source, ()):
            continue
        dtype, comment = derived.get(c.name, (SPARK_TYPES[c.type], f"landed {c.name} ({c.type})"))
        out.append((c.name, dtype, comment))
        if spec.source == "incidents" and c.name == "latitude":
            out.append(("village_snapped", *derived["village_snapped"]))
        if spec.source == "patrols" and c.name == "ended_at":
            out.append(("duration_hours", *derived["duration_hours"]))
    if spec.source == "incidents":
        out[-1:-1] = [("is_false_alarm", *derived["is_false_alarm"]), ("reporter_key", *derived["reporter_key"])]
        out.append(("_key_id", T.StringType(), "id of the pseudonymization key of reporter_key "
                    "(bronze _key_id; a key rotation starts a new id)"))
    if spec.source == "patrols":
        out.insert(len(out) - 1, ("is_night", *derived["is_night"]))
    if "updated_at" not in [n for n, _, _ in out]:
        out.append(("updated_at", T.TimestampType(), "ingest time (the source has no version time)"))
    out += [(n, t, c) for n, (t, c) in LINEAGE.items()]
    return out


def silver_schema(spec: TableSpec) -> T.StructType:
    return T.StructType([T.StructField(n, t, True, {"comment": c}) for n, t, c in silver_fields(spec)])


def silver_constraints(spec: TableSpec) -> dict[str, str]:
    """CHECK constraints that guard silver: keys present, contract ranges (not the bounding
    box, which is deployment configuration and may change). Two constraints per table, as
    each one added is a Delta commit."""
    out = {"key_present": " AND ".join(f"{k} IS NOT NULL" for k in spec.key)}
    ranges = []
    for c in spec.columns:
        if c.bbox or (c.min is None and c.max is None) or c.name in DERIVED.get(spec.source, {}):
            continue
        conds = [f"{c.name} >= {c.min}"] if c.min is not None else []
        conds += [f"{c.name} <= {c.max}"] if c.max is not None else []
        ranges.append(f"({c.name} IS NULL OR ({' AND '.join(conds)}))")
    if ranges:
        out["contract_ranges"] = " AND ".join(ranges)
    return out


def _is_night(start: Column, end: Column) -> Column:
    days = F.sequence(F.date_sub(F.to_date(start), 1), F.to_date(end))

    def overlaps(d: Column) -> Column:
        night_from = F.to_timestamp(F.concat(d.cast("string"), F.lit(" 20:00:00")))
        night_to = F.to_timestamp(F.concat(F.date_add(d, 1).cast("string"), F.lit(" 06:00:00")))
        return (night_from < end) & (night_to > start)

    return F.exists(days, overlaps)


def derived_columns(spec: TableSpec, ingest_time: datetime) -> dict[str, Column]:
    """Silver columns computed from the typed ones, per source."""
    if spec.source == "incidents":
        return {
            "is_false_alarm": F.coalesce(F.col("status") == F.lit("false_alarm"), F.lit(False)),
            "reporter_key": F.coalesce(clean(F.col("reporter_id_number")), clean(F.col("reporter_phone")),
                                       clean(F.col("reporter_name"))),
        }
    if spec.source == "patrols":
        s, e = F.col("started_at"), F.col("ended_at")
        return {
            "duration_hours": (e.cast("double") - s.cast("double")) / F.lit(3600.0),
            "is_night": _is_night(s, e),
            "updated_at": F.coalesce(F.col("updated_at"), e),
        }
    if spec.source == "survey":
        return {"q_knows_grid_worker": F.col("q_knows_grid_worker") == F.lit("yes"),
                "updated_at": F.lit(ingest_time).cast(T.TimestampType())}
    return {}


def to_silver(checked: DataFrame, spec: TableSpec, run_id: str, ingest_time: datetime) -> DataFrame:
    """The silver projection of checked rows (schema contract of the table)."""
    derived = derived_columns(spec, ingest_time)
    cols = []
    for name, dtype, _ in silver_fields(spec):
        if name == "_run_id":
            col = F.lit(run_id)
        else:
            col = derived.get(name, F.col(name))
        cols.append(col.cast(dtype).alias(name))
    return checked.select(*cols)


def content_hash(cols: Sequence[str]) -> Column:
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in cols])), 256)


def version_order(prefix: str = "") -> list[Column]:
    """Newest version first: later updated_at, then later file, then later line."""
    return [F.col(f"{prefix}{c}").desc_nulls_last() for c in ("updated_at", "_file", "_line")]


def split_versions(rows: DataFrame, silver: DataFrame, spec: TableSpec) -> DataFrame:
    """Marks each accepted row: `_dup` (same key and content as an earlier row of the batch
    or as the version silver holds) and `_wins` (the row becomes the silver version of its key).
    Content excludes lineage, and updated_at when the source has none. A row silver already
    holds from this very file content and line (a run stopped after its MERGE, before its
    manifest) is no duplicate of itself: it counts as accepted again, and does not win."""
    key = list(spec.key)
    content = [c for c in rows.columns if not c.startswith("_") and not (
        c == "updated_at" and spec.updated_at == "ingest_time")]
    h = rows.withColumn("_h", content_hash(content))
    cur = silver.select(*[F.col(k).alias(f"_t_{k}") for k in key],
                        content_hash(content).alias("_t_h"), *[F.col(c).alias(f"_t_{c}")
                                                               for c in ("updated_at", "_file", "_file_hash", "_line")])
    first = Window.partitionBy(*key, "_h").orderBy("_file", "_line").rowsBetween(
        Window.unboundedPreceding, Window.currentRow)
    newest = Window.partitionBy(*key).orderBy(F.col("_dup"), *version_order()).rowsBetween(
        Window.unboundedPreceding, Window.currentRow)
    joined = h.join(cur, on=[F.col(k).eqNullSafe(F.col(f"_t_{k}")) for k in key], how="left")
    in_silver = F.col("_t_h").isNotNull()
    newer = (~in_silver
             | (F.col("updated_at") > F.col("_t_updated_at"))
             | ((F.col("updated_at") == F.col("_t_updated_at"))
                & (F.struct("_file", "_line") > F.struct("_t__file", "_t__line"))))
    itself = ((F.col("_file") == F.col("_t__file")) & (F.col("_file_hash") == F.col("_t__file_hash"))
              & (F.col("_line") == F.col("_t__line")))
    same_as_silver = (F.col("_h") == F.col("_t_h")) & ~F.coalesce(itself, F.lit(False))
    marked = joined.withColumn(
        "_dup", (F.row_number().over(first) > 1) | F.coalesce(same_as_silver, F.lit(False))
    )
    return (
        marked.withColumn("_wins", ~F.col("_dup") & (F.row_number().over(newest) == 1) & newer)
        .drop("_h", "_t_h", *[f"_t_{k}" for k in key], "_t_updated_at", "_t__file", "_t__file_hash", "_t__line")
    )


def changed_periods(new_rows: DataFrame, old_rows: DataFrame, date_cols: Sequence[str],
                    grain: str, source: str, run_id: str) -> DataFrame:
    """(source, village_id, period_start, run_id) for the new and the replaced versions:
    the period of the earliest of `date_cols` of each version."""
    def periods(df: DataFrame) -> DataFrame:
        first = F.least(*[F.col(c).cast("timestamp") for c in date_cols]) if len(date_cols) > 1 \
            else F.col(date_cols[0]).cast("timestamp")
        return df.select("village_id", period_start_col(first, grain).alias("period_start"))

    both = periods(new_rows).unionByName(periods(old_rows))
    return (both.filter(F.col("village_id").isNotNull() & F.col("period_start").isNotNull())
            .distinct()
            .select(F.lit(source).alias("source"), "village_id", "period_start", F.lit(run_id).alias("run_id")))


def merge_condition(key: Sequence[str]) -> str:
    return " AND ".join(f"t.{k} <=> s.{k}" for k in key)


def newer_condition() -> str:
    return ("s.updated_at > t.updated_at OR (s.updated_at = t.updated_at AND "
            "(s._file > t._file OR (s._file = t._file AND s._line > t._line)))")
