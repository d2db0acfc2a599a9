"""`rural-risk generate`: write a synthetic county's landing zone and its `_truth/`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from jobs.arguments import count, iso_date
from jobs.context import RunContext

HELP = "generate a synthetic county: all seven landing sources plus _truth/ (deterministic for a seed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="landing folder to create")
    parser.add_argument("--villages", type=count(1), required=True, metavar="N", help="number of villages")
    parser.add_argument("--years", type=count(1), required=True, metavar="Y", help="simulated years")
    parser.add_argument("--seed", type=int, default=42, metavar="S", help="random seed (default 42)")
    parser.add_argument("--start", type=iso_date, default=None, metavar="YYYY-MM-DD",
                        help="first simulated month (default from conf/generator.yaml: 2021-01-01)")
    parser.add_argument("--dirty-rate", type=float, default=None, metavar="R",
                        help="share of dirty rows per source file (default from conf/generator.yaml)")
    parser.add_argument("--gb18030", default=None, metavar="SOURCE[,SOURCE]",
                        help="CSV sources to write in GB18030 instead of UTF-8")
    parser.add_argument("--engine", choices=("auto", "local", "spark"), default="auto",
                        help="auto: in-process below the configured village count, Spark above")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier generator output in --out")


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from synthetic import code_labels, load_params
    from synthetic.county import Request, check_request, generate

    params = load_params(ctx.settings.section("generator"))
    d = params["defaults"]
    gb = args.gb18030 if args.gb18030 is not None else ",".join(d.get("gb18030") or [])
    req = check_request(Request(
        out=Path(args.out), villages=args.villages, years=args.years, seed=args.seed,
        start=args.start or date.fromisoformat(str(d["start"])),
        dirty_rate=float(d["dirty_rate"] if args.dirty_rate is None else args.dirty_rate),
        gb18030=tuple(s.strip() for s in gb.split(",") if s.strip()),
    ))
    engine = args.engine
    if engine == "auto":
        engine = "spark" if req.villages >= int(params["engine"]["spark_min_villages"]) else "local"
    with ctx.stage(f"generate {req.villages} villages x {req.years} years ({engine})") as st:
        spark = ctx.spark if engine == "spark" else None
        summary = generate(req, params, code_labels(), overwrite=args.overwrite, spark=spark)
        st.done(rows=sum(summary["landing_lines"].values()),
                detail=f"{summary['dirty_rows']} dirty rows, landing in {req.out}")
    return 0
