"""`rural-risk pipeline`: every stage in order in one Spark session, then the planner's summary."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.arguments import add_as_of, count
from jobs.context import RunContext
from store import catalog

# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "run ingest, features, train, promote, score, allocate and report in order"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landing", required=True, metavar="DIR", help="landing zone folder")
    add_as_of(parser, "every stage takes this date: risk and the plan are for the next period")
    parser.add_argument(
        "--skip-train", action="store_true",
        help="score with the promoted champion instead of backtesting, training and promoting again",
    )
    parser.add_argument("--top", type=count(1), default=10, help="flagged villages to print at the end")


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from jobs.allocate import allocate
    from jobs.features import build_features
    from jobs.ingest import ingest
    from jobs.promote import promote
    from jobs.report import report
    from jobs.score import score
    from jobs.train import train

    landing = Path(args.landing)
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist or is not a folder")
    summary = ingest(ctx, str(landing))
    build_features(ctx, as_of=args.as_of)
    if not args.skip_train:
        train(ctx, as_of=args.as_of)
        print(promote(ctx, as_of=args.as_of))
    score(ctx, as_of=args.as_of)
    allocate(ctx, as_of=args.as_of)
    path = report(ctx)
    print_summary(ctx, top=args.top, report_path=str(path))
    failed = getattr(summary, "failed_sources", None) or []
    return 1 if failed else 0


def print_summary(ctx: RunContext, top: int, report_path: str) -> None:
    """The planner's view in plain words: the top flagged villages and where the report is."""
    from pyspark.sql import functions as F

    risk = ctx.lakehouse.read(ctx.spark, catalog.VILLAGE_RISK)
    latest = risk.agg(F.max("period_start").alias("p")).first()["p"]
    rows = (
        risk.filter((F.col("period_start") == F.lit(latest)) & F.col("flagged"))
        .orderBy("rank")
        .limit(top)
        .collect()
    )
    print()
    print(f"Villages flagged as high risk for the period starting {latest} (top {len(rows)}):")
    for r in rows:
        reasons = "; ".join(r["reasons"] or []) or "no single driver stands out"
        print(
            f"{r['rank']:>4}. {r['village_name']} ({r['township_name']}) "
            f"- {r['probability']:.0%} chance of being among the highest-risk villages; {reasons}"
        )
    print(f"\nReport: {report_path}")
