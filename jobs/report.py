"""`rural-risk report`: the command-centre page of the run, reports/<run_id>/index.html, with
the risk list and the plan as CSV beside it; reports/latest links to the newest page."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from jobs.arguments import add_force, count
from jobs.context import RunContext

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
HELP = "write the command-centre report (map, ranked villages, patrol plan, model and data quality)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default=None, metavar="DIR",
        help=("reports folder (default: reports.dir of the settings); the page is DIR/<run_id>/index.html "
              "with risk_list.csv and patrol_plan.csv beside it, and DIR/latest links to it"),
    )
    parser.add_argument("--top", type=count(1), default=30, help="villages in the ranked table (flagged ones always)")
    add_force(parser)


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    path = report(ctx, out_dir=args.out, top_n=args.top, force=args.force)
    print(path)
    return 0


# Beside the page: what it was made from (jobs/reuse.py), written after the page.
INPUTS_FILE = "inputs.json"


def report(ctx: RunContext, out_dir: str | Path | None = None, top_n: int = 30,
           force: bool = False) -> Path:
    """Gather the tables, render the page and return its path. A page of this run id already
    made from the same table versions, settings and code is kept as it is (no Spark)."""
    from conf.language import language
    from jobs.reuse import MARK, decide, stage_inputs
    from report.data import TABLES, gather
    from report.render import publish_latest, write_report

    lang = language(ctx.settings)  # a wrong value stops here, before Spark starts
    folder = Path(out_dir or ctx.settings.get("reports.dir", "reports"))
    page, record_file = folder / ctx.run_id / "index.html", folder / ctx.run_id / INPUTS_FILE
    inputs = stage_inputs(ctx, "report", TABLES, top_n=top_n)
    if force:
        ctx.log.info("report: --force: rendering again (inputs %s)", inputs.described())
    elif page.is_file() and record_file.is_file():
        try:
            record = json.loads(record_file.read_text(encoding="utf-8")).get(MARK, {})
        except ValueError:
            record = {}
        if decide(ctx, inputs, [record], [str(page)]) is not None:
            publish_latest(folder, ctx.run_id)
            return page
    record_file.unlink(missing_ok=True)  # a page being rewritten has no valid record
    with ctx.stage("gather report tables") as st:
        mconf = ctx.settings.section("models")
        data = gather(ctx.spark, ctx.lakehouse, grain=str(ctx.settings.get("period", "month")),
                      flag_share=float(mconf["scoring"]["flag_share"]),
                      recent_periods=int(mconf["selection"]["recent_periods"]))
        st.done(rows=len(data.risk), detail=(
            f"period {data.period_start}; missing: {', '.join(data.missing)}" if data.missing
            else f"period {data.period_start}; every table present"
        ))
    with ctx.stage("render report") as st:
        path = write_report(data, ctx.run_id, folder, top_n=top_n, language=lang)
        partial = record_file.with_suffix(".partial")
        partial.write_text(json.dumps({MARK: inputs.record(ctx.run_id)}, indent=1, default=str), encoding="utf-8")
        os.replace(partial, record_file)
        st.done(detail=f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
    return path
