"""Spark settings A against B on one stage: wall and CPU of the whole process tree, per run.

    .venv/bin/python benchmarks/spark_settings_ab.py --stage features --runs 3 \\
        --variant "codegen:spark.sql.codegen.wholeStage=true,spark.sql.codegen.factoryMode=FALLBACK" \\
        --variant "interpreted:spark.sql.codegen.wholeStage=false,spark.sql.codegen.factoryMode=NO_CODEGEN"

A variant is NAME:SETTINGS, the settings as RURAL_RISK_SPARK_CONF takes them (key=value,...;
conf/__init__.py), laid over the profile; "NAME:" is the profile as it stands. An item
env.VAR=value sets an environment variable of the run instead (e.g. "nocds:env.RURAL_RISK_CLASS_ARCHIVE=0").

Prepared once under --work (emptied first): the county from `rural-risk generate`, and for
--stage features a lakehouse ingested with the profile as it stands (the template). Then
each round runs every variant once, the order rotated each round (no variant always
first): --stage ingest loads the landing zone into an empty lakehouse, --stage features
builds every period from a fresh copy of the template (a full rebuild). Each run is its own
`rural-risk` process, sampled from /proc (benchmarks/proctree.py: CLI, Spark JVM and Python
workers). One JSON line per run is appended to --out (stage, variant, settings, round,
wall_s, cpu_s, peak_rss_mib, loadavg_before/after, git_commit); the table printed at the end
gives each variant's median and its ratio to the first variant's median (same run).

Run it alone on the machine (it holds one Spark process at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from pipeline_scale import git_commit  # noqa: E402  (benchmarks/ is not a package)
from proctree import loadavg, run_sampled  # noqa: E402


def parse_variant(text: str) -> tuple[str, str]:
    name, sep, settings = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--variant '{text}': expected NAME:key=value,... (or NAME:)")
    return name.strip(), settings.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=("ingest", "features"), required=True)
    ap.add_argument("--variant", type=parse_variant, action="append", required=True,
                    help="NAME:SETTINGS (repeat; the first is the reference of the ratios)")
    ap.add_argument("--runs", type=int, default=3, help="rounds (each runs every variant once)")
    ap.add_argument("--villages", type=int, default=12)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", default="test")
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "bench" / "spark_settings_ab")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "spark_settings_ab.jsonl")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if len({n for n, _ in args.variant}) != len(args.variant):
        ap.error("variant names must differ")

    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    logs = work / "logs"
    logs.mkdir(parents=True)
    cli = str(Path(sys.executable).parent / "rural-risk")
    base_env = {k: v for k, v in os.environ.items() if k != "RURAL_RISK_SPARK_CONF"}
    base_env.setdefault("RURAL_RISK_PSEUDONYM_KEY", "benchmark-key-synthetic-data-only")
    base_env["PYTHONUNBUFFERED"] = "1"
    landing, template = work / "landing", work / "template"

    def rr(lakehouse: Path, *cmd: str, env: dict[str, str], log: Path):
        return run_sampled([cli, "--profile", args.profile, "--lakehouse", str(lakehouse), *cmd],
                           cwd=work, env=env, log=log, echo=False)

    m = run_sampled([cli, "generate", "--out", str(landing), "--villages", str(args.villages),
                     "--years", str(args.years), "--seed", str(args.seed), "--engine", "local"],
                    cwd=work, env=base_env, log=logs / "generate.log", echo=False)
    if m.returncode:
        sys.exit(f"spark_settings_ab: generate failed, see {logs / 'generate.log'}")
    if args.stage == "features":
        m = rr(template, "ingest", "--landing", str(landing), env=base_env, log=logs / "template-ingest.log")
        if m.returncode:
            sys.exit(f"spark_settings_ab: ingest of the template failed, see {logs / 'template-ingest.log'}")
        print(f"spark_settings_ab: template lakehouse ingested in {m.wall_s} s", file=sys.stderr)

    commit = git_commit()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    for rnd in range(args.runs):
        order = args.variant[rnd % len(args.variant):] + args.variant[:rnd % len(args.variant)]
        for name, settings in order:
            lakehouse = work / f"lakehouse-{name}-{rnd}"
            if args.stage == "features":
                shutil.copytree(template, lakehouse)
                cmd = ["features"]
            else:
                cmd = ["ingest", "--landing", str(landing)]
            env = dict(base_env)
            spark_items = []
            for item in filter(None, (i.strip() for i in settings.split(","))):
                var, sep, value = item.partition("=")
                if var.startswith("env.") and sep:
                    env[var.removeprefix("env.")] = value
                else:
                    spark_items.append(item)
            if spark_items:
                env["RURAL_RISK_SPARK_CONF"] = ",".join(spark_items)
            before, started = loadavg(), datetime.now(UTC).isoformat(timespec="seconds")
            log = logs / f"{args.stage}-{name}-{rnd}.log"
            m = rr(lakehouse, *cmd, env=env, log=log)
            rec = {"stage": args.stage, "variant": name, "settings": settings, "round": rnd,
                   "villages": args.villages, "years": args.years, "profile": args.profile,
                   "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib,
                   "exit_code": m.returncode, "loadavg_before": before, "loadavg_after": loadavg(),
                   "git_commit": commit, "timestamp": started, "cpus": os.cpu_count()}
            records.append(rec)
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"spark_settings_ab: round {rnd} {name}: exit {m.returncode}, {m.wall_s} s wall, "
                  f"{m.cpu_s} s CPU, load {before[0]} -> {rec['loadavg_after'][0]}", file=sys.stderr)
            shutil.rmtree(lakehouse, ignore_errors=True)
            if m.returncode:
                sys.exit(f"spark_settings_ab: {args.stage} with {name} failed, see {log}")

    ref = args.variant[0][0]
    med = {n: (statistics.median(r["wall_s"] for r in records if r["variant"] == n),
               statistics.median(r["cpu_s"] for r in records if r["variant"] == n)) for n, _ in args.variant}
    print(f"\n{args.stage}, {args.villages} villages x {args.years} years, profile {args.profile}, "
          f"{args.runs} runs per variant (medians; ratios to {ref} in the same run)\n")
    print("| variant | wall s | CPU s | wall ratio | CPU ratio |\n|---|---|---|---|---|")
    for n, _ in args.variant:
        w, c = med[n]
        print(f"| {n} | {w:.1f} | {c:.1f} | {w / med[ref][0]:.2f} | {c / med[ref][1]:.2f} |")
    loads = [r["loadavg_before"][0] for r in records] + [r["loadavg_after"][0] for r in records]
    print(f"\nload average (1 min) during the runs: {min(loads)}-{max(loads)}; {len(records)} lines -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
