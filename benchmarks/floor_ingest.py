"""The floor under `rural-risk ingest`: a bare Spark job that reads the same landing files and
writes each source as a Delta table, with no checks at all.

CSV sources with `spark.read.csv(header=True)` (every column a string, like bronze), JSON
Lines with `spark.read.json`; no lineage columns, no pseudonyms, no rules, no quarantine, no
MERGE, no Great Expectations. The session comes from the project's factory
(jobs.spark.build_spark), so Delta, the profile's Spark settings and the jar cache are the
same as the pipeline's. benchmarks/pipeline_scale.py runs it as the "floor" stage.

    .venv/bin/python benchmarks/floor_ingest.py --landing data/landing --out data/bench/floor
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("floor")


def landing_files(landing: Path, source: str, extensions: list[str]) -> list[str]:
    """The files `rural-risk ingest` would read for a source (same rule as list_files)."""
    folder = landing / source
    if not folder.is_dir():
        return []
    exts = tuple(f".{e.lower()}" for e in extensions)
    return [
        str(p.resolve()) for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name.lower().endswith(exts) and not p.name.startswith(".")
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--landing", required=True, help="landing zone folder")
    ap.add_argument("--out", required=True, help="folder or URI for the Delta tables (<out>/<source>)")
    ap.add_argument("--profile", default="local")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")

    from conf import load_settings, load_yaml
    from jobs.spark import build_spark

    landing = Path(args.landing)
    if not landing.is_dir():
        print(f"floor_ingest: landing folder {landing} does not exist", file=sys.stderr)
        return 2
    out = args.out if "://" in args.out else str(Path(args.out).resolve())
    if "://" not in out and Path(out).exists():
        shutil.rmtree(out)
    sources = load_yaml("ingest.yaml")["sources"]

    started = time.monotonic()
    spark = build_spark(load_settings(args.profile), app_name="rural-risk-floor")
    log.info("start Spark: done in %.1fs", time.monotonic() - started)
    from delta.tables import DeltaTable

    total = 0
    for source, spec in sources.items():
        t0 = time.monotonic()
        files = landing_files(landing, source, list(spec.get("extensions") or [spec["format"]]))
        if not files:
            log.info("floor %s: no files", source)
            continue
        if spec["format"] == "csv":
            df = spark.read.csv(files, header=True)
        else:
            df = spark.read.json(files)
        path = f"{out}/{source}"
        df.write.format("delta").mode("overwrite").save(path)
        metrics = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first()[0]
        rows = int(metrics.get("numOutputRows", 0))
        total += rows
        log.info("floor %s: done in %.1fs, %s rows, %d files", source, time.monotonic() - t0,
                 f"{rows:,}", len(files))
    spark.stop()
    log.info("floor: done in %.1fs, %s rows", time.monotonic() - started, f"{total:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
