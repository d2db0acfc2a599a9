"""`rural-risk validate`: the gate between ingest and features in the Airflow pipeline.

Ingest already types, checks and quarantines every row; this says what the run's ingest
task loaded (ops.ingest_log rows of the run id) and fails only when a silver table the
features cannot do without is missing or empty, so the features go ahead with the sources
that did load when one source failed. On a lakehouse on local disk it reads with delta-rs
and never starts Spark (a manifest and Parquet footers are all it needs).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from jobs.arguments import add_as_of
from jobs.context import RunContext
from store import catalog

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
HELP = "check that the silver tables the features need exist and say what this run loaded"

# Features cannot be built without these (jobs/features.py); the other sources are optional.
REQUIRED = ("villages", "incidents")


class ValidationError(ValueError):
    """A silver table the features need is missing or empty."""


@dataclass(frozen=True)
class SourceStatus:
    source: str
    silver_rows: int | None  # None: the table does not exist
    loaded: int
    rejected: int
    rows_accepted: int
    rows_quarantined: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "when given, also reports incidents reported on or after it (a backfill sees them)")
    parser.add_argument(
        "--require", action="append", default=None, metavar="SOURCE",
        help=f"a source whose silver table must hold rows (repeatable; default: {', '.join(REQUIRED)})",
    )


def _logged(ctx: RunContext) -> list[dict[str, Any]]:
    """This run's rows of ops.ingest_log (source, status and row counts)."""
    columns = ["source", "status", "rows_accepted", "rows_quarantined"]
    table = ctx.lakehouse.local_delta(catalog.INGEST_LOG)
    if table is False:
        return []
    if table is not None:
        import pyarrow.compute as pc

        data = table.to_pyarrow_table(columns=[*columns, "run_id"])
        return data.filter(pc.equal(data["run_id"], ctx.run_id)).select(columns).to_pylist()
    from pyspark.sql import functions as F

    spark, lh = ctx.spark, ctx.lakehouse
    if not lh.exists(spark, catalog.INGEST_LOG):
        return []
    log = lh.read(spark, catalog.INGEST_LOG).filter(F.col("run_id") == F.lit(ctx.run_id))
    return [r.asDict() for r in log.select(*columns).collect()]


def _count(ctx: RunContext, name: str, since: datetime | None = None) -> int | None:
    """Rows of a table (None when it does not exist); with `since`, rows reported at or after
    that instant."""
    table = ctx.lakehouse.local_delta(name)
    if table is False:
        return None
    if table is not None:
        import pyarrow as pa
        import pyarrow.dataset as ds

        data = table.to_pyarrow_dataset()
        if since is None:
            return data.count_rows()
        instant = pa.scalar(since.astimezone(UTC), type=pa.timestamp("us", tz="UTC"))
        return data.count_rows(filter=ds.field("reported_at") >= instant)
    from pyspark.sql import functions as F

    spark, lh = ctx.spark, ctx.lakehouse
    if not lh.exists(spark, name):
        return None
    df = lh.read(spark, name)
    if since is not None:
        df = df.filter(F.col("reported_at") >= F.lit(since.astimezone(UTC)))
    return df.count()


def source_status(ctx: RunContext, sources: list[str]) -> list[SourceStatus]:
    """Silver row counts and this run's ingest_log counts, one row per source."""
    logged: dict[str, dict[str, int]] = {}
    for r in _logged(ctx):
        log = logged.setdefault(r["source"], dict.fromkeys(
            ("loaded", "rejected", "accepted", "quarantined"), 0))
        # A file seen before with the same content is skipped without a log row: only these two.
        if r["status"] in ("loaded", "rejected"):
            log[r["status"]] += 1
        log["accepted"] += int(r["rows_accepted"] or 0)
        log["quarantined"] += int(r["rows_quarantined"] or 0)
    out = []
    for source in sources:
        log = logged.get(source, {})
        out.append(SourceStatus(
            source, _count(ctx, f"silver.{source}"), log.get("loaded", 0), log.get("rejected", 0), log.get("accepted", 0), log.get("quarantined", 0),
        ))
    return out


def check(statuses: list[SourceStatus], required: list[str]) -> list[str]:
    """Problems that stop the features: a required silver table missing or empty."""
    by_source = {s.source: s for s in statuses}
    problems = []
    for source in required:
        status = by_source.get(source)
        if status is None or status.silver_rows is None:
            problems.append(f"silver.{source} does not exist")
        elif status.silver_rows == 0:
            problems.append(f"silver.{source} holds no rows")
    return problems


def table(statuses: list[SourceStatus]) -> str:
    head = ("source", "silver rows", "loaded", "rejected", "accepted", "quarantined")
    rows = [head] + [
        (s.source, "missing" if s.silver_rows is None else s.silver_rows, s.loaded, s.rejected, s.rows_accepted, s.rows_quarantined)
        for s in statuses
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    )


def incidents_after(ctx: RunContext, as_of: date) -> int:
    """Incidents reported on or after the as-of date (local): a backfill's features leave them out."""
    midnight = datetime.combine(as_of, time.min, tzinfo=ZoneInfo(ctx.settings.timezone))
    return _count(ctx, catalog.SILVER_INCIDENTS, since=midnight) or 0


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    sources = list(ctx.settings.section("ingest")["sources"])
    required = list(args.require or REQUIRED)
    with ctx.stage("validate silver tables") as st:
        statuses = source_status(ctx, sources)
        st.done(detail=f"{sum(s.silver_rows is not None for s in statuses)} of {len(sources)} silver tables")
    print(f"run {ctx.run_id}: files and rows this run's ingest logged, silver tables now")
    print(table(statuses))
    if args.as_of is not None:
        later = incidents_after(ctx, args.as_of)
        if later:
            print(f"{later} incidents are reported on or after {args.as_of}: the features as of that date leave them out")
    problems = check(statuses, required)
    if problems:
        raise ValidationError("validate: " + "; ".join(problems) + " (the features need them: see the ingest tasks' logs)")
    return 0
