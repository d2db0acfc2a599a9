"""The generated county (12 villages, 2 years, seed 7) through `rural-risk --profile test pipeline`,
once per session: the end-to-end test reads its tables and output, the cluster test compares
its own run on a standalone cluster with these gold tables.

The run is the command line in a subprocess (its own Spark application, not the suite's
session: the tables do not depend on what earlier tests did to that session), with a fixed run
id and pseudonymization key, no --as-of (the run date comes from the data) and
RURAL_RISK_SPARK_MASTER / RURAL_RISK_SPARK_CONF left out of its environment, so it is the
test profile as it stands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "rural-risk"
VILLAGES, YEARS, SEED = 12, 2, 7
KEY = "test-key-for-the-county-runs-only"
RUN_ID = "test-county-local"
TOP = 5  # flagged villages printed in the summary


@dataclass(frozen=True)
class CountyRun:
    """Where the county landed, the lakehouse its local run wrote, and that run's output."""

    work: Path
    landing: Path
    folder: Path  # the run's working folder (its reports/ are there)
    lakehouse: Path
    run_id: str
    output: str  # stdout and stderr of `rural-risk pipeline`


def pipeline_env(**extra: str) -> dict[str, str]:
    """The suite's environment without Spark overrides, with the county's key."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RURAL_RISK_SPARK_MASTER", "RURAL_RISK_SPARK_CONF")}
    env.update(RURAL_RISK_PSEUDONYM_KEY=KEY, PYTHONUNBUFFERED="1", **extra)
    return env


def run_pipeline(profile: str, folder: Path, landing: Path, run_id: str, env: dict[str, str],
                 top: int = TOP) -> str:
    """One `rural-risk pipeline` into folder/lakehouse, run in folder; its output, asserted exit 0."""
    folder.mkdir(parents=True)
    cmd = [str(CLI), "--profile", profile, "--lakehouse", str(folder / "lakehouse"),
           "--run-id", run_id, "pipeline", "--landing", str(landing), "--top", str(top)]
    proc = subprocess.run(cmd, cwd=folder, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1800)
    (folder / "pipeline.log").write_text(proc.stdout, encoding="utf-8")
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="session")
def county_run(tmp_path_factory: pytest.TempPathFactory) -> CountyRun:
    """The county generated and run locally once (test profile) for the whole session."""
    work = tmp_path_factory.mktemp("county")
    landing = work / "landing"
    subprocess.run(
        [str(CLI), "generate", "--out", str(landing), "--villages", str(VILLAGES),
         "--years", str(YEARS), "--seed", str(SEED), "--engine", "local"],
        check=True, capture_output=True, timeout=600, cwd=work, env=pipeline_env(),
    )
    folder = work / "test"
    output = run_pipeline("test", folder, landing, RUN_ID, pipeline_env())
    return CountyRun(work=work, landing=landing, folder=folder, lakehouse=folder / "lakehouse",
                     run_id=RUN_ID, output=output)
