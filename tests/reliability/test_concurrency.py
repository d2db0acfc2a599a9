"""Two writers of one lakehouse at once: two ingests of one landing end with the tables of one
ingest, and features + score for two different months started together both leave their
rows. Uses benchmarks/reliability.py's runner and comparisons (imported, not copied).

This module starts two Spark processes at once: run it holding both machine slots,
`spark-slot spark-slot .venv/bin/pytest tests/reliability/test_concurrency.py -x -q`. Its tests
form one pytest-xdist group of their own ("reliability-concurrency").
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_crash_safety import _benchmark

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reliability-concurrency")]
rel = _benchmark()
AS_OF = ("2022-11-01", "2022-12-01")  # risk for November and for December 2022


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory):
    """The 12-village county (every source, dirty rows) and one ingest of it, never concurrent."""
    work = tmp_path_factory.mktemp("concurrency")
    county = rel.generate(work, 12, 2, 7, 0.03)
    one = work / "one-ingest"
    run = rel.run_stage(rel.command(county, one, "ingest", "one-ingest"), work, work / "one-ingest.log")
    assert run.returncode == 0, run.log[-3000:]
    return work, county, one


def _start(cmd: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=rel.env(), stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _chain(county, lake: Path, as_of: str) -> list[str]:
    """features then score for one month, as one shell command line (one process group)."""
    parts = [" ".join([*rel.command(county, lake, stage, f"{stage}-{as_of}"), "--as-of", as_of])
             for stage in ("features", "score")]
    return ["sh", "-c", " && ".join(parts)]


def test_two_ingests_at_once_end_as_one(county):
    work, county, one = county
    lake = work / "two-ingests"
    runs = [_start(rel.command(county, lake, "ingest", f"ingest-{i}"), work, work / f"ingest-{i}.log")
            for i in range(2)]
    codes = [p.wait(timeout=900) for p in runs]
    logs = [(work / f"ingest-{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    assert sum(rel.LOCK_WAIT in log for log in logs) == 1, logs  # one waited for the other
    # The second found every file in the manifest (villages: one file, loaded by the first).
    assert sum("ingest villages: done" in log and "0 files loaded, 1 skipped" in log for log in logs) == 1
    assert rel.unreadable(lake) == []
    diff = rel.compare(lake, one, "ingest")
    assert diff["problems"] == [] and (diff["lost"], diff["duplicates"]) == (0, 0), diff
    assert {t: c["rows"] for t, c in diff["tables"].items() if t.startswith("silver/")} == {
        "silver/incidents": 391, "silver/organizations": 32, "silver/patrols": 2989, "silver/population": 24,
        "silver/resources": 196, "silver/survey": 384, "silver/villages": 12}
    assert diff["tables"]["ops/quarantine"]["rows"] == 98
    assert diff["tables"]["ops/ingest_log"]["rows"] == 57
    assert rel.check_manifest(lake, county) == []
    assert rel.check_truth(lake, county) == (98, [])


def test_two_months_scored_at_once_keep_both(county):
    from deltalake import DeltaTable

    work, county, one = county
    base = work / "trained"
    shutil.copytree(one, base)
    for stage in ("features", "train", "promote"):
        run = rel.run_stage(rel.command(county, base, stage, f"base-{stage}"), work, work / f"base-{stage}.log")
        assert run.returncode == 0, run.log[-3000:]
    sequential, together = work / "sequential", work / "together"
    shutil.copytree(base, sequential)
    shutil.copytree(base, together)
    for as_of in AS_OF:  # one after the other: the reference
        done = subprocess.run(_chain(county, sequential, as_of), cwd=work, env=rel.env(), capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    runs = [_start(_chain(county, together, as_of), work, work / f"chain-{as_of}.log") for as_of in AS_OF]
    codes = [p.wait(timeout=900) for p in runs]
    logs = [(work / f"chain-{as_of}.log").read_text() for as_of in AS_OF]
    assert codes == [0, 0], logs
    assert rel.unreadable(together) == []
    risk = DeltaTable(str(together / "gold" / "village_risk")).to_pandas()
    per_period = risk.groupby(risk["period_start"].astype(str))["village_id"].agg(["count", "nunique"])
    assert per_period.to_dict("index") == {"2022-11-01": {"count": 12, "nunique": 12},
                                           "2022-12-01": {"count": 12, "nunique": 12}}
    diff = rel.compare(together, sequential, "features")
    assert diff["problems"] == [] and (diff["lost"], diff["duplicates"]) == (0, 0), diff
    # Each month's risk rows are those of the runs one after the other, whichever went first.
    # (gold.township_audit is rewritten whole by every score: the last one's, by design.)
    assert rel.rows(risk, "gold/village_risk") == rel.rows(rel.read(sequential, "gold/village_risk"))
