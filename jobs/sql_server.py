"""`rural-risk sql-server start|stop|status|refresh`: the lakehouse over JDBC for SQL tools.

`start` runs the Spark Thrift Server (HiveServer2 protocol; its jars ship in pyspark's wheel)
in a background process with Delta on its classpath, at jdbc:hive2://localhost:PORT/default.
That process names every table `layer.table` as a view over its Delta path (jobs/views.py),
creates the analyst views (`analyst.*`), and looks at the path layout again every
`sql_server.refresh_seconds`: a table a pipeline run writes after the start is served without
a restart (`refresh` does it at once). Its catalog is Spark's in-memory one, filled from the
path layout, which stays the source of truth: no metastore database, nothing another process
could find locked, and a lakehouse moved to another root is served from there on the next start.

Read-only for analysts: DELETE, UPDATE, INSERT and MERGE on a view are refused by Spark, and
on Linux the server process cannot write below the lakehouse root at all (Landlock, below), so
a statement naming a table by path (delta.`/...`) fails too. Its pid file, state and log are in
<lakehouse>/_sql_server/ (run dir).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conf import PROJECT_ROOT
from jobs.context import RunContext
from store.lakehouse import Lakehouse

HELP = ("serve every lakehouse table by name over JDBC (Spark Thrift Server, read-only): "
        "start, stop, status or refresh")
ACTIONS = {
    "start": "start the server in the background and wait until it serves the tables",
    "stop": "stop the server; nothing is left running and the port is closed",
    "status": "say whether the server runs: pid, port, lakehouse, uptime (exit 3 when not)",
    "refresh": "register tables and views again now (the server also does it every "
               "sql_server.refresh_seconds)",
}
STATE, REQUEST, DONE, LOG_FILE = "server.json", "refresh.request", "refresh.done", "server.log"
NOT_RUNNING = 3  # status of a server that does not run (as LSB init scripts say it)
log = logging.getLogger("rural-risk")


class SqlServerError(ValueError):
    """The server could not be started, stopped or reached; the message says why."""


# -- command line ----------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    for action, text in ACTIONS.items():
        p = sub.add_parser(action, help=text, description=text)
        p.add_argument("--lakehouse", default=argparse.SUPPRESS, metavar="DIR",
                       help="lakehouse root folder (default: ./lakehouse)")
        if action == "start":
            p.add_argument("--port", type=int, default=None,
                           help="TCP port on localhost (default: sql_server.port, 10000)")
            p.add_argument("--timeout", type=float, default=None, metavar="S",
                           help="seconds to wait for the server (default: sql_server.start_timeout_seconds)")
            p.add_argument("--refresh-seconds", type=float, default=None, metavar="S",
                           help="look for new and removed tables every S seconds (default: "
                                "sql_server.refresh_seconds, 15; 0: only on `refresh`)")
        if action == "refresh":
            p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                           help="seconds to wait for the server to finish (default 120)")


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    return {"start": start, "stop": stop, "status": status, "refresh": refresh}[args.action](ctx, args)


# -- where the server keeps its files --------------------------------------------------------

def run_dir(lakehouse: Lakehouse) -> Path:
    """<lakehouse>/_sql_server for a local lakehouse; for other roots a folder per root in the
    project's .cache (the server of an hdfs:// lakehouse still runs on this machine)."""
    local = lakehouse.local_root()
    if local is not None:
        return local / "_sql_server"
    digest = hashlib.sha256(lakehouse.root.encode()).hexdigest()[:12]
    return PROJECT_ROOT / ".cache" / "sql-server" / digest


def read_state(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def is_server_process(pid: int) -> bool:
    """True when `pid` is a live server process of this module (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (not Linux): the pid is alive, trust the pid file
    return b"jobs.sql_server" in cmdline and b"serve" in cmdline


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _live_state(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(state of the running server, None) or (None, a note on a stale pid file it removed)."""
    state = read_state(folder)
    if state is None:
        return None, None
    if is_server_process(int(state["pid"])):
        return state, None
    (folder / STATE).unlink(missing_ok=True)
    return None, f"removed the stale pid file of pid {state['pid']}, which no longer runs"


def _settings(ctx: RunContext) -> dict[str, Any]:
    conf = {"port": 10000, "refresh_seconds": 15, "start_timeout_seconds": 180,
            "driver_memory": "2g", "read_only": True}
    conf.update(ctx.settings.get("sql_server", {}) or {})
    return conf


def _url(port: int) -> str:
    return f"jdbc:hive2://localhost:{port}/default"


def _uptime(started_at: str) -> str:
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(started_at)).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"{rest // 60}m{rest % 60:02d}s"


# -- start, stop, status, refresh ------------------------------------------------------------

def start(ctx: RunContext, args: argparse.Namespace) -> int:
    conf = _settings(ctx)
    port = int(conf["port"] if args.port is None else args.port)
    if not 0 < port < 65536:
        raise SqlServerError(f"--port: expected a TCP port 1..65535, got {port}")
    lh, folder = ctx.lakehouse, run_dir(ctx.lakehouse)
    state, note = _live_state(folder)
    if note:
        print(f"sql-server: {note}")
    if state is not None:
        if int(state["port"]) != port:
            raise SqlServerError(
                f"a server for {lh.root} already runs on port {state['port']} (pid {state['pid']}); "
                "stop it first with `rural-risk sql-server stop`")
        print(f"sql-server: already running at {_url(port)} (pid {state['pid']}, run {state['run_id']})")
        return 0
    if port_open(port):
        raise SqlServerError(f"port {port} on localhost is already in use by another program: "
                             "pass a free one with --port")
    local = lh.local_root()
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)  # an empty lakehouse is served as it fills
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (REQUEST, DONE):
        (folder / stale).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "jobs.sql_server", "serve", "--lakehouse", lh.root,
           "--port", str(port), "--profile", ctx.settings.profile, "--run-id", ctx.run_id,
           "--run-dir", str(folder), "--refresh-seconds",
           str(conf["refresh_seconds"] if args.refresh_seconds is None else args.refresh_seconds)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    with open(folder / LOG_FILE, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    print(f"sql-server: starting on port {port} for {lh.root} (pid {proc.pid}, run {ctx.run_id}); "
          f"log {folder / LOG_FILE}")
    timeout = float(args.timeout or conf["start_timeout_seconds"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(folder)
        if state and int(state["pid"]) == proc.pid and state.get("status") == "ready":
            print(f"sql-server: serving {len(state['tables'])} tables and {len(state['views'])} "
                  f"analyst views at {_url(port)} (read-only: {state['read_only']}; started in "
                  f"{time.monotonic() - (deadline - timeout):.0f} s)")
            return 0
        if proc.poll() is not None:
            raise SqlServerError(f"the server stopped while starting (exit {proc.returncode}): "
                                 f"{_last_error(folder / LOG_FILE)} (log {folder / LOG_FILE})")
        time.sleep(0.5)
    _terminate(proc.pid)
    raise SqlServerError(f"the server did not serve on port {port} within {timeout:g} s and was "
                         f"stopped (log {folder / LOG_FILE})")


def _last_error(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "no log"
    marked = [ln for ln in lines if " ERROR " in ln or "Error" in ln or "Exception" in ln]
    return (marked or [ln for ln in lines if ln] or ["no output"])[-1][:500]


def _terminate(pid: int, grace: float = 30.0) -> None:
    """Stop the server: SIGTERM to its Python process (it stops the Thrift server and Spark),
    then SIGTERM and after 5 s SIGKILL to whatever of its process group (the JVM) is left."""
    def group_alive() -> bool:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-pid, os.WNOHANG)  # reap them when this process started them
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return False
        return True

    for target, sig, wait in ((os.kill, signal.SIGTERM, grace), (os.killpg, signal.SIGTERM, 5.0),
                              (os.killpg, signal.SIGKILL, 5.0)):
        try:
            target(pid, sig)
        except ProcessLookupError:
            if target is os.kill:
                continue
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_alive():
                return
            time.sleep(0.2)


def stop(ctx: RunContext, args: argparse.Namespace) -> int:
    folder = run_dir(ctx.lakehouse)
    state, note = _live_state(folder)
    if state is None:
        print(f"sql-server: not running for {ctx.lakehouse.root}" + (f" ({note})" if note else ""))
        return 0
    pid, port = int(state["pid"]), int(state["port"])
    print(f"sql-server: stopping pid {pid} on port {port} (run {state['run_id']})")
    _terminate(pid)
    (folder / STATE).unlink(missing_ok=True)
    deadline = time.monotonic() + 10
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    if port_open(port):
        raise SqlServerError(f"pid {pid} stopped but port {port} is still open: another program holds it")
    print(f"sql-server: stopped; port {port} is closed")
    return 0


def status(ctx: RunContext, args: argparse.Namespace) -> int:
    state, note = _live_state(run_dir(ctx.lakehouse))
    if state is None:
        print(f"sql-server: not running for {ctx.lakehouse.root}" + (f" ({note})" if note else ""))
        return NOT_RUNNING
    port = int(state["port"])
    listening = "listening" if port_open(port) else "NOT listening (still starting?)"
    print(f"sql-server: running, pid {state['pid']}, port {port} {listening}, {_url(port)}\n"
          f"  lakehouse {state['lakehouse']}, up {_uptime(state['started_at'])}, run {state['run_id']}\n"
          f"  {len(state['tables'])} tables, {len(state['views'])} analyst views, last refresh "
          f"{state.get('refreshed_at', '-')}, read-only: {state['read_only']}\n"
          f"  log {run_dir(ctx.lakehouse) / LOG_FILE}")
    return 0


def refresh(ctx: RunContext, args: argparse.Namespace) -> int:
    folder = run_dir(ctx.lakehouse)
    state, note = _live_state(folder)
    if state is None:
        raise SqlServerError(f"no server runs for {ctx.lakehouse.root}"
                             + (f" ({note})" if note else "") + ": start one with `rural-risk sql-server start`")
    token = ctx.run_id
    _write_json(folder / REQUEST, {"token": token})
    deadline = time.monotonic() + float(args.timeout)
    while time.monotonic() < deadline:
        done = read_state_file(folder / DONE)
        if done and done.get("token") == token:
            if done.get("error"):
                raise SqlServerError(f"refresh failed in the server: {done['error']}")
            print(f"sql-server: refreshed {len(done['tables'])} tables and {len(done['views'])} analyst "
                  f"views (new: {', '.join(done['new']) or 'none'}; gone: {', '.join(done['gone']) or 'none'})")
            return 0
        if not is_server_process(int(state["pid"])):
            raise SqlServerError(f"the server (pid {state['pid']}) stopped: {_last_error(folder / LOG_FILE)}")
        time.sleep(0.3)
    raise SqlServerError(f"the server did not answer the refresh within {args.timeout:g} s "
                         f"(log {folder / LOG_FILE})")


def read_state_file(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# -- Landlock: no writes below the lakehouse root from the server process ---------------------

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same on every arch
_PR_SET_NO_NEW_PRIVS = 38
_FILE_WRITE = (1 << 1)  # WRITE_FILE; TRUNCATE (1 << 14) from ABI 3
_DIR_WRITE = _FILE_WRITE | sum(1 << b for b in range(4, 13))  # REMOVE_*, MAKE_*


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def writable_paths(lake_root: Path, keep: list[Path]) -> list[Path]:
    """Where the server may still write: everything beside the path from / down to the
    lakehouse root (each sibling entry at each level), and the `keep` folders (the run dir).
    Landlock rules only allow, so the root is cut out by allowing all around it."""
    root = lake_root.resolve()
    chain = [root, *root.parents]
    out: list[Path] = []
    for parent, child in zip(chain[1:], chain[:-1], strict=True):
        try:
            entries = list(parent.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name == child.name:
                continue
            try:
                target = entry.resolve()
            except OSError:
                continue
            if target == root or root in target.parents or target in root.parents:
                continue  # a link into (or above) the lakehouse stays read-only
            out.append(entry)
    return out + keep


def restrict_writes(lake_root: Path, keep: list[Path]) -> str:
    """Forbid this process and its children (the JVM) to write below `lake_root`, except in
    `keep`. Returns how: 'landlock', or a sentence why the kernel offers nothing."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 0:
        return f"views only (this kernel has no Landlock: {os.strerror(ctypes.get_errno())})"
    file_write = _FILE_WRITE | ((1 << 14) if abi >= 3 else 0)
    dir_write = _DIR_WRITE | file_write | ((1 << 13) if abi >= 2 else 0)  # REFER from ABI 2
    handled = ctypes.c_uint64(dir_write)
    fd = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(handled), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if fd < 0:
        return f"views only (Landlock refused a ruleset: {os.strerror(ctypes.get_errno())})"
    try:
        for path in writable_paths(lake_root, keep):
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                access = dir_write if os.path.isdir(path) else file_write
                rule = _PathBeneath(access, pfd)
                libc.syscall(_SYS_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(1), ctypes.byref(rule),
                             ctypes.c_uint32(0))
            finally:
                os.close(pfd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"views only (no_new_privs refused: {os.strerror(ctypes.get_errno())})"
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return f"views only (Landlock refused: {os.strerror(ctypes.get_errno())})"
    finally:
        os.close(fd)
    return "views, and no writes below the lakehouse root (Landlock)"


# -- the server process ----------------------------------------------------------------------

def _spark_overrides(settings: Any, folder: Path, port: int, memory: str) -> None:
    """Settings of the server's Spark session: its scratch files in the run dir (the server may
    not write anywhere beside the path to the lakehouse), the in-memory catalog, the port."""
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    conf = settings.data.setdefault("spark", {}).setdefault("conf", {})
    for sub in ("hive", "hive-local", "hive-resources"):
        (tmp / sub).mkdir(exist_ok=True)
    java = f"-Djava.io.tmpdir={tmp} -XX:-UsePerfData"
    conf["spark.driver.extraJavaOptions"] = f"{conf.get('spark.driver.extraJavaOptions', '')} {java}".strip()
    conf.update({
        "spark.driver.memory": memory,
        "spark.local.dir": str(tmp),
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.sql.catalogImplementation": "in-memory",
        "spark.hive.server2.thrift.port": str(port),
        "spark.hive.server2.thrift.bind.host": "localhost",
        "spark.hive.exec.scratchdir": str(tmp / "hive"),
        "spark.hive.exec.local.scratchdir": str(tmp / "hive-local"),
        "spark.hive.downloaded.resources.dir": str(tmp / "hive-resources"),
        "spark.ui.enabled": "false",
        # What `start-thriftserver.sh` sets (SparkSQLEnv): the Thrift rows take java.time values.
        "spark.sql.datetime.java8API.enabled": "true",
        # Delta answers max(date column) from file statistics with java.sql.Date values, which
        # fails under the java.time values above (ClassCastException): let Spark compute it.
        "spark.databricks.delta.optimizeMetadataQuery.enabled": "false",
    })
    conf["spark.driver.extraClassPath"] = os.pathsep.join(str(j) for j in driver_class_path(settings))
    # HiveServer2 reads these first (ThriftCLIService).
    os.environ["HIVE_SERVER2_THRIFT_PORT"] = str(port)
    os.environ["HIVE_SERVER2_THRIFT_BIND_HOST"] = "localhost"
    os.environ["TMPDIR"] = str(tmp)
    import tempfile

    tempfile.tempdir = None


def driver_class_path(settings: Any) -> list[Path]:
    """The Delta jars for the driver's class path. The Thrift server's sessions load the Delta
    catalog through the JVM's own class loader, which does not see spark.jars (added later, to
    Spark's loader). Jars of artifacts pyspark ships itself stay out: the class path comes
    first, and the cache's older Jackson would break Spark's (Jackson is left to spark.jars)."""
    import pyspark

    from jobs.jars import ensure_jars

    def artifact(jar_name: str) -> str:
        return re.sub(r"-\d[\w.\-]*\.jar$", "", jar_name)

    shipped = {artifact(p.name) for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    return [j for j in ensure_jars(settings)
            if artifact(j.name.split("_", 1)[-1]) not in shipped and "jackson" not in j.name]


class _Catalog:
    """What the server has registered: table views by name, analyst views."""

    def __init__(self, spark: Any, lakehouse: Lakehouse) -> None:
        self.spark, self.lakehouse = spark, lakehouse
        self.tables: list[str] = []
        self.views: list[str] = []

    def sync(self, full: bool) -> tuple[list[str], list[str]]:
        """Register what the path layout holds now: (new tables, gone tables). `full` replaces
        every view (a table rewritten with other columns, views an analyst dropped)."""
        from jobs import views

        present = self.lakehouse.existing_tables(self.spark)
        new = [n for n in present if n not in self.tables]
        gone = [n for n in self.tables if n not in present]
        for name in gone:
            views.drop_view(self.spark, name)
        views.create_table_views(self.spark, self.lakehouse, present if full else new)
        if full or new or gone:
            for v in views.VIEWS:
                if not set(v.needs) <= set(present):
                    views.drop_view(self.spark, v.name)
        made = views.create_analyst_views(self.spark, present, only_missing=not (full or new))
        self.tables = present
        self.views = sorted({*(v for v in self.views if self.spark.catalog.tableExists(v)), *made})
        return new, gone


def serve(argv: list[str]) -> int:
    """The background process `start` runs: Spark, the Thrift server, and the refresh loop."""
    p = argparse.ArgumentParser(prog="python -m jobs.sql_server serve")
    for opt in ("--lakehouse", "--profile", "--run-id", "--run-dir"):
        p.add_argument(opt, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--refresh-seconds", type=float, required=True)
    args = p.parse_args(argv)
    from conf import load_settings
    from jobs.context import setup_logging

    setup_logging(args.run_id)
    settings = load_settings(args.profile)
    lh, folder = Lakehouse(args.lakehouse), Path(args.run_dir)
    ctx = RunContext(settings=settings, lakehouse=lh, run_id=args.run_id)
    conf = _settings(ctx)
    read_only = "views only (sql_server.read_only is false)"
    if conf["read_only"] and lh.local_root() is not None:
        read_only = restrict_writes(lh.local_root(), [folder])
    elif conf["read_only"]:
        read_only = "views only (Landlock guards local lakehouses only)"
    log.info("sql-server: read-only by %s", read_only)
    _spark_overrides(settings, folder, args.port, str(conf["driver_memory"]))
    stopping = {"now": False}

    def on_signal(signum: int, frame: Any) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from jobs.spark import build_spark
    from jobs.views import create_databases

    spark = build_spark(settings, app_name=f"rural-risk-sql-server-{args.port}")
    create_databases(spark)
    catalog = _Catalog(spark, lh)
    catalog.sync(full=True)
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - the Thrift server has no Python API
    server = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(
        spark._jsparkSession.sqlContext())  # noqa: SLF001
    deadline = time.monotonic() + 60
    while not port_open(args.port) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not port_open(args.port):
        log.error("sql-server: the Thrift server did not open port %d", args.port)
        return 1
    started = datetime.now(UTC).isoformat(timespec="seconds")
    state = {"pid": os.getpid(), "port": args.port, "lakehouse": lh.root, "run_id": args.run_id,
             "started_at": started, "refreshed_at": started, "status": "ready",
             "read_only": read_only, "tables": catalog.tables, "views": catalog.views}
    _write_json(folder / STATE, state)
    log.info("sql-server: serving %d tables and %d analyst views of %s at %s", len(catalog.tables),
             len(catalog.views), lh.root, _url(args.port))
    every = args.refresh_seconds
    last = time.monotonic()
    while not stopping["now"]:
        time.sleep(0.5)
        request = read_state_file(folder / REQUEST)
        if request is None and (every <= 0 or time.monotonic() - last < every):
            continue
        full = request is not None
        (folder / REQUEST).unlink(missing_ok=True)
        answer: dict[str, Any] = {"token": (request or {}).get("token")}
        try:
            new, gone = catalog.sync(full=full)
            answer.update(new=new, gone=gone, tables=catalog.tables, views=catalog.views)
            if full or new or gone:
                log.info("sql-server: refresh%s: %d tables, %d analyst views (new: %s; gone: %s)",
                         " (asked)" if full else "", len(catalog.tables), len(catalog.views),
                         ", ".join(new) or "none", ", ".join(gone) or "none")
        except Exception as exc:  # keep serving what was registered; say why in the log
            answer["error"] = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else repr(exc)
            log.warning("sql-server: refresh failed: %s", answer["error"])
        last = time.monotonic()
        state.update(refreshed_at=datetime.now(UTC).isoformat(timespec="seconds"),
                     tables=catalog.tables, views=catalog.views)
        _write_json(folder / STATE, state)
        if full:
            _write_json(folder / DONE, answer)
    log.info("sql-server: stopping")
    with contextlib.suppress(Exception):
        server.stop()
    spark.stop()
    (folder / STATE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        raise SystemExit("usage: rural-risk sql-server start|stop|status|refresh (this module's "
                         "`serve` is the process `start` runs)")
    raise SystemExit(serve(sys.argv[2:]))
