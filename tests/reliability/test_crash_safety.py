"""Crash safety in CI: two trials of benchmarks/reliability.py (the same functions, imported),
one killing `rural-risk ingest`, one `features`, with SIGKILL mid-run, rerunning it and comparing
the lakehouse with a run that was never killed (docs/reliability.md has the 20-trial run).

A smaller county than the benchmark's (villages and incidents only, of the 12-village county)
keeps the two trials and their reference to a few minutes (three until the suite neared its
35-minute budget); the checks are the benchmark's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


def _benchmark():
    """benchmarks/reliability.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("reliability_benchmark", ROOT / "benchmarks" / "reliability.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_two_kills_lose_and_double_nothing(tmp_path):
    rel = _benchmark()
    result = rel.run_trials(tmp_path, trials=2, seed=7, villages=12, years=2, dirty_rate=0.03,
                            stages=("ingest", "features"), sources=("villages", "incidents"),
                            echo=lambda s: None)
    trials = result["results"]
    assert [t["stage"] for t in trials] == ["ingest", "features"]
    for t in trials:
        # Extra rows of the killed run in ops.changed_periods are allowed (they cause a recompute).
        assert [p for p in t["problems"] if not p.startswith("ops/changed_periods:")] == [], t
        assert t["outcome"].startswith("ok"), t
        assert (t["lost"], t["duplicates"]) == (0, 0), t
        assert not t["waited_for_lock"], t
    # The trials' own counts, table by table, are the reference's: exact, fixed by the seed.
    for t in trials:
        for table, c in t["tables"].items():
            if table in rel.AS_SET:  # may keep the killed run's extra rows
                continue
            assert c["rows"] == c["reference"], (table, c)
    assert result["reference_rows"] == {
        "bronze/incidents": 601, "bronze/villages": 12, "silver/incidents": 391, "silver/villages": 12,
        "ops/ingest_log": 25, "ops/quarantine": 17, "ops/changed_periods": 193,
        "gold/village_features": 288, "gold/governance_index": 288,
    }
    assert result["county"]["dirty_rows_with_reason_checked"] == 17  # each in ops.quarantine once
    assert result["county"]["landing_files"] == 25
