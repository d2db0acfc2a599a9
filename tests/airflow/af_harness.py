"""Helpers for the Airflow tests: Airflow lives in .venv-airflow, so it is called in a subprocess.

A plain module (not a conftest): tests/ has no packages, and a second conftest.py would clash.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
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


# --- A running Airflow (scheduler + API server) for the backfill test ---------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def scheduler_env(home: Path, port: int) -> dict[str, str]:
    """Settings of a scheduler that runs tasks (LocalExecutor, one at a time) and of the API
    server its task processes report to (Airflow 3's task SDK talks to the execution API).

    use_job_schedule off: the scheduler runs backfill and manual runs only, so unpausing the
    DAG does not also start the latest scheduled interval next to the backfill.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }


def processes_of(home: Path) -> list[int]:
    """Ids of the live processes whose environment names this AIRFLOW_HOME. Catches the
    spark-submits and their JVMs; Airflow's own processes retitle themselves (setproctitle),
    which overwrites their /proc environ, so `descendants` finds those."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone, or not ours
            continue
    return sorted(p for p in found if alive(p))


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pids: list[int]) -> set[int]:
    """The given processes and every process below them (task processes lead process groups
    of their own, so a kill of the service's group misses them)."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


@dataclass
class Services:
    """The API server and the scheduler of one AIRFLOW_HOME; `stop` leaves nothing running."""

    home: Path
    port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    leftovers: list[int] = field(default_factory=list)  # still alive after the stop, then killed
    tree: set[int] = field(default_factory=set)  # every process seen below the services

    def log(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def start(self, env: dict[str, str], timeout: float = 180) -> None:
        airflow = str(AIRFLOW_BIN / "airflow")
        commands = {
            "api-server": [airflow, "api-server", "--apps", "execution", "--host", "127.0.0.1",
                           "--port", str(self.port), "--workers", "1"],
            # no log server (a fixed port, 8793): the task logs are files under the home
            "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        }
        for name, cmd in commands.items():
            with self.log(name).open("wb") as out:
                self.procs[name] = subprocess.Popen(cmd, env=env, cwd=self.home, stdout=out,
                                                    stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            self.check_alive()
            assert time.monotonic() < deadline, (
                f"the API server did not listen on port {self.port} within {timeout:.0f} s "
                f"(log {self.log('api-server')})")
            time.sleep(1)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, (
                f"airflow {name} exited with {proc.returncode} (log {self.log(name)}):\n"
                f"{self.log(name).read_text(errors='replace')[-3000:]}")

    def stop(self, grace: float = 30) -> None:
        """SIGTERM to each service's process group, SIGKILL after `grace` seconds, then kill any
        process of this AIRFLOW_HOME still alive (a task and its spark-submit) and wait for the
        port to close."""
        self.tree = descendants([p.pid for p in self.procs.values()]) | set(processes_of(self.home))
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        self.leftovers = self.running()
        for pid in self.leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (self.running() or port_open(self.port)) and time.monotonic() < deadline:
            time.sleep(0.5)

    def running(self) -> list[int]:
        """Processes of these services still alive: the ones seen at the stop, those below
        them, and any other with this AIRFLOW_HOME."""
        tree = descendants([p for p in self.tree if alive(p)])
        return sorted({p for p in tree if alive(p)} | set(processes_of(self.home)))


def metadata(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the test's own SQLite metadata database, opened read-only."""
    con = sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def table_versions(lakehouse: Path) -> dict[str, int]:
    """The Delta version of every table of a lakehouse, read with delta-rs (no JVM)."""
    from deltalake import DeltaTable

    return {f"{folder.parent.name}.{folder.name}": DeltaTable(str(folder)).version()
            for folder in sorted(lakehouse.glob("*/*")) if (folder / "_delta_log").is_dir()}


def schedule_for_tests(path: Path, schedules: dict[str, str] | None = None) -> Path:
    """conf/schedule.yaml for the end-to-end tests: a small local master, the test profile's
    driver JVM options (spark-submit starts the JVM before the job reads its profile), no
    retries (a failure shows at once) and, per DAG block, any schedule of `schedules`."""
    import yaml

    from conf import load_settings

    data = yaml.safe_load((ROOT / "conf" / "schedule.yaml").read_text(encoding="utf-8"))
    data["spark"]["master"] = "local[2]"
    data["spark"]["driver_memory"] = "1g"
    java = load_settings("test")["spark.conf"]["spark.driver.extraJavaOptions"]
    data["spark"]["conf"] = {**(data["spark"].get("conf") or {}), "spark.driver.extraJavaOptions": java}
    for block in ("pipeline", "training"):
        data[block]["retries"] = 0
    for block, cron in (schedules or {}).items():
        data[block]["schedule"] = cron
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_airflow(env: dict[str, str], *args: str, log: Path, timeout: int = 3600) -> str:
    """One `airflow` command in the test's AIRFLOW_HOME; its output (also in `log`), asserted exit 0."""
    proc = subprocess.run(
        [str(AIRFLOW_BIN / "airflow"), *args], env=env, cwd=env["AIRFLOW_HOME"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )
    log.write_text(proc.stdout, encoding="utf-8")
    assert proc.returncode == 0, f"airflow {' '.join(args)} failed (log {log}):\n{proc.stdout[-4000:]}"
    return proc.stdout


def county_deployment(work: Path, villages: int, schedules: dict[str, str] | None = None,
                      **extra_env: str) -> tuple[dict[str, str], Path, Path, Path]:
    """A tiny generated county (2 years, seed 7) and the Airflow environment of a deployment
    over it in `work`: (env, landing, lakehouse, reports); AIRFLOW_HOME is work/airflow."""
    landing, lakehouse, reports = work / "landing", work / "lakehouse", work / "reports"
    subprocess.run(
        [str(ROOT / ".venv/bin/rural-risk"), "generate", "--out", str(landing),
         "--villages", str(villages), "--years", "2", "--seed", "7"],
        check=True, capture_output=True, timeout=600,
    )
    home = work / "airflow"
    home.mkdir()
    env = airflow_env(
        home,
        RURAL_RISK_SCHEDULE=str(schedule_for_tests(work / "schedule.yaml", schedules)),
        RURAL_RISK_LAKEHOUSE=str(lakehouse),
        RURAL_RISK_LANDING=str(landing),
        RURAL_RISK_REPORTS=str(reports),
        RURAL_RISK_PROFILE="test",
        RURAL_RISK_PSEUDONYM_KEY=os.environ.get("RURAL_RISK_PSEUDONYM_KEY", "test-key-for-the-suite-only-not-a-secret"),
        **extra_env,
    )
    return env, landing, lakehouse, reports

