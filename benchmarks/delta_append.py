"""What one small Delta commit costs: N appends of a 5-row frame to a new table, one session.

Times each append (the first creates the table) and counts the Spark jobs it ran (a job group
per append), then one count() of the table. One JSON line per run goes to
benchmarks/results/delta_append.jsonl with the load average; `KEY=VALUE` arguments are Spark
settings added to the profile's for an A/B.

    .venv/bin/python benchmarks/delta_append.py [--profile test] [--appends 10] [KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "delta_append.jsonl"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="test")
    ap.add_argument("--appends", type=int, default=10)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("settings", nargs="*", metavar="KEY=VALUE", help="extra Spark settings")
    args = ap.parse_args(argv)
    extra = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"expected KEY=VALUE, got '{item}'")
        extra[key] = value

    from conf import load_settings
    from jobs.spark import build_spark

    settings = load_settings(args.profile)
    settings.data.setdefault("spark", {}).setdefault("conf", {}).update(extra)
    load_before = [round(x, 2) for x in os.getloadavg()]
    spark = build_spark(settings)
    sc = spark.sparkContext
    folder = Path(tempfile.mkdtemp(prefix="delta-append-"))
    path = str(folder / "t")
    rows = [(i, f"v{i}", float(i)) for i in range(5)]
    appends: list[dict[str, float | int]] = []
    try:
        for i in range(args.appends):
            group = f"append-{i}"
            sc.setJobGroup(group, "one small append")
            start = time.perf_counter()
            spark.createDataFrame(rows, "a long, b string, c double").write.format("delta").mode(
                "append").save(path)
            appends.append({"s": round(time.perf_counter() - start, 3),
                            "jobs": len(sc.statusTracker().getJobIdsForGroup(group))})
        sc.setJobGroup("read", "count")
        start = time.perf_counter()
        count = spark.read.format("delta").load(path).count()
        read_s = time.perf_counter() - start
        read_jobs = len(sc.statusTracker().getJobIdsForGroup("read"))
    finally:
        spark.stop()
        shutil.rmtree(folder, ignore_errors=True)
    later = [a["s"] for a in appends[1:]]
    record = {
        "run_id": f"delta-append-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}", "profile": args.profile,
        "extra": extra, "appends": appends, "first_s": appends[0]["s"],
        "later_median_s": round(statistics.median(later), 3) if later else None,
        "rows": count, "read_count_s": round(read_s, 3), "read_jobs": read_jobs,
        "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    with open(args.out, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
