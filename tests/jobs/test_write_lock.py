"""The lakehouse write lock: writers of one lakehouse run one after the other, across
processes; a killed holder frees it. Two real ingests of one landing at once:
tests/reliability/test_concurrency.py (the same tables as one ingest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from store.lakehouse import Lakehouse

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from store.lakehouse import Lakehouse
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
