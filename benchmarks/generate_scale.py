"""Benchmark `rural-risk generate`: wall time, CPU time and peak memory of the whole process tree
(driver, Spark JVM and Python workers), sampled from /proc every half second.

    .venv/bin/python benchmarks/generate_scale.py --villages 5000 --years 5
    .venv/bin/python benchmarks/generate_scale.py --villages 250 --years 5 --engine local

Prints one JSON line and appends it to benchmarks/out/generate_scale.jsonl; the table in
docs/benchmarks.md ("## Generator") is written from those lines by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from proctree import children as _children  # noqa: E402  (benchmarks/ is not a package)
from proctree import cpu_ticks as _cpu_ticks  # noqa: E402
from proctree import rss_kb as _rss_kb  # noqa: E402


def _du(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--villages", type=int, default=5000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--engine", default="auto", choices=("auto", "local", "spark"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "generate"))
    ap.add_argument("--keep", action="store_true", help="keep the generated landing folder")
    args = ap.parse_args()

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    cli = str(Path(sys.executable).parent / "rural-risk")
    cmd = [cli, "generate", "--out", str(out), "--villages", str(args.villages), "--years", str(args.years),
           "--seed", str(args.seed), "--engine", args.engine]
    peak = {"kb": 0}
    ticks: dict[int, int] = {}
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids = _children(proc.pid)
            peak["kb"] = max(peak["kb"], _rss_kb(pids))
            _cpu_ticks(pids, ticks)
            done.wait(0.5)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    rc = proc.wait()
    wall = time.monotonic() - start
    done.set()
    t.join()
    files, size = _du(out) if out.exists() else (0, 0)
    summary = json.loads((out / "_truth" / "summary.json").read_text()) if rc == 0 else {}
    result = {
        "villages": args.villages, "years": args.years, "engine": args.engine, "exit_code": rc,
        "wall_seconds": round(wall, 1), "cpu_seconds_tree": round(sum(ticks.values()) / os.sysconf("SC_CLK_TCK"), 1),
        "peak_rss_tree_mib": round(peak["kb"] / 1024), "files": files, "bytes": size,
        "landing_lines": summary.get("landing_lines"), "dirty_rows": summary.get("dirty_rows"),
        "shards": summary.get("shards"), "cpus": os.cpu_count(), "python": platform.python_version(),
    }
    line = json.dumps(result)
    print(line)
    log = ROOT / "benchmarks" / "out" / "generate_scale.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    if not args.keep and out.exists():
        shutil.rmtree(out)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
