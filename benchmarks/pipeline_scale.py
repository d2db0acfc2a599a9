"""Benchmark the whole pipeline stage by stage on a generated county, with two references.

    .venv/bin/python benchmarks/pipeline_scale.py --villages 250 --years 5
    make benchmark-pipeline VILLAGES=3000 YEARS=5

Generates the county (`rural-risk generate`), then runs every stage as its own `rural-risk`
process into a fresh lakehouse under --work (default data/bench/pipeline/<V>x<Y>): ingest,
features, backtest, train, score, allocate, report. Two references run in the same run:

- floor: benchmarks/floor_ingest.py, a bare Spark job (the project's session factory, so
  Delta and the profile's settings) reading the same landing files and writing each source
  as a Delta table, no checks; it runs before ingest;
- duckdb_features: benchmarks/duckdb_features.py, the features job's incident counts per
  village and period (trailing 1/3/6/12 periods) in DuckDB SQL over silver.incidents and
  silver.villages read with delta-rs; it runs after features. Its result is then compared
  with gold.village_features (not timed; the "check" field).

Each process tree (CLI, Spark JVM, Python workers) is sampled from /proc every 0.5 s
(benchmarks/proctree.py). One JSON line per run and stage is appended to --out:
run_id, villages, years, stage, wall_s, cpu_s, peak_rss_mib, rows (from the stage's
"done in ... N rows" progress lines: ROWS_FROM names the lines of each stage, e.g. the sum
over `ingest <source>`, the predictions of backtest, the panel rows of train; else the largest
count any of its lines reports; null when none does),
loadavg_before, loadavg_after ([1, 5, 15] minutes), git_commit, timestamp (UTC start), and
exit_code, profile, engine, cpus. Stage logs are kept in <work>/logs/. A table is printed at
the end; benchmarks/pipeline_table.py turns the JSON lines into docs/benchmarks.md's tables.

Run it alone on the machine (one Spark process at a time; it uses one Spark slot), e.g.
`spark-slot .venv/bin/python benchmarks/pipeline_scale.py ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from pipeline_table import run_table  # noqa: E402  (benchmarks/ is not a package)
from proctree import loadavg, run_sampled  # noqa: E402

DONE = re.compile(r": (?P<name>[^:\n][^\n]*?): done in [\d.]+s(?:, (?P<rows>[\d,]+) rows)?")
PIPELINE = ("ingest", "features", "backtest", "train", "score", "allocate", "report")


# The done lines whose rows a stage reports (names start with these; several are summed).
ROWS_FROM = {
    "generate": "generate ", "floor": "floor", "ingest": "ingest ",
    "features": "features: build ", "duckdb_features": "duckdb_features",
    "backtest": "backtest ", "train": "collect training panel", "score": "score with ",
    "allocate": "allocate patrols ", "report": "gather report tables",
}


def stage_rows(output: str, stage: str) -> int | None:
    """Rows from the stage's "done in ... N rows" lines named in ROWS_FROM (summed: every
    `ingest <source>`), else the largest count any of its done lines reports, else None."""
    found = [(m["name"], int(m["rows"].replace(",", ""))) for m in DONE.finditer(output) if m["rows"]]
    prefix = ROWS_FROM.get(stage)
    if stage == "floor":  # its own total line, not the per-source lines as well
        own = [n for name, n in found if name == "floor"]
    else:
        own = [n for name, n in found if prefix and name.startswith(prefix)]
    if own:
        return sum(own)
    return max((n for name, n in found if name != "start Spark"), default=None)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT,
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--villages", type=int, required=True)
    ap.add_argument("--years", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--engine", default="auto", choices=("auto", "local", "spark"),
                    help="generator engine (default: auto, Spark from 5,000 villages)")
    ap.add_argument("--profile", default="local", help="settings profile of every Spark stage")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pipeline_scale.jsonl")
    ap.add_argument("--work", type=Path, default=None,
                    help="work folder, emptied first (default: data/bench/pipeline/<V>x<Y>)")
    ap.add_argument("--clean", action="store_true", help="remove the work folder at the end")
    args = ap.parse_args(argv)

    work = (args.work or ROOT / "data" / "bench" / "pipeline" / f"{args.villages}x{args.years}").resolve()
    if work.exists():
        shutil.rmtree(work)
    landing, lakehouse, logs = work / "landing", work / "lakehouse", work / "logs"
    logs.mkdir(parents=True)
    run_id = f"bench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    cli = str(Path(sys.executable).parent / "rural-risk")
    py = sys.executable
    glob = ["--profile", args.profile, "--lakehouse", str(lakehouse), "--run-id", run_id]
    stages: list[tuple[str, list[str]]] = [
        ("generate", [cli, "--profile", args.profile, "--run-id", run_id, "generate",
                      "--out", str(landing), "--villages", str(args.villages),
                      "--years", str(args.years), "--seed", str(args.seed), "--engine", args.engine]),
        ("floor", [py, str(HERE / "floor_ingest.py"), "--landing", str(landing),
                   "--out", str(work / "floor"), "--profile", args.profile]),
        ("ingest", [cli, *glob, "ingest", "--landing", str(landing)]),
        ("features", [cli, *glob, "features"]),
        ("duckdb_features", [py, str(HERE / "duckdb_features.py"), "--lakehouse", str(lakehouse),
                             "--out", str(work / "duckdb_features.parquet")]),
        ("backtest", [cli, *glob, "backtest"]),
        ("train", [cli, *glob, "train"]),
        ("score", [cli, *glob, "score"]),
        ("allocate", [cli, *glob, "allocate"]),
        ("report", [cli, *glob, "report", "--out", str(work / "reports")]),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    commit = git_commit()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    failed: str | None = None
    print(f"pipeline_scale: run {run_id}, {args.villages} villages x {args.years} years, "
          f"profile {args.profile}, work {work}", file=sys.stderr)
    for stage, cmd in stages:
        print(f"pipeline_scale: {stage}: {' '.join(cmd)}", file=sys.stderr)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        before = loadavg()
        # The work folder is the working directory: Data Docs and the like land there,
        # not in the checkout.
        m = run_sampled(cmd, cwd=work, env=env, log=logs / f"{stage}.log")
        rec = {
            "run_id": run_id, "villages": args.villages, "years": args.years, "stage": stage,
            "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib,
            "rows": stage_rows(m.output, stage), "loadavg_before": before, "loadavg_after": loadavg(),
            "git_commit": commit, "timestamp": started, "exit_code": m.returncode,
            "profile": args.profile, "engine": args.engine, "cpus": os.cpu_count(),
        }
        if stage == "duckdb_features" and m.returncode == 0 and (lakehouse / "gold" / "village_features").is_dir():
            from duckdb_features import compare

            from conf import load_settings

            windows = [int(w) for w in load_settings("local").section("features")["windows"]]
            rec["check"] = compare(work / "duckdb_features.parquet", str(lakehouse), windows)
        records.append(rec)
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(f"pipeline_scale: {stage}: exit {m.returncode}, {m.wall_s} s wall, {m.cpu_s} s CPU, "
              f"{m.peak_rss_mib} MiB, rows {rec['rows']}", file=sys.stderr)
        if m.returncode != 0 and stage not in ("floor", "duckdb_features"):
            failed = stage  # later stages need this one's tables
            break
    print()
    print(run_table(records))
    print(f"\n{len(records)} lines appended to {args.out}")
    if failed:
        print(f"pipeline_scale: stage {failed} failed, see {logs / (failed + '.log')}", file=sys.stderr)
    elif args.clean:
        shutil.rmtree(work)
    return 1 if failed or any(r["exit_code"] for r in records) else 0


if __name__ == "__main__":
    raise SystemExit(main())
