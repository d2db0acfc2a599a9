"""The lakehouse write lock: writers of one lakehouse run one after the other, across
processes; a killed holder frees it; two ingests of one landing load each file once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.lakehouse import Lakehouse

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from jobs.lakehouse import Lakehouse
with Lakehouse(sys.argv[1]).write_lock(sys.argv[2]):
    print("held", time.time(), flush=True)
    time.sleep(float(sys.argv[3]))
    print("leaving", time.time(), flush=True)  # still held: the lock is freed after this line
"""


def _holder(root: Path, what: str, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD, str(root), what, str(seconds)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


def _wait_held(proc: subprocess.Popen) -> float:
    line = proc.stdout.readline().split()
    assert line[0] == "held", line
    return float(line[1])


def test_a_second_writer_waits_for_the_first(tmp_path):
    root = tmp_path / "lh"
    first = _holder(root, "first", 1.5)
    held_first = _wait_held(first)
    assert (root / "_locks" / "write.lock").read_text().startswith(f"pid {first.pid}: first")
    second = _holder(root, "second", 0.0)
    held_second = _wait_held(second)
    leaving_first = float(first.stdout.readline().split()[1])
    assert held_first < leaving_first <= held_second  # the second got it only once freed
    assert held_second - held_first >= 1.5  # so it waited the first's 1.5 s
    assert first.wait(10) == 0 and second.wait(10) == 0


def test_a_killed_holder_frees_the_lock_and_the_lock_is_reentrant(tmp_path):
    root = tmp_path / "lh"
    holder = _holder(root, "doomed", 60)
    _wait_held(holder)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    lh = Lakehouse(str(root))
    start = time.monotonic()
    with lh.write_lock("after the kill"), lh.write_lock("the pipeline's own stage"):
        assert time.monotonic() - start < 5  # the OS dropped the dead holder's lock
    with Lakehouse("s3a://bucket/lakehouse").write_lock("remote"):
        pass  # no lock file for a remote root: nothing to create


@pytest.mark.slow
def test_two_ingests_of_one_landing_at_once_load_each_file_once(tmp_path):
    """Both commands start together; the second waits for the lock, then finds every file
    in the manifest and loads nothing: the same tables as one ingest. (Without the lock one
    of the two failed on a concurrent Delta commit when this test was written.)"""
    from deltalake import DeltaTable

    landing, lakehouse = tmp_path / "landing", tmp_path / "lh"
    cli = [sys.executable, "-m", "jobs.cli", "--profile", "test", "--lakehouse", str(lakehouse)]
    subprocess.run([*cli, "generate", "--out", str(landing), "--villages", "4", "--years", "1", "--seed", "5"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=300)
    lakehouse.mkdir()
    runs = [subprocess.Popen([*cli, "ingest", "--landing", str(landing)], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [p.communicate(timeout=900)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], logs
    assert any("waiting for the lakehouse write lock" in log for log in logs)
    manifest = DeltaTable(str(lakehouse / "ops" / "ingest_log")).to_pandas()
    loaded = manifest[manifest["status"] == "loaded"]
    assert loaded.groupby(["file", "file_hash"]).size().eq(1).all()  # each file once
    assert len(loaded) == sum(1 for p in landing.rglob("*.*") if "_truth" not in p.parts)
    villages = DeltaTable(str(lakehouse / "silver" / "villages")).to_pandas()
    assert len(villages) == 4 and villages["village_id"].is_unique
    bronze = DeltaTable(str(lakehouse / "bronze" / "incidents")).to_pandas()
    assert not bronze.duplicated(["_file", "_line"]).any()
