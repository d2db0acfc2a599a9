"""`rural-risk sql`: run one SQL query over the lakehouse tables (layer.table names)."""

from __future__ import annotations

import argparse
import json
import sys

from jobs.context import RunContext

HELP = "run a SQL query over the lakehouse, e.g. \"SELECT * FROM gold.village_risk\""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="one Spark SQL statement; tables are named layer.table")
    parser.add_argument("--limit", type=int, default=50, help="rows to show (default 50; 0 = all)")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from pyspark.errors import AnalysisException, ParseException

    spark = ctx.spark
    ctx.register_tables()
    try:
        df = spark.sql(args.query)
        pdf = (df.limit(args.limit) if args.limit > 0 else df).toPandas()
    except ParseException as exc:
        raise ValueError(f"SQL does not parse: {_first_line(exc)}") from None
    except AnalysisException as exc:
        known = ", ".join(ctx.lakehouse.existing_tables(spark)) or "none yet"
        raise ValueError(f"{_first_line(exc)} (tables: {known})") from None
    if args.format == "csv":
        pdf.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        for rec in pdf.to_dict(orient="records"):
            print(json.dumps(rec, default=str, ensure_ascii=False))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200):
            print(pdf.to_string(index=False) if len(pdf) else "(no rows)")
    return 0


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else exc.__class__.__name__
