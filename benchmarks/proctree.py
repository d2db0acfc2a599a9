"""Measure a command's whole process tree (driver, Spark JVM, Python workers) from /proc.

Every 0.5 s the sampler lists the command's process and all its descendants (parent links in
/proc/<pid>/stat) and records:

- peak resident memory: the sum of RSS over the tree at each sample, the largest sum seen
  (shared pages of forked workers count once per process, as `ps` shows them);
- CPU time: each process's latest user + system ticks seen, summed. A process that ends
  between two samples loses at most its last half second; the CPU time of reaped children
  (`getrusage(RUSAGE_CHILDREN)`, which holds every descendant its parent waited for) is the
  other lower bound, and the larger of the two is reported.

    from proctree import run_sampled
    m = run_sampled(["rural-risk", "generate", ...], cwd=ROOT)
    m.wall_s, m.cpu_s, m.peak_rss_mib, m.returncode, m.output
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """pid and all its descendants, from /proc/<pid>/stat parent links."""
    parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parent.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parent.get(p, []))
    return out


def cpu_ticks(pids: list[int], seen: dict[int, int]) -> None:
    """Remember each process's latest user+system CPU ticks (a process's last sample counts)."""
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            seen[p] = int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass


def rss_kb(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            pass
    return total


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    peak_rss_mib: int
    returncode: int
    output: str  # stdout and stderr, interleaved as written (empty when not captured)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_sampled(
    cmd: Sequence[str],
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    log: str | Path | None = None,
    echo: bool = True,
    interval: float = 0.5,
) -> Measure:
    """Run cmd to its end while sampling its process tree. With `log`, stdout and stderr go to
    that file (and to this process's stderr when `echo`) and are returned as `output`."""
    peak = {"kb": 0}
    ticks: dict[int, int] = {}
    capture = log is not None
    before = _children_cpu()
    start = time.monotonic()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=capture, bufsize=1 if capture else -1,
    )
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids = children(proc.pid)
            peak["kb"] = max(peak["kb"], rss_kb(pids))
            cpu_ticks(pids, ticks)
            done.wait(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    lines: list[str] = []
    if capture:
        assert proc.stdout is not None
        with open(log, "w", encoding="utf-8") as fh:
            for line in proc.stdout:
                lines.append(line)
                fh.write(line)
                if echo:
                    sys.stderr.write(line)
    rc = proc.wait()
    wall = time.monotonic() - start
    done.set()
    t.join()
    reaped = _children_cpu() - before
    sampled = sum(ticks.values()) / CLK_TCK
    return Measure(
        wall_s=round(wall, 1), cpu_s=round(max(sampled, reaped), 1),
        peak_rss_mib=round(peak["kb"] / 1024), returncode=rc, output="".join(lines),
    )
