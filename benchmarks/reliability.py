"""Crash safety, measured: kill `rural-risk ingest`, `features` or `score` with SIGKILL at a
random point, rerun it to completion, and check that nothing was lost, doubled or left
half-written (docs/reliability.md).

    spark-slot .venv/bin/python benchmarks/reliability.py --trials 20 --seed 1

Once, before the trials, a small county is generated with dirty rows (`rural-risk generate
--dirty-rate`) and run without kills through ingest, features, train, promote and score, each
a command of its own. Its lakehouse after each stage is the reference: a trial of stage S
starts from a copy of the lakehouse as it was before S (the champion is already there, so
score can run), starts S as a subprocess in its own process group, kills the whole process
tree (driver, Spark JVM, Python workers) after a delay, reruns S to completion and compares
every table S writes with the reference after S. The delays are spread over the stage's
reference run time: trial k of a stage's n trials is killed at (k + u) / n of it, u drawn from
a generator seeded with --seed and the trial number.

A trial passes when, after the rerun:
- every table of the lakehouse reads with delta-rs (`DeltaTable(path).to_pandas()`), so no
  commit points at a missing or half-written file;
- every table the stage writes holds the reference's rows, each as often as there, ignoring
  run ids and clock times: `rows lost` counts reference rows missing, `duplicates` rows beyond
  the reference (bronze, silver, quarantine, manifest, gold); ops.changed_periods may hold
  extra rows of the killed run (they only cause a recompute) and is compared as a set;
- the manifest (ops.ingest_log) holds each landing file once with its SHA-256, and per loaded
  file rows_read = rows_accepted + rows_quarantined + rows_duplicate, its quarantined count
  is its rows in ops.quarantine and its read count its rows in bronze;
- each dirty row of the generator's truth (`_truth/dirty_rows.csv`) with a reason is in
  ops.quarantine once;
- the rerun did not wait for the write lock the killed process held (the lock file still
  names the dead process; the OS released its lock).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from proctree import children  # noqa: E402 - benchmarks/ is not a package

CLI = Path(sys.executable).parent / "rural-risk"
PROFILE = "test"
KEY = "reliability-benchmark-key-not-a-secret-000001"
STAGES = ("ingest", "features", "score")
SOURCES = ("villages", "population", "incidents", "patrols", "organizations", "resources", "survey")
# What each stage writes: table folders <layer>/<table> (a trailing / means every table of it).
WRITES = {
    "ingest": ("bronze/", "silver/", "ops/ingest_log", "ops/quarantine", "ops/changed_periods"),
    "features": ("gold/village_features", "gold/governance_index"),
    "score": ("gold/village_risk", "gold/township_audit"),
}
# Tables whose extra rows are allowed after a kill (compared as sets): a killed ingest's
# changed periods only make the next features run recompute those periods.
AS_SET = ("ops/changed_periods",)
# Columns that name a run or hold its clock, not the data.
VOLATILE = frozenset({"_run_id", "run_id", "_ingested_at", "ingested_at", "quarantined_at",
                      "created_at", "scored_at", "computed_at"})
# Per table, columns that hold the ingest time as data: a survey row's version time is the
# time it was ingested (docs/ingestion.md), so it differs between a run and its rerun.
TABLE_VOLATILE = {"silver/survey": frozenset({"updated_at"})}
LOCK_WAIT = "waiting for the lakehouse write lock"


def env() -> dict[str, str]:
    """The caller's environment without Spark overrides, with a fixed pseudonymization key."""
    out = {k: v for k, v in os.environ.items()
           if k not in ("RURAL_RISK_SPARK_MASTER", "RURAL_RISK_SPARK_CONF")}
    out.update(RURAL_RISK_PSEUDONYM_KEY=KEY, PYTHONUNBUFFERED="1")
    return out


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__().strip("[]").replace("'", "")


@dataclass(frozen=True)
class County:
    landing: Path
    villages: int
    years: int
    seed: int
    dirty_rate: float
    sources: tuple[str, ...] = SOURCES


def generate(work: Path, villages: int, years: int, seed: int, dirty_rate: float,
             sources: tuple[str, ...] = SOURCES) -> County:
    landing = work / "landing"
    subprocess.run([str(CLI), "generate", "--out", str(landing), "--villages", str(villages), "--years",
                    str(years), "--seed", str(seed), "--dirty-rate", str(dirty_rate), "--engine", "local"],
                   check=True, capture_output=True, timeout=600, cwd=work, env=env())
    return County(landing, villages, years, seed, dirty_rate, tuple(sources))


def command(county: County, lakehouse: Path, stage: str, run_id: str) -> list[str]:
    cmd = [str(CLI), "--profile", PROFILE, "--lakehouse", str(lakehouse), "--run-id", run_id, stage]
    if stage == "ingest":
        cmd += ["--landing", str(county.landing)]
        if tuple(county.sources) != SOURCES:
            for s in county.sources:
                cmd += ["--source", s]
    return cmd


@dataclass
class StageRun:
    returncode: int | None
    seconds: float
    killed: bool
    last_step: str
    log: str
    survivors: list[int] = field(default_factory=list)


def last_step(text: str) -> str:
    """The steps running when the log ended, outermost first ('ingest villages > start Spark
    (running)'), else the last step done ('score with ... (done)'); no time or run id."""
    running: list[str] = []
    last = "(nothing logged yet)"
    for line in text.splitlines():
        message = line.split(" rural-risk: ", 1)[1] if " rural-risk: " in line else ""
        started = re.match(r"^(.*): started$", message)
        ended = re.match(r"^(.*?): (done in \d|failed after \d)", message)
        if started:
            running.append(started.group(1))
        elif ended and ended.group(1) in running:
            running.remove(ended.group(1))
            last = f"{ended.group(1)} (done)"
    return f"{' > '.join(running)} (running)" if running else last


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL the process group and every descendant seen (a child in a group of its own too);
    the pids still alive 10 s later (none expected)."""
    pids = children(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def run_stage(cmd: list[str], cwd: Path, log: Path, kill_after: float | None = None,
              timeout: float = 1800) -> StageRun:
    """Run one command in its own process group, its output to `log`; killed (tree, SIGKILL)
    after `kill_after` seconds when it is still running then."""
    cwd.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=kill_after if kill_after is not None else timeout)
            killed, survivors = False, []
        except subprocess.TimeoutExpired:
            if kill_after is None:
                kill_tree(proc)
                raise
            survivors, killed = kill_tree(proc), True
    seconds = time.monotonic() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    return StageRun(None if killed else proc.returncode, seconds, killed, last_step(text), text, survivors)


def _remove(root: Path, entries: tuple[str, ...]) -> None:
    for entry in entries:
        path = root / entry.rstrip("/")
        if path.is_dir():
            shutil.rmtree(path)


@dataclass
class Prepared:
    """The county, the reference lakehouse before and after each stage, each stage's reference
    run time and exit code."""

    county: County
    before: dict[str, Path]
    after: dict[str, Path]
    seconds: dict[str, float]
    returncodes: dict[str, int]


def prepare(work: Path, county: County, stages: tuple[str, ...] = STAGES) -> Prepared:
    """Run the stages once without kills (train and promote as well when score is tried) and
    keep the lakehouse before and after each tried stage."""
    ref = work / "reference"
    chain = ["ingest", "features", "train", "promote"] if "score" in stages else (
        ["ingest", "features"] if "features" in stages else ["ingest"])
    lake = ref / "trained"
    seconds, codes = {}, {}
    for stage in chain:
        run = run_stage(command(county, lake, stage, f"reference-{stage}"), ref, ref / f"{stage}.log")
        if run.returncode not in (0, 1) or (stage != "ingest" and run.returncode != 0):
            raise RuntimeError(f"reference {stage} failed ({run.returncode}):\n{run.log[-3000:]}")
        seconds[stage], codes[stage] = run.seconds, run.returncode
    before, after = {}, {}
    if "ingest" in stages:
        after["ingest"] = ref / "ingested"
        shutil.copytree(lake, after["ingest"])
        _remove(after["ingest"], ("gold/village_features", "gold/governance_index"))
        before["ingest"] = ref / "empty"
        shutil.copytree(after["ingest"], before["ingest"])
        _remove(before["ingest"], WRITES["ingest"] + ("_locks",))
    if "features" in stages:
        before["features"] = ref / "ingested-features"
        shutil.copytree(lake, before["features"])
        _remove(before["features"], WRITES["features"])
        after["features"] = lake
    if "score" in stages:
        before["score"], after["score"] = lake, ref / "scored"
        shutil.copytree(lake, after["score"])
        run = run_stage(command(county, after["score"], "score", "reference-score"), ref, ref / "score.log")
        if run.returncode != 0:
            raise RuntimeError(f"reference score failed ({run.returncode}):\n{run.log[-3000:]}")
        seconds["score"], codes["score"] = run.seconds, 0
    return Prepared(county, before, after, seconds, codes)


# --- checks ------------------------------------------------------------------------------

def tables(root: Path) -> list[str]:
    """<layer>/<table> of every Delta table under a lakehouse root."""
    return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in root.glob("*/*/_delta_log"))


def read(root: Path, table: str) -> Any:
    from deltalake import DeltaTable

    return DeltaTable(str(root / table)).to_pandas()


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value else float(f"{value:.10g}")  # NaN as null; last-bit noise off
    if hasattr(value, "tolist"):  # arrays, lists of structs
        return json.dumps(value.tolist(), sort_keys=True, default=str)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return None if value is None else str(value)


def rows(frame: Any, table: str = "") -> Counter:
    """The table's rows without run ids and clock times, as a multiset of tuples."""
    drop = VOLATILE | TABLE_VOLATILE.get(table, frozenset())
    if table == "ops/ingest_log":
        # A rerun counts the rows the killed run had merged into silver already as duplicates
        # of the silver version: compared is their sum (the split is reported, docs/reliability.md).
        frame = frame.assign(rows_accepted=frame["rows_accepted"] + frame["rows_duplicate"],
                             rows_duplicate=0)
    cols = sorted(c for c in frame.columns if c not in drop)
    frame = frame[cols].astype(object).where(frame[cols].notna(), None)
    return Counter(tuple(_cell(v) for v in rec) for rec in frame.itertuples(index=False, name=None))


def _matches(table: str, entries: tuple[str, ...]) -> bool:
    return any(table == e or (e.endswith("/") and table.startswith(e)) for e in entries)


def compare(got: Path, want: Path, stage: str) -> dict[str, Any]:
    """Rows lost and duplicated per table the stage writes, against the reference."""
    out: dict[str, Any] = {"lost": 0, "duplicates": 0, "tables": {}, "problems": []}
    for table in [t for t in tables(want) if _matches(t, WRITES[stage])]:
        if not (got / table / "_delta_log").is_dir():
            out["problems"].append(f"{table} missing")
            out["lost"] += sum(rows(read(want, table), table).values())
            continue
        a, b = rows(read(got, table), table), rows(read(want, table), table)
        if table in AS_SET:
            lost, dup = len(set(b) - set(a)), 0
            extra = len(set(a) - set(b))
            if extra:
                out["problems"].append(f"{table}: {extra} rows not in the reference")
        else:
            lost, dup = sum((b - a).values()), sum((a - b).values())
        out["tables"][table] = {"rows": sum(a.values()), "reference": sum(b.values()), "lost": lost,
                                "duplicates": dup}
        if table == "ops/ingest_log":
            shift = int(read(got, table)["rows_duplicate"].sum() - read(want, table)["rows_duplicate"].sum())
            out["tables"][table]["accepted_counted_as_duplicate"] = shift
        out["lost"] += lost
        out["duplicates"] += dup
        if lost or dup:
            out["problems"].append(f"{table}: {lost} rows lost, {dup} duplicated")
    return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def landing_files(county: County) -> dict[str, str]:
    """Landing file (relative to the landing root) -> SHA-256, for the sources tried."""
    return {p.relative_to(county.landing).as_posix(): sha256(p)
            for p in sorted(county.landing.rglob("*"))
            if p.is_file() and p.relative_to(county.landing).parts[0] in county.sources}


def check_manifest(root: Path, county: County) -> list[str]:
    """The manifest against the landing files, bronze and quarantine; the problems found."""
    problems: list[str] = []
    log = read(root, "ops/ingest_log")
    files = landing_files(county)
    for file, digest in files.items():
        mine = log[(log["file"] == file) & (log["file_hash"] == digest)]
        if len(mine) != 1 or mine["status"].iloc[0] not in ("loaded", "rejected"):
            problems.append(f"ops.ingest_log holds {len(mine)} rows for {file} ({list(mine['status'])})")
    if set(log["file"]) - set(files):
        problems.append(f"ops.ingest_log names files not landed: {sorted(set(log['file']) - set(files))[:3]}")
    loaded = log[log["status"] == "loaded"]
    parts = loaded["rows_accepted"] + loaded["rows_quarantined"] + loaded["rows_duplicate"]
    if (loaded["rows_read"] != parts).any():
        problems.append("ops.ingest_log: rows_read != accepted + quarantined + duplicate")
    quarantine = read(root, "ops/quarantine") if (root / "ops/quarantine/_delta_log").is_dir() else None
    q_counts = Counter(quarantine["file"]) if quarantine is not None else Counter()
    bronze = Counter()
    for source in county.sources:
        if (root / "bronze" / source / "_delta_log").is_dir():
            bronze.update(read(root, f"bronze/{source}")["_file"])
    for r in loaded.itertuples():
        if q_counts.get(r.file, 0) != r.rows_quarantined:
            problems.append(f"{r.file}: {q_counts.get(r.file, 0)} quarantine rows, manifest says {r.rows_quarantined}")
        if bronze.get(r.file, 0) != r.rows_read:
            problems.append(f"{r.file}: {bronze.get(r.file, 0)} bronze rows, manifest says {r.rows_read} read")
    return problems


def check_truth(root: Path, county: County) -> tuple[int, list[str]]:
    """Each dirty row of the generator's truth that has a reason code is quarantined once."""
    quarantine = read(root, "ops/quarantine")
    held = Counter(zip(quarantine["file"], quarantine["line"].astype(int), strict=True))
    problems, checked = [], 0
    with open(county.landing / "_truth" / "dirty_rows.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["source"] not in county.sources or not row["expected_reason"]:
                continue
            checked += 1
            n = held.get((row["file"], int(row["line"])), 0)
            if n != 1:
                problems.append(f"dirty row {row['file']} line {row['line']} is in ops.quarantine {n} times")
    return checked, problems


def unreadable(root: Path) -> list[str]:
    bad = []
    for table in tables(root):
        try:
            read(root, table)
        except Exception as exc:  # any failure to read the current version is the finding
            bad.append(f"{table}: {type(exc).__name__}: {str(exc)[:200]}")
    return bad


# --- trials ------------------------------------------------------------------------------

@dataclass
class Trial:
    trial: int
    stage: str
    kill_after_s: float
    killed_at_s: float
    killed: bool
    last_step: str
    rerun_s: float
    rerun_returncode: int | None
    waited_for_lock: bool
    stale_lock: str
    lost: int
    duplicates: int
    outcome: str
    problems: list[str]
    tables: dict[str, Any]
    loadavg_start: str
    loadavg_end: str


def plan(trials: int, seed: int, stages: tuple[str, ...], seconds: dict[str, float]) -> list[tuple[str, float]]:
    """(stage, kill delay) per trial: stages in turn, trial k of a stage's n at (k + u) / n of
    its reference run time, u from a generator seeded with the seed and the trial number."""
    out = []
    for i in range(trials):
        stage = stages[i % len(stages)]
        n = len(range(i % len(stages), trials, len(stages)))
        u = random.Random(seed * 100_003 + i).random()
        out.append((stage, round((i // len(stages) + u) / n * seconds[stage], 2)))
    return out


def run_trial(i: int, stage: str, delay: float, prep: Prepared, work: Path) -> Trial:
    load_start = loadavg()
    folder = work / "trials" / f"{i:02d}-{stage}"
    lake = folder / "lakehouse"
    shutil.copytree(prep.before[stage], lake)
    killed = run_stage(command(prep.county, lake, stage, f"trial-{i}-killed"), folder, folder / "killed.log",
                       kill_after=delay)
    lock = lake / "_locks" / "write.lock"
    stale = lock.read_text(encoding="utf-8").strip() if lock.exists() else ""
    rerun = run_stage(command(prep.county, lake, stage, f"trial-{i}-rerun"), folder, folder / "rerun.log")
    problems = [f"process {p} survived SIGKILL" for p in killed.survivors]
    if rerun.returncode != prep.returncodes[stage]:
        problems.append(f"rerun exited {rerun.returncode}, the reference {prep.returncodes[stage]}")
    waited = LOCK_WAIT in rerun.log
    if waited:
        problems.append("the rerun waited for the write lock of the killed process")
    problems += unreadable(lake)
    result = compare(lake, prep.after[stage], stage)
    problems += result["problems"]
    if stage == "ingest":
        problems += check_manifest(lake, prep.county)
        problems += check_truth(lake, prep.county)[1]
    problems = [p for p in problems if not p.startswith("ops/changed_periods:")] + [
        p for p in problems if p.startswith("ops/changed_periods:")]
    failing = [p for p in problems if not p.startswith("ops/changed_periods:")]
    outcome = "ok" if not failing else "FAILED"
    shift = result["tables"].get("ops/ingest_log", {}).get("accepted_counted_as_duplicate", 0)
    if shift:
        outcome += f" ({shift} rows counted duplicate)"
    if not killed.killed:
        outcome += " (finished before the kill)"
    if not failing and len(failing) != len(problems):
        outcome += " (extra changed periods)"
    return Trial(i, stage, delay, round(killed.seconds, 2), killed.killed,
                 killed.last_step if killed.killed else "(finished)", round(rerun.seconds, 2),
                 rerun.returncode, waited, stale, result["lost"], result["duplicates"], outcome, problems,
                 result["tables"], load_start, loadavg())


def run_trials(work: Path, trials: int, seed: int, villages: int = 12, years: int = 2,
               dirty_rate: float = 0.03, stages: tuple[str, ...] = STAGES,
               sources: tuple[str, ...] = SOURCES, echo: Any = print) -> dict[str, Any]:
    """Generate, prepare the references, run the trials; everything the results file holds."""
    started, load_start = time.monotonic(), loadavg()
    work.mkdir(parents=True, exist_ok=True)
    county = generate(work, villages, years, seed, dirty_rate, sources)
    prep = prepare(work, county, stages)
    echo(f"reference run times: {', '.join(f'{k} {v:.1f}s' for k, v in prep.seconds.items())}")
    ref_checks = check_manifest(prep.after["ingest"], county) if "ingest" in stages else []
    truth_rows = check_truth(prep.after["ingest"], county) if "ingest" in stages else (0, [])
    if ref_checks or truth_rows[1]:
        raise RuntimeError(f"the reference itself fails the checks: {(ref_checks + truth_rows[1])[:5]}")
    results = []
    for i, (stage, delay) in enumerate(plan(trials, seed, stages, prep.seconds)):
        t = run_trial(i, stage, delay, prep, work)
        results.append(t)
        echo(f"trial {i:2d} {stage:8s} kill at {t.killed_at_s:6.1f}s [{t.last_step}] rerun {t.rerun_s:5.1f}s "
             f"-> {t.outcome}, lost {t.lost}, duplicates {t.duplicates}, load {t.loadavg_start} / {t.loadavg_end}")
        for p in t.problems:
            echo(f"    {p}")
    reference_rows = {t: len(read(prep.after[s], t))
                      for s in stages for t in tables(prep.after[s]) if _matches(t, WRITES[s])}
    return {
        "date": date.today().isoformat(), "trials": trials, "seed": seed,
        "county": {"villages": villages, "years": years, "seed": seed, "dirty_rate": dirty_rate,
                   "sources": list(sources), "landing_files": len(landing_files(county)),
                   "dirty_rows_with_reason_checked": truth_rows[0]},
        "profile": PROFILE, "cores": os.cpu_count(), "stages": list(stages),
        "reference_seconds": {k: round(v, 2) for k, v in prep.seconds.items()},
        "reference_rows": reference_rows,
        "loadavg_start": load_start, "loadavg_end": loadavg(),
        "wall_s": round(time.monotonic() - started, 1),
        "passed": sum(t.outcome.startswith("ok") for t in results),
        "killed": sum(t.killed for t in results),
        "rows_lost": sum(t.lost for t in results), "duplicates": sum(t.duplicates for t in results),
        "results": [asdict(t) for t in results],
    }


def markdown(result: dict[str, Any]) -> str:
    c = result["county"]
    lines = [
        f"Reliability trials of {result['date']}: {result['trials']} trials, {result['killed']} killed mid-run, "
        f"{result['passed']} passed; rows lost {result['rows_lost']}, duplicates {result['duplicates']}. "
        f"County {c['villages']} villages x {c['years']} years, seed {c['seed']}, dirty rate {c['dirty_rate']} "
        f"({c['landing_files']} landing files); profile {result['profile']}, {result['cores']} cores; "
        f"load average {result['loadavg_start']} at the start, {result['loadavg_end']} at the end; "
        f"{result['wall_s']:.0f} s in all. Reference run times: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result["reference_seconds"].items()) + ".",
        "",
        "| trial | stage | kill at (s) | last step logged | rerun (s) | outcome | rows lost | duplicates | load at start | load at end |",
        "|---:|---|---:|---|---:|---|---:|---:|---|---|",
    ]
    for t in result["results"]:
        step = t["last_step"].replace("|", "/")
        lines.append(f"| {t['trial']} | {t['stage']} | {t['killed_at_s']:.1f} | {step} | {t['rerun_s']:.1f} | "
                     f"{t['outcome']} | {t['lost']} | {t['duplicates']} | {t['loadavg_start']} | {t['loadavg_end']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Kill ingest, features and score with SIGKILL at random points, rerun, and check "
                    "that no row is lost or doubled and every table reads (docs/reliability.md). "
                    "Starts one Spark process at a time: run it under spark-slot.")
    parser.add_argument("--trials", type=int, default=20, help="trials (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the county and the kill points (default 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (.json; a .md beside it); default "
                             "benchmarks/results/reliability_<date>.json")
    parser.add_argument("--villages", type=int, default=12)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--dirty-rate", type=float, default=0.03, help="share of dirty rows (default 0.03)")
    parser.add_argument("--stages", default=",".join(STAGES), help="stages to kill (default ingest,features,score)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temp folder, removed)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only write the Markdown table of an earlier results file (beside it); with "
                             "--work, the steps are read again from the trials' logs there")
    args = parser.parse_args(argv)
    if args.render is not None:
        result = json.loads(args.render.read_text(encoding="utf-8"))
        for t in result["results"] if args.work else []:  # steps read again from the kept logs
            log = args.work / "trials" / f"{t['trial']:02d}-{t['stage']}" / "killed.log"
            if t["killed"] and log.exists():
                t["last_step"] = last_step(log.read_text(encoding="utf-8", errors="replace"))
        args.render.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
        args.render.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
        print(markdown(result))
        return 0
    stages = tuple(s for s in args.stages.split(",") if s)
    if not stages or any(s not in STAGES for s in stages):
        parser.error(f"--stages: expected a comma-separated list of {', '.join(STAGES)}, got {args.stages!r}")
    if args.trials < 1:
        parser.error(f"--trials: expected at least 1, got {args.trials}")
    out = args.out or ROOT / "benchmarks" / "results" / f"reliability_{date.today().isoformat()}.json"
    work = args.work or Path(tempfile.mkdtemp(prefix="reliability-"))
    try:
        result = run_trials(work, args.trials, args.seed, args.villages, args.years, args.dirty_rate, stages,
                            echo=lambda s: print(s, flush=True))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    print(f"results: {out} and {out.with_suffix('.md')}")
    return 0 if result["passed"] == result["trials"] and not result["rows_lost"] and not result["duplicates"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
