"""Phase times of an Airflow end-to-end run (tests/airflow/test_dags_e2e.py) from its logs.

    .venv/bin/python benchmarks/e2e_phases.py /tmp/pytest-of-root/pytest-N/airflow-e2e0

The test keeps the output of every `airflow dags test` in its work folder (pipeline-1.log,
training.log, pipeline-2.log, pipeline-3.log). Each phase's time runs from the first to the
last timestamped line of its log; spark-submits are the "Spark-Submit cmd" lines. Prints a
Markdown table (docs/benchmarks.md, "Airflow end to end") with the load average now.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

PHASES = (
    ("pipeline-1.log", "pipeline, first run (ingest, validate, features; score/allocate/report marked success)"),
    ("training.log", "training DAG (backtest, train, promote)"),
    ("pipeline-2.log", "pipeline, full run of the same interval"),
    ("pipeline-3.log", "pipeline, the same interval again (must change nothing)"),
)
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z", re.M)
SUBMIT = "Spark-Submit cmd"


def phase(log: Path) -> tuple[float, int]:
    """(minutes from the first to the last timestamp, spark-submits) of one log."""
    text = log.read_text(encoding="utf-8", errors="replace")
    stamps = [datetime.fromisoformat(s) for s in STAMP.findall(text)]
    if not stamps:
        raise ValueError(f"{log}: no timestamped line (is it an `airflow dags test` log?)")
    return (max(stamps) - min(stamps)).total_seconds() / 60, text.count(SUBMIT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the test's work folder (holds pipeline-1.log ...)")
    args = parser.parse_args(argv)
    rows, total_min, total_submits = [], 0.0, 0
    for name, label in PHASES:
        log = args.work / name
        if not log.is_file():
            print(f"{log} is missing: the test stopped before this phase", file=sys.stderr)
            return 2
        minutes, submits = phase(log)
        total_min += minutes
        total_submits += submits
        rows.append(f"| {label} | {submits} | {minutes:.1f} min |")
    print("| phase | spark-submits | time |\n|---|---|---|")
    print("\n".join(rows))
    print(f"| **the four DAG runs** | {total_submits} | **{total_min:.1f} min** |")
    print(f"\nload average at the end: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
