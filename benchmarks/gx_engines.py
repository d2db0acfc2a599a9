"""Great Expectations on Spark against GX on pandas, on the same typed batches, in one session.

Generates a county (`rural-risk generate`, default the 12-village, 2-year test county),
loads its villages into a temporary lakehouse (no GX), then builds every source's typed,
checked batch as ingest does (features/landing/batch.py: parse, bronze, row checks, cached)
and validates it with features/quality.py's Validator on each engine, the engine order
rotated every round. Each validation is timed: wall, CPU of this Python process and of the
Spark JVM (from /proc), and the unexpected counts of both engines are compared (they must be
equal). One JSON line per validation goes to benchmarks/results/gx_engines.jsonl with the
load average; the table printed at the end gives medians per source and engine.

    .venv/bin/python benchmarks/gx_engines.py [--rounds 3] [--villages 12 --years 2 --seed 7]

Run it alone on the machine (one Spark session).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "gx_engines.jsonl"
ENGINES = {"spark": 0, "pandas": 10**9}  # pandas_max_rows that picks each engine


def _jvm_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _git() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
                         capture_output=True, text=True)
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--villages", type=int, default=12)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", default="test")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    from conf import load_settings, load_yaml
    from features.landing import batch as B
    from features.landing import tables
    from features.landing.reading import list_files
    from features.quality import Validator, agreement
    from jobs.context import RunContext
    from jobs.ingest import SourceLoader, ingest, load_specs
    from jobs.spark import build_spark
    from store.lakehouse import Lakehouse

    os.environ.setdefault("RURAL_RISK_PSEUDONYM_KEY", "benchmark-key-synthetic-data-only")
    work = Path(tempfile.mkdtemp(prefix="gx-engines-"))
    landing = work / "landing"
    cli = Path(sys.executable).parent / "rural-risk"
    subprocess.run([str(cli), "generate", "--out", str(landing), "--villages", str(args.villages),
                    "--years", str(args.years), "--seed", str(args.seed), "--engine", "local"],
                   check=True, capture_output=True)
    settings = load_settings(args.profile)
    spark = build_spark(settings, app_name="gx-engines")
    jvm_pid = int(spark._jvm.java.lang.ProcessHandle.current().pid())  # noqa: SLF001
    ctx = RunContext(settings=settings, lakehouse=Lakehouse(str(work / "lakehouse")),
                     run_id="gx-engines").attach(spark)
    now = datetime.now(UTC)
    ingest(ctx, landing, sources=["villages"], ingest_time=now, great_expectations=False)
    conf = ctx.settings.section("ingest")
    specs, codes = load_specs(), load_yaml("codes.yaml")
    loader = SourceLoader(ctx, conf, now, use_gx=False)
    mostly = 1.0 - float(conf["batch_failure"]["max_bad_share"])
    villages = ctx.lakehouse.read(spark, "silver.villages")
    batches = {}
    for source in conf["sources"]:
        spec = specs[source]
        files = list_files(landing, source, conf["sources"][source].get("extensions", ["csv"]))
        opts = loader._options(source, spec)  # noqa: SLF001 - the ingest's own read options
        enc = str((conf.get("encoding") or {}).get(source, "utf-8"))
        parsed = B.parse_files(spark, files, enc, opts).persist()
        stats = B.parse_stats(parsed)
        bronze = B.to_bronze(parsed, opts, tables.bronze_schema(opts.fields, list(opts.personal)),
                             ctx.run_id, now)
        checked, checks = B.check_rows(bronze, spec, codes, conf["bounding_box"], villages,
                                       float(conf["snap_distance_km"]), now, list(opts.personal))
        checked = checked.persist()
        rows = sum(s["rows_read"] for s in stats.values())
        batches[source] = (spec, checked, checks, rows)
    load_before = [round(x, 2) for x in os.getloadavg()]
    records = []
    names = list(ENGINES)
    for rnd in range(args.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for source, (spec, checked, checks, rows) in batches.items():
            results = {}
            for engine in order:
                validator = Validator(None, ENGINES[engine])
                py0, jvm0, t0 = time.process_time(), _jvm_cpu(jvm_pid), time.perf_counter()
                result = validator.validate(checked, spec, checks, codes, conf["bounding_box"], mostly,
                                            run_name=f"round-{rnd}", rows=rows)
                wall = time.perf_counter() - t0
                cpu = time.process_time() - py0 + _jvm_cpu(jvm_pid) - jvm0
                results[engine] = result
                records.append({"source": source, "engine": engine, "round": rnd, "rows": rows,
                                "expectations": result.evaluated, "wall_s": round(wall, 3),
                                "cpu_s": round(cpu, 3)})
                print(f"gx_engines: round {rnd} {source} ({rows} rows) {engine}: {wall:.2f} s wall, "
                      f"{cpu:.2f} s CPU", flush=True)
            same = agreement(results["spark"], results["pandas"].unexpected)
            if same or results["spark"].failed != results["pandas"].failed:
                raise SystemExit(f"{source}: the engines disagree: {same or 'verdicts differ'}")
    load_after = [round(x, 2) for x in os.getloadavg()]
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)
    meta = {"villages": args.villages, "years": args.years, "seed": args.seed, "profile": args.profile,
            "loadavg_before": load_before, "loadavg_after": load_after, "git_commit": _git(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count()}
    with open(args.out, "a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({**rec, **meta}) + "\n")
    print(f"\n{args.villages} villages x {args.years} years, profile {args.profile}, {args.rounds} rounds, "
          f"load {load_before[0]} -> {load_after[0]}; medians\n")
    print("| source | rows | expectations | Spark wall s | pandas wall s | Spark CPU s | pandas CPU s |")
    print("|---|---|---|---|---|---|---|")
    tot = {e: [0.0, 0.0] for e in names}
    for source in batches:
        med = {}
        for engine in names:
            mine = [r for r in records if r["source"] == source and r["engine"] == engine]
            med[engine] = (statistics.median(r["wall_s"] for r in mine), statistics.median(r["cpu_s"] for r in mine))
            tot[engine][0] += med[engine][0]
            tot[engine][1] += med[engine][1]
        first = next(r for r in records if r["source"] == source)
        print(f"| {source} | {first['rows']:,} | {first['expectations']} | {med['spark'][0]:.2f} | "
              f"{med['pandas'][0]:.2f} | {med['spark'][1]:.2f} | {med['pandas'][1]:.2f} |")
    print(f"| all sources | | | {tot['spark'][0]:.2f} | {tot['pandas'][0]:.2f} | {tot['spark'][1]:.2f} | "
          f"{tot['pandas'][1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
