"""`rural-risk maintain`: keep the lakehouse's tables in shape, and its data dictionary current.

For each table: OPTIMIZE (compact small files into larger ones; the rows do not change) and
VACUUM (delete the files no table version within the retention needs any longer). The
retention is `maintenance.vacuum_retention_hours` of the settings (default 168 h, Delta's own
safe minimum); a shorter one is refused unless `--allow-short-retention` is given, since it
breaks time travel to older versions and readers still on them. What was done goes to
ops.maintenance_log; ops.data_dictionary is rewritten from the catalog (store/catalog.py):
every table's columns with type and comment, for SQL tools. Deletion vectors stay off, so
delta-rs reads every table after maintenance as before.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from jobs.context import RunContext
from store.catalog import DATA_DICTIONARY as DICTIONARY
from store.catalog import MAINTENANCE_LOG as LOG

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = ("compact (OPTIMIZE) and clean (VACUUM) every table, log it in ops.maintenance_log and "
        "rewrite ops.data_dictionary")

# Delta refuses a VACUUM below this without spark.databricks.delta.retentionDurationCheck off.
SAFE_RETENTION_HOURS = 168.0


class RetentionError(ValueError):
    """A VACUUM retention below Delta's safe minimum without --allow-short-retention."""


def _schema(name: str) -> Any:
    from store import schemas

    return {LOG: schemas.MAINTENANCE_LOG_SCHEMA, DICTIONARY: schemas.DATA_DICTIONARY_SCHEMA}[name]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", action="append", default=None, metavar="NAME",
                        help="only this table (layer.table; repeatable; default: every table)")
    parser.add_argument("--retention-hours", type=float, default=None, metavar="H",
                        help="VACUUM keeps files younger versions need for H hours "
                             "(default: maintenance.vacuum_retention_hours, 168)")
    parser.add_argument("--allow-short-retention", action="store_true",
                        help=f"allow a retention below {SAFE_RETENTION_HOURS:g} h (breaks time travel "
                             "past it and readers still on older versions)")
    parser.add_argument("--skip-vacuum", action="store_true", help="compact only")


def retention(ctx: RunContext, hours: float | None, allow_short: bool) -> float:
    value = float(hours if hours is not None
                  else ctx.settings.get("maintenance.vacuum_retention_hours", SAFE_RETENTION_HOURS))
    if value < 0:
        raise RetentionError(f"--retention-hours: expected 0 or more hours, got {value:g}")
    if value < SAFE_RETENTION_HOURS and not allow_short:
        raise RetentionError(
            f"VACUUM retention {value:g} h is below Delta's safe minimum of {SAFE_RETENTION_HOURS:g} h "
            "(older versions could no longer be read): pass --allow-short-retention to do it anyway"
        )
    return value


def _state(spark: Any, path: str) -> tuple[int, int]:
    """(data files, version) of the table's current version."""
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, path)
    files = int(table.detail().select("numFiles").first()[0])
    version = int(table.history(1).select("version").first()[0])
    return files, version


def _vacuumed_files(spark: Any, path: str, since: int) -> int | None:
    """numDeletedFiles of the VACUUM END commits after version `since`."""
    from delta.tables import DeltaTable

    rows = (DeltaTable.forPath(spark, path).history()
            .filter(f"version > {since} AND operation = 'VACUUM END'")
            .select("operationMetrics").collect())
    counts = [int(r[0].get("numDeletedFiles", 0)) for r in rows if r[0]]
    return sum(counts) if counts else None


def maintain(ctx: RunContext, tables: list[str] | None = None, retention_hours: float | None = None,
             allow_short: bool = False, vacuum: bool = True) -> list[dict[str, Any]]:
    """Optimize and vacuum the tables; return the ops.maintenance_log rows written."""
    from delta.tables import DeltaTable

    hours = retention(ctx, retention_hours, allow_short)
    spark, lh = ctx.spark, ctx.lakehouse
    present = lh.existing_tables(spark)
    names = [t for t in (tables or present) if t not in (LOG, DICTIONARY)]
    missing = sorted(set(names) - set(present))
    if missing:
        raise ValueError(f"--table: no such table in {lh.root}: {', '.join(missing)}")
    if hours < SAFE_RETENTION_HOURS:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    listing = _listing_parallelism(spark)
    rows: list[dict[str, Any]] = []
    try:
        with ctx.stage(f"maintain {len(names)} tables") as st:
            for name in names:
                path = lh.path(name)
                files, version = _state(spark, path)
                start = time.monotonic()
                metrics = DeltaTable.forPath(spark, path).optimize().executeCompaction().select("metrics").first()
                removed = int(metrics[0]["numFilesRemoved"]) if metrics and metrics[0] else 0
                after_files, after_version = _state(spark, path)
                rows.append(_row(ctx, name, "optimize", files, after_files, removed, version,
                                 after_version, None, time.monotonic() - start))
                if vacuum:
                    start = time.monotonic()
                    DeltaTable.forPath(spark, path).vacuum(hours)
                    files2, version2 = _state(spark, path)
                    deleted = _vacuumed_files(spark, path, after_version)
                    rows.append(_row(ctx, name, "vacuum", after_files, files2, deleted, after_version,
                                     version2, hours, time.monotonic() - start))
                ctx.log.info("maintain %s: %d -> %d files", name, files, after_files)
            st.done(rows=len(rows), detail=f"{len(names)} tables, retention {hours:g} h"
                    + ("" if vacuum else ", no vacuum"))
    finally:
        if hours < SAFE_RETENTION_HOURS:
            spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
        for key, value in listing.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
    _append_log(ctx, rows)
    write_dictionary(ctx)
    return rows


# VACUUM lists a table's files in one Spark job of spark.sql.sources.parallelPartitionDiscovery.
# parallelism tasks, 10,000 by Spark's default: on a laptop that is ten thousand tasks per table
# (the 30 tables of a county took over 13 minutes). The cores at hand list any county's files.
LISTING_KEYS = ("spark.sql.sources.parallelPartitionDiscovery.parallelism",
                "spark.databricks.delta.vacuum.fileListing.parallelism")


def _listing_parallelism(spark: Any) -> dict[str, str | None]:
    """Set the listing parallelism of the VACUUMs to the session's default parallelism (unless
    the profile set a value); returns the previous values, to put back."""
    previous: dict[str, str | None] = {}
    cores = str(max(1, int(spark.sparkContext.defaultParallelism)))
    for key in LISTING_KEYS:
        current = spark.conf.get(key, None)
        previous[key] = current
        if current is None or key == LISTING_KEYS[0] and current == "10000":
            spark.conf.set(key, cores)
    return previous


def _row(ctx: RunContext, name: str, action: str, before: int, after: int, removed: int | None,
         v_before: int, v_after: int, hours: float | None, seconds: float) -> dict[str, Any]:
    return {"table_name": name, "action": action, "files_before": before, "files_after": after,
            "files_removed": removed, "version_before": v_before, "version_after": v_after,
            "retention_hours": hours, "seconds": round(seconds, 3), "run_id": ctx.run_id,
            "done_at": datetime.now(UTC)}


def _append_log(ctx: RunContext, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    spark, lh, schema = ctx.spark, ctx.lakehouse, _schema(LOG)
    lh.create(spark, LOG, schema)
    spark.createDataFrame(rows, schema).write.format("delta").mode("append").save(lh.path(LOG))


def dictionary_rows(sections: Any) -> list[dict[str, Any]]:
    from store import catalog

    rows = []
    for name, table in catalog.TABLES.items():
        for i, f in enumerate(catalog.schema(name, sections).fields, 1):
            rows.append({"table_name": name, "table_description": table.description, "grain": table.grain,
                         "position": i, "column_name": f.name, "data_type": f.dataType.simpleString(),
                         "comment": str(f.metadata.get("comment", ""))})
    return rows


def write_dictionary(ctx: RunContext) -> int:
    """Rewrite ops.data_dictionary from the catalog under the run's settings."""
    from store import catalog

    spark, lh, schema = ctx.spark, ctx.lakehouse, _schema(DICTIONARY)
    rows = dictionary_rows(catalog.sections_of(ctx.settings))
    lh.create(spark, DICTIONARY, schema)
    spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite").save(lh.path(DICTIONARY))
    return len(rows)


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    rows = maintain(ctx, args.table, args.retention_hours, args.allow_short_retention, not args.skip_vacuum)
    compacted = sum(r["files_removed"] or 0 for r in rows if r["action"] == "optimize")
    deleted = sum(r["files_removed"] or 0 for r in rows if r["action"] == "vacuum")
    tables = len({r["table_name"] for r in rows})
    print(f"maintained {tables} tables: {compacted} small files compacted, {deleted} unneeded files deleted; "
          f"{LOG} and {DICTIONARY} written")
    return 0
