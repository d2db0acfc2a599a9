"""One source's batch (its new files of this run): parse -> bronze -> checked -> silver candidates.

Pure transforms over DataFrames; nothing is written here, so a batch that fails its
checks leaves every table as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.landing.conform import resolve_villages, split_versions, to_silver, village_checks
from features.landing.reading import LandedFile, ReadOptions, file_parser, output_columns
from features.landing.rules import TableSpec, check_columns, typed_frame, with_checks

MALFORMED = "malformed_line"


def parse_schema(opts: ReadOptions) -> T.StructType:
    return T.StructType([
        T.StructField(c, T.LongType() if c == "_line" else T.StringType(), True)
        for c in output_columns(opts)
    ])


# A parse task reads about this many bytes of landed files (several small files share a task).
TASK_BYTES = 64 * 1024 * 1024


def file_bins(files: Sequence[LandedFile], parallelism: int, task_bytes: int = TASK_BYTES) -> list[list[LandedFile]]:
    """Files grouped into parse tasks: enough tasks to keep every core busy and to hold about
    `task_bytes` each, never more tasks than files; largest file first into the lightest task,
    so a thousand small files are a few tasks, not a thousand."""
    if not files:
        return []
    total = sum(max(f.size_bytes, 1) for f in files)
    n = min(len(files), max(1, parallelism, -(-total // task_bytes)))
    bins: list[list[LandedFile]] = [[] for _ in range(n)]
    load = [0] * n
    for f in sorted(files, key=lambda f: (-f.size_bytes, f.file)):
        i = load.index(min(load))
        bins[i].append(f)
        load[i] += max(f.size_bytes, 1)
    return [sorted(b, key=lambda f: f.file) for b in bins if b]


def parse_files(spark: SparkSession, files: Sequence[LandedFile], encoding: str,
                opts: ReadOptions) -> DataFrame:
    """Rows of every file plus error marker rows; each Spark task parses one bin of files."""
    bins = file_bins(files, spark.sparkContext.defaultParallelism)
    listing = spark.sparkContext.parallelize(
        [[(f.path, f.file, f.file_hash, encoding) for f in b] for b in bins], max(1, len(bins))
    ).flatMap(lambda b: b)
    frame = spark.createDataFrame(listing, "path string, file string, file_hash string, encoding string")
    return frame.mapInPandas(file_parser(opts), parse_schema(opts))


def to_bronze(parsed: DataFrame, opts: ReadOptions, bronze: T.StructType, run_id: str,
              ingested_at: datetime) -> DataFrame:
    """Parsed rows (errors removed) in the bronze table's schema."""
    from features.landing.pseudonym import key_id

    lineage = {
        "_source": F.lit(opts.source), "_run_id": F.lit(run_id),
        "_ingested_at": F.lit(ingested_at).cast(T.TimestampType()), "_key_id": F.lit(key_id(opts.key)),
    }
    return parsed.filter(F.col("_error").isNull()).select(
        *[lineage.get(f.name, F.col(f.name)).cast(f.dataType).alias(f.name) for f in bronze.fields]
    )


def check_rows(bronze: DataFrame, spec: TableSpec, codes: Mapping, bbox: Mapping[str, float],
               villages: DataFrame, snap_km: float, ingest_time: datetime,
               carry: Sequence[str]) -> tuple[DataFrame, list[str]]:
    """Well-formed rows typed, villages resolved, one boolean column per check and
    `_reasons`; returns the frame and the check names (the suite's expectations)."""
    typed = typed_frame(bronze.filter(F.col("_raw").isNull()), spec, codes,
                        carry=["_file", "_file_hash", "_line", "_extra", "_key_id", *carry])
    typed = resolve_villages(typed, spec.village, villages, snap_km)
    checks = {**check_columns(spec, codes, bbox, ingest_time), **village_checks(spec.village)}
    return with_checks(typed, checks), list(checks)


def quarantine_rows(bronze: DataFrame, checked: DataFrame, fields: Sequence[str],
                    carry: Sequence[str], source: str, run_id: str, at: datetime) -> DataFrame:
    """Malformed lines and rows with at least one reason, with the bronze record as JSON."""
    stamp = F.lit(at).cast(T.TimestampType())
    malformed = bronze.filter(F.col("_raw").isNotNull()).select(
        "_file", "_file_hash", "_line",
        F.to_json(F.struct(F.col("_raw"))).alias("record"),
        F.array(F.lit(MALFORMED)).alias("reasons"),
    )
    record = F.to_json(F.struct(*[F.col(f"_in_{f}").alias(f) for f in fields],
                                *[F.col(c) for c in carry], F.col("_extra")))
    bad = checked.filter(F.size("_reasons") > 0).select(
        "_file", "_file_hash", "_line", record.alias("record"), F.col("_reasons").alias("reasons"),
    )
    return malformed.unionByName(bad).select(
        F.lit(source).alias("source"), F.col("_file").alias("file"), F.col("_file_hash").alias("file_hash"),
        F.col("_line").alias("line"), "record", "reasons",
        F.lit(run_id).alias("run_id"), stamp.alias("quarantined_at"),
    )


def silver_candidates(checked: DataFrame, spec: TableSpec, silver: DataFrame, run_id: str,
                      ingest_time: datetime) -> DataFrame:
    """Accepted rows in the silver schema with `_dup` and `_wins` marks."""
    accepted = checked.filter(F.size("_reasons") == 0)
    return split_versions(to_silver(accepted, spec, run_id, ingest_time), silver, spec)


def parse_stats(parsed: DataFrame) -> dict[str, dict]:
    """Per landed file, in one Spark action (it materializes the cached parse): its error
    marker (a file-level problem, else None), rows parsed and malformed lines among them."""
    rows = parsed.groupBy("_file").agg(
        F.max("_error").alias("error"), F.max("_error_kind").alias("error_kind"),
        F.sum(F.col("_error").isNull().cast("long")).alias("rows_read"),
        F.sum(F.col("_raw").isNotNull().cast("long")).alias("malformed"),
    ).collect()
    return {r["_file"]: {"error": r["error"], "error_kind": r["error_kind"],
                         "rows_read": int(r["rows_read"] or 0), "malformed": int(r["malformed"] or 0)}
            for r in rows}


def over_bad_share(rows_read: int, rows_quarantined: int, batch_failure: Mapping[str, Any]) -> str | None:
    """Why a file is rejected alone, or None: it has at least `min_rows` rows and more than
    `max_bad_share` of them are quarantined (conf/ingest.yaml `batch_failure`)."""
    share = rows_quarantined / rows_read if rows_read else 0.0
    limit = float(batch_failure["max_bad_share"])
    if rows_read >= int(batch_failure["min_rows"]) and share > limit:
        return (f"{rows_quarantined} of {rows_read} rows fail their checks "
                f"({share:.0%} > {limit:.0%} in conf/ingest.yaml batch_failure)")
    return None


def failing_rules(checked: DataFrame, file: str, n: int = 3) -> list[tuple[str, int, int, str | None]]:
    """The `n` reason codes that quarantine most rows of one file: (reason, rows, first line,
    the landed text of the column at fault on that line, when the reason names one)."""
    top = (checked.filter(F.col("_file") == F.lit(file))
           .select("_line", F.explode("_reasons").alias("reason"))
           .groupBy("reason").agg(F.count(F.lit(1)).alias("rows"), F.min("_line").alias("line"))
           .orderBy(F.col("rows").desc(), "reason").limit(n).collect())
    out = []
    for r in top:
        column = r["reason"].split(":", 1)[1] if r["reason"].startswith(("out_of_range:", "bad_type:", "bad_code:", "future_timestamp:")) \
            else "village_id" if r["reason"] == "unknown_village" else None
        value = None
        if column and f"_in_{column}" in checked.columns:
            row = checked.filter((F.col("_file") == F.lit(file)) & (F.col("_line") == F.lit(r["line"]))) \
                .select(f"_in_{column}").first()
            value = None if row is None else row[0]
        out.append((str(r["reason"]), int(r["rows"]), int(r["line"]), value))
    return out


def batch_counts(stats: Mapping[str, Mapping], checked: DataFrame, candidates: DataFrame,
                 checks: Sequence[str] = ()) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Every count the summary, the manifest and the GX agreement need, in two Spark actions
    that each read one cached frame once (the checked rows, then the silver candidates).

    Returns per file: rows read, quarantined, duplicate, accepted (read = the other three);
    and per check: the rows it flags (its check column is false). `stats` is parse_stats'."""
    from features.landing.rules import check_column_name

    flagged = [F.sum((F.col(check_column_name(c)) == F.lit(False)).cast("long")).alias(f"_c{i}")
               for i, c in enumerate(checks)]
    bad = {r["_file"]: r for r in checked.groupBy("_file").agg(
        F.sum((F.size("_reasons") > 0).cast("long")).alias("bad"), *flagged).collect()}
    dup = {r["_file"]: r for r in candidates.groupBy("_file").agg(
        F.sum(F.col("_dup").cast("long")).alias("rows_duplicate"),
        F.sum((~F.col("_dup")).cast("long")).alias("rows_accepted")).collect()}
    per_file: dict[str, dict[str, int]] = {}
    per_check = dict.fromkeys(checks, 0)
    for file, st in stats.items():
        if st.get("error") is not None:
            continue
        b, d = bad.get(file), dup.get(file)
        per_file[file] = {
            "rows_read": int(st["rows_read"]),
            "rows_quarantined": int(st["malformed"]) + int((b["bad"] if b else 0) or 0),
            "rows_duplicate": int((d["rows_duplicate"] if d else 0) or 0),
            "rows_accepted": int((d["rows_accepted"] if d else 0) or 0),
        }
        for i, c in enumerate(checks):
            per_check[c] += int((b[f"_c{i}"] if b else 0) or 0)
    return per_file, per_check
