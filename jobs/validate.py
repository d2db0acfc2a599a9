"""`rural-risk validate`: the gate between ingest and features in the Airflow pipeline.

Ingest already types, checks and quarantines every row; this says what the run's ingest
tasks loaded (ops.ingest_log rows of the run id) and fails only when a silver table the
features cannot do without is missing or empty, so the features go ahead with the sources
that did load when one source failed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date

from jobs.arguments import add_as_of
from jobs.context import RunContext

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
    skipped: int
    rejected: int
    rows_accepted: int
    rows_quarantined: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(
        parser,
        "the run's date: reports incidents reported on or after it (a backfill sees them)",
    )
    parser.add_argument(
        "--require", action="append", default=None, metavar="SOURCE",
        help=f"a source whose silver table must hold rows (repeatable; default: {', '.join(REQUIRED)})",
    )


def source_status(ctx: RunContext, sources: list[str]) -> list[SourceStatus]:
    """Silver row counts and this run's ingest_log counts, one row per source."""
    from pyspark.sql import functions as F

    spark, lh = ctx.spark, ctx.lakehouse
    logged: dict[str, dict[str, int]] = {}
    if lh.exists(spark, "ops.ingest_log"):
        rows = (
            lh.read(spark, "ops.ingest_log")
            .filter(F.col("run_id") == F.lit(ctx.run_id))
            .groupBy("source")
            .agg(
                F.sum((F.col("status") == "loaded").cast("int")).alias("loaded"),
                F.sum((F.col("status") == "skipped_same_content").cast("int")).alias("skipped"),
                F.sum((F.col("status") == "rejected").cast("int")).alias("rejected"),
                F.sum(F.coalesce(F.col("rows_accepted").cast("long"), F.lit(0))).alias("accepted"),
                F.sum(F.coalesce(F.col("rows_quarantined").cast("long"), F.lit(0))).alias("quarantined"),
            )
            .collect()
        )
        logged = {r["source"]: r.asDict() for r in rows}
    out = []
    for source in sources:
        name = f"silver.{source}"
        count = lh.read(spark, name).count() if lh.exists(spark, name) else None
        log = logged.get(source, {})
        out.append(SourceStatus(
            source, count, int(log.get("loaded") or 0), int(log.get("skipped") or 0),
            int(log.get("rejected") or 0), int(log.get("accepted") or 0), int(log.get("quarantined") or 0),
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
    head = ("source", "silver rows", "loaded", "skipped", "rejected", "accepted", "quarantined")
    rows = [head] + [
        (s.source, "missing" if s.silver_rows is None else s.silver_rows, s.loaded, s.skipped,
         s.rejected, s.rows_accepted, s.rows_quarantined)
        for s in statuses
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    )


def incidents_after(ctx: RunContext, as_of: date) -> int:
    """Incidents reported on or after the as-of date (local): a backfill's features leave them out."""
    from pyspark.sql import functions as F

    spark, lh = ctx.spark, ctx.lakehouse
    if not lh.exists(spark, "silver.incidents"):
        return 0
    late = F.to_date("reported_at") >= F.lit(as_of)
    return lh.read(spark, "silver.incidents").filter(late).count()


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
