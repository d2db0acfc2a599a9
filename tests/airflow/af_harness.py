"""Helpers for the Airflow tests: Airflow lives in .venv-airflow, so it is called in a subprocess.

A plain module (not a conftest): tests/ has no packages, and a second conftest.py would clash.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "airflow_dags"
AIRFLOW_BIN = ROOT / ".venv-airflow" / "bin"
PROBE = Path(__file__).with_name("dag_probe.py")


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment of an isolated Airflow: its own AIRFLOW_HOME and SQLite, the project's DAGs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        RURAL_RISK_HOME=str(ROOT),
    )
    env.update(extra)
    return env


def airflow_python() -> Path:
    """The Airflow environment's Python; skips the calling test when it was never built."""
    python = AIRFLOW_BIN / "python"
    if not python.exists():
        pytest.skip("no .venv-airflow: run `make airflow` (make test does)")
    return python


def run_probe(python: Path, home: Path, *args: str, **env: str) -> dict[str, Any]:
    """Run dag_probe.py in the Airflow environment and return its JSON line."""
    proc = subprocess.run(
        [str(python), str(PROBE), *args], env=airflow_env(home, **env),
        capture_output=True, text=True, timeout=300, cwd=home,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE-JSON ")]
    assert proc.returncode == 0 and lines, f"probe failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("PROBE-JSON "))
