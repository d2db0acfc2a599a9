"""`rural-risk report`: the command-centre page of the run, reports/<run_id>/index.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.context import RunContext

HELP = "write the command-centre report (map, ranked villages, patrol plan, model and data quality)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default=None, metavar="DIR",
        help="reports folder (default: reports.dir of the settings); the page is DIR/<run_id>/index.html",
    )
    parser.add_argument("--top", type=int, default=30, help="villages in the ranked table (flagged ones always)")


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    path = report(ctx, out_dir=args.out, top_n=args.top)
    print(path)
    return 0


def report(ctx: RunContext, out_dir: str | Path | None = None, top_n: int = 30) -> Path:
    """Gather the tables, render the page and return its path."""
    from models.report.data import gather
    from models.report.render import write_report

    folder = Path(out_dir or ctx.settings.get("reports.dir", "reports"))
    with ctx.stage("gather report tables") as st:
        data = gather(ctx.spark, ctx.lakehouse)
        st.done(rows=len(data.risk), detail=(
            f"period {data.period_start}; missing: {', '.join(data.missing)}" if data.missing
            else f"period {data.period_start}; every table present"
        ))
    with ctx.stage("render report") as st:
        path = write_report(data, ctx.run_id, folder, top_n=top_n)
        st.done(detail=f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
    return path
