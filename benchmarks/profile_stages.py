"""Where a stage's time goes: Spark jobs, Spark stages, tasks and Delta commits per stage.

Runs `rural-risk ingest` (one source at a time, each its own stage) and `rural-risk features`
on a landing folder with Spark's event log switched on (RURAL_RISK_SPARK_CONF), then reads
the event log: every Spark job carries the project stage that ran it (the local property
`rural_risk.stage`, set by RunContext.stage). Delta commits per stage are counted from the
commit files the lakehouse gained while it ran.

    .venv/bin/python benchmarks/profile_stages.py --landing data/landing --out benchmarks/results/profile_stages.json

Prints a table: per stage, wall time (from the stage's log line), Spark jobs, Spark stages,
tasks, time inside Spark jobs, the rest (planning, Delta log work, Python on the driver),
and Delta commits; writes the same as JSON with the load average before and after.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("villages", "population", "incidents", "patrols", "organizations", "resources", "survey")
DONE = re.compile(r"rural-risk: (?P<stage>.+?): done in (?P<secs>[0-9.]+)s")


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def commits(lakehouse: Path) -> dict[str, int]:
    """Delta commit files per table under the lakehouse."""
    out = {}
    for log in lakehouse.glob("*/*/_delta_log"):
        out[f"{log.parent.parent.name}.{log.parent.name}"] = len(list(log.glob("*.json")))
    return out


def read_events(folder: Path) -> list[dict]:
    """Events of the newest application in an event-log folder (written uncompressed)."""
    apps = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    if not apps:
        raise SystemExit(f"no Spark event log under {folder}")
    app = apps[-1]
    parts = sorted(app.glob("events_*")) if app.is_dir() else [app]
    events = []
    for part in parts:
        text = part.read_text(encoding="utf-8")
        events += [json.loads(line) for line in text.splitlines() if line.strip()]
    return events


def job_table(events: list[dict]) -> dict[str, dict[str, float]]:
    """Per project stage: Spark jobs, Spark stages, tasks and seconds inside jobs."""
    start: dict[int, tuple[str, int]] = {}
    per: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "spark_stages": 0, "tasks": 0, "job_s": 0.0})
    for e in events:
        if e["Event"] == "SparkListenerJobStart":
            stage = (e.get("Properties") or {}).get("rural_risk.stage") or "(outside a stage)"
            start[e["Job ID"]] = (stage, e["Submission Time"])
            row = per[stage]
            row["jobs"] += 1
            row["spark_stages"] += len(e["Stage IDs"])
            row["tasks"] += sum(s["Number of Tasks"] for s in e["Stage Infos"])
        elif e["Event"] == "SparkListenerJobEnd" and e["Job ID"] in start:
            stage, t0 = start[e["Job ID"]]
            per[stage]["job_s"] += (e["Completion Time"] - t0) / 1000
    return per


def run_stage(cli: list[str], env: dict[str, str], lakehouse: Path, log: io.TextIOBase) -> tuple[float, dict[str, int], str]:
    before = commits(lakehouse)
    t0 = time.monotonic()
    proc = subprocess.run(cli, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - t0
    log.write(proc.stdout)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cli)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    after = commits(lakehouse)
    return wall, {t: n - before.get(t, 0) for t, n in after.items() if n - before.get(t, 0)}, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--landing", required=True, help="landing folder (e.g. from rural-risk generate)")
    ap.add_argument("--lakehouse", default=None, help="lakehouse to write (default: a new temp folder)")
    ap.add_argument("--profile", default="local")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "profile_stages.json"))
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rural-risk-profile-"))
    lakehouse = Path(args.lakehouse) if args.lakehouse else work / "lakehouse"
    if lakehouse.exists():
        shutil.rmtree(lakehouse)
    cli = [str(Path(sys.executable).parent / "rural-risk"), "--profile", args.profile,
           "--lakehouse", str(lakehouse), "--run-id", "profile"]
    runs = [(f"ingest {s}", [*cli, "ingest", "--landing", args.landing, "--source", s]) for s in SOURCES]
    runs.append(("features", [*cli, "features"]))
    result = {"landing": args.landing, "loadavg_before": loadavg(), "commands": []}
    log = (work / "profile.log").open("w", encoding="utf-8")
    for label, cmd in runs:
        events_dir = work / "events" / label.replace(" ", "_")
        events_dir.mkdir(parents=True)
        env = {**os.environ, "RURAL_RISK_SPARK_CONF":
               f"spark.eventLog.enabled=true,spark.eventLog.compress=false,spark.eventLog.dir=file://{events_dir}"}
        env.setdefault("RURAL_RISK_PSEUDONYM_KEY", "profile-run-key-for-synthetic-data-only")
        wall, delta, out = run_stage(cmd, env, lakehouse, log)
        stage_secs = {m["stage"]: float(m["secs"]) for m in DONE.finditer(out)}
        jobs = job_table(read_events(events_dir))
        stages = []
        for name, secs in stage_secs.items():
            j = jobs.get(name, {"jobs": 0, "spark_stages": 0, "tasks": 0, "job_s": 0.0})
            stages.append({"stage": name, "wall_s": secs, **j, "job_s": round(j["job_s"], 1),
                           "outside_jobs_s": round(secs - j["job_s"], 1)})
        result["commands"].append({"command": label, "process_wall_s": round(wall, 1),
                                   "delta_commits": delta, "stages": stages})
        print(f"{label}: {wall:.1f}s, {sum(delta.values())} Delta commits", flush=True)
    result["loadavg_after"] = loadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print()
    print("| command | stage | wall s | Spark jobs | Spark stages | tasks | in jobs s | outside jobs s | Delta commits |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in result["commands"]:
        for i, s in enumerate(c["stages"]):
            n = sum(c["delta_commits"].values()) if s["stage"] == c["command"] else ""
            print(f"| {c['command'] if i == 0 else ''} | {s['stage']} | {s['wall_s']:.1f} | {s['jobs']} | "
                  f"{s['spark_stages']} | {s['tasks']} | {s['job_s']:.1f} | {s['outside_jobs_s']:.1f} | {n} |")
    print(f"\nload average before {result['loadavg_before']}, after {result['loadavg_after']}; log {log.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
