"""`rural-risk sql-server`: the Spark Thrift Server serves a small lakehouse by name to a real
beeline (the client in pyspark's jars), refuses writes, picks up a table written after the
start, and leaves nothing behind when stopped. Then change data feed on the followed gold
tables, read back by Spark and by delta-rs.

The lakehouse for the server is written with delta-rs (no Spark in this process while the
server, itself a Spark application, runs), rows made from the catalog's schemas.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "rural-risk"
JARS = Path(__import__("pyspark").__file__).parent / "jars"


def _value(dtype, i: int):
    from pyspark.sql import types as T

    if isinstance(dtype, T.StringType):
        return f"x{i}"
    if isinstance(dtype, T.IntegerType | T.LongType):
        return i + 1
    if isinstance(dtype, T.DoubleType):
        return 0.5
    if isinstance(dtype, T.BooleanType):
        return i % 2 == 0
    if isinstance(dtype, T.DateType):
        return date(2024, 5, 1)
    if isinstance(dtype, T.TimestampType):
        return datetime(2024, 5, 1, tzinfo=UTC)
    if isinstance(dtype, T.ArrayType):
        return [_value(dtype.elementType, i)]
    return None


def write_table(root: Path, name: str, rows: int, settings) -> None:
    """`rows` rows of the catalog's schema of `name`, written by delta-rs at its path."""
    import pyarrow as pa
    from deltalake import write_deltalake
    from pyspark.sql.pandas.types import to_arrow_schema

    from store.catalog import schema, sections_of

    fields = schema(name, sections_of(settings))
    data = [{f.name: _value(f.dataType, i) for f in fields.fields} for i in range(rows)]
    layer, table = name.split(".")
    write_deltalake(str(root / layer / table), pa.Table.from_pylist(data, schema=to_arrow_schema(fields)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "--profile", "test", *args], capture_output=True, text=True,
                          timeout=240)


def beeline(port: int, sql: str) -> tuple[int, str]:
    """Run `sql` through beeline; (exit code, rows as CSV without header, or the error text)."""
    cmd = ["java", "-cp", f"{JARS}/*", "org.apache.hive.beeline.BeeLine",
           "-u", f"jdbc:hive2://localhost:{port}/default", "--silent=true", "--showHeader=false",
           "--outputformat=csv2", "-e", sql]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    lines = (re.sub(r"^\d+: jdbc:\S+> ?", "", ln) for ln in (proc.stdout + proc.stderr).splitlines())
    out = [ln for ln in lines if ln.strip() and not ln.startswith(("SLF4J", "WARNING", "\tat "))]
    return proc.returncode, "\n".join(out)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_sql_server_serves_refuses_writes_refreshes_and_stops(settings, tmp_path):
    from deltalake import DeltaTable

    lh = tmp_path / "lakehouse"
    write_table(lh, "gold.village_risk", 5, settings)
    write_table(lh, "gold.patrol_plan", 7, settings)
    write_table(lh, "ops.quarantine", 4, settings)
    port = free_port()
    started = cli("sql-server", "start", "--lakehouse", str(lh), "--port", str(port),
                  "--refresh-seconds", "2")
    assert started.returncode == 0, started.stdout + started.stderr
    state = json.loads((lh / "_sql_server" / "server.json").read_text())
    try:
        assert f"serving 3 tables and 2 analyst views at jdbc:hive2://localhost:{port}/default" in started.stdout
        assert state["tables"] == ["gold.patrol_plan", "gold.village_risk", "ops.quarantine"]
        assert state["read_only"] == "views, and no writes below the lakehouse root (Landlock)"

        assert beeline(port, "SELECT count(*) FROM gold.village_risk") == (0, "5")
        # villages x0..x4 each have one plan row of 0.5 h; x5, x6 are not in the risk list
        assert beeline(port, "SELECT count(*), sum(planned_hours), min(period_start) "
                             "FROM analyst.latest_risk_list") == (0, "5,2.5,2024-05-01")
        assert beeline(port, "SELECT source, reason, records FROM analyst.quarantine_by_reason "
                             "ORDER BY source LIMIT 2") == (0, "x0,x0,1\nx1,x1,1")

        rc, err = beeline(port, "DELETE FROM gold.village_risk")
        assert rc != 0 and "DELETE destination only supports Delta sources" in err, err
        assert "View (`spark_catalog`.`gold`.`village_risk`" in err
        rc, err = beeline(port, f"DELETE FROM delta.`{lh}/gold/village_risk`")  # by path: Landlock
        assert rc != 0 and "Permission denied" in err, err
        assert len(DeltaTable(str(lh / "gold" / "village_risk")).to_pandas()) == 5

        # written after the start: served after the next look at the layout (every 2 s here)
        write_table(lh, "gold.model_metrics", 3, settings)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = json.loads((lh / "_sql_server" / "server.json").read_text())
            if "gold.model_metrics" in state["tables"]:
                break
            time.sleep(0.5)
        assert beeline(port, "SELECT count(*) FROM gold.model_metrics") == (0, "3")
        assert beeline(port, "SELECT count(*) FROM analyst.model_performance") == (0, "3")
        write_table(lh, "ops.ingest_log", 2, settings)
        refreshed = cli("sql-server", "refresh", "--lakehouse", str(lh))
        assert refreshed.returncode == 0, refreshed.stderr
        assert "refreshed 5 tables and 3 analyst views (new: ops.ingest_log; gone: none)" in refreshed.stdout
        assert beeline(port, "SELECT count(*) FROM ops.ingest_log") == (0, "2")

        shown = cli("sql-server", "status", "--lakehouse", str(lh))
        assert shown.returncode == 0
        assert f"running, pid {state['pid']}, port {port} listening" in shown.stdout
        assert f"lakehouse {lh}, up " in shown.stdout
    finally:
        stopped = cli("sql-server", "stop", "--lakehouse", str(lh))
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped; port {port} is closed" in stopped.stdout
    assert not _listening(port)
    assert not Path(f"/proc/{state['pid']}").exists()
    leftover = subprocess.run(["pgrep", "-f", f"rural-risk-sql-server-{port}"], capture_output=True)
    assert leftover.stdout == b""  # the JVM went with its Python process
    gone = cli("sql-server", "status", "--lakehouse", str(lh))
    assert gone.returncode == 3 and gone.stdout.startswith("sql-server: not running")


def test_a_stale_pid_file_is_removed(settings, tmp_path):
    folder = tmp_path / "lakehouse" / "_sql_server"
    folder.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (folder / "server.json").write_text(json.dumps({"pid": dead.pid, "port": 1}))
    shown = cli("sql-server", "status", "--lakehouse", str(tmp_path / "lakehouse"))
    assert shown.returncode == 3
    assert f"removed the stale pid file of pid {dead.pid}, which no longer runs" in shown.stdout
    assert not (folder / "server.json").exists()
    assert cli("sql-server", "stop", "--lakehouse", str(tmp_path / "lakehouse")).returncode == 0


def test_writable_paths_leave_out_the_lakehouse_root_and_keep_the_run_dir(tmp_path):
    from jobs.sql_server import writable_paths

    root = tmp_path / "a" / "lakehouse"
    (root / "gold").mkdir(parents=True)
    (tmp_path / "a" / "other").mkdir()
    (tmp_path / "a" / "link").symlink_to(root / "gold")
    (tmp_path / "b.txt").write_text("x")
    keep = root / "_sql_server"
    got = writable_paths(root, [keep])
    assert tmp_path / "a" / "other" in got and tmp_path / "b.txt" in got and keep in got
    for p in (root, root / "gold", tmp_path / "a", tmp_path, tmp_path / "a" / "link"):
        assert p not in got
    assert all(root not in p.resolve().parents or p == keep for p in got)


def test_change_data_feed_on_the_followed_gold_tables(ctx):
    from deltalake import DeltaTable as RustTable

    from store.schemas import PATROL_PLAN_SCHEMA

    spark, lh = ctx.spark, ctx.lakehouse
    schema = PATROL_PLAN_SCHEMA
    lh.create(spark, "gold.patrol_plan", schema)
    path = lh.path("gold.patrol_plan")
    rows = [("V1", date(2024, 5, 1), "police", 2.0, 1, "r", "run1"),
            ("V2", date(2024, 5, 1), "police", 3.0, 1, "r", "run1")]
    spark.createDataFrame(rows, schema).write.format("delta").mode("append").save(path)
    spark.sql(f"UPDATE delta.`{path}` SET hours = 4.0 WHERE village_id = 'V2'")
    changes = sorted(
        (r["village_id"], r["_change_type"], r["hours"], r["_commit_version"])
        for r in spark.sql(f"SELECT * FROM table_changes_by_path('{path}', 1)").collect())
    assert changes == [("V1", "insert", 2.0, 1), ("V2", "insert", 3.0, 1),
                       ("V2", "update_postimage", 4.0, 2), ("V2", "update_preimage", 3.0, 2)]
    rust = RustTable(path)
    assert rust.metadata().configuration["delta.enableChangeDataFeed"] == "true"
    assert rust.metadata().configuration["delta.enableDeletionVectors"] == "false"
    assert sorted(rust.to_pandas()["hours"]) == [2.0, 4.0]  # delta-rs still reads it

    # a table made before the property was in the catalog gets it once, in one commit
    from delta.tables import DeltaTable

    from store.schemas import VILLAGE_RISK_SCHEMA as RISK_SCHEMA

    old = lh.path("gold.village_risk")
    DeltaTable.createIfNotExists(spark).location(old).addColumns(RISK_SCHEMA) \
        .property("delta.enableDeletionVectors", "false").execute()
    lh.create(spark, "gold.village_risk", RISK_SCHEMA)
    lh.create(spark, "gold.village_risk", RISK_SCHEMA)
    props = RustTable(old).metadata().configuration
    assert props["delta.enableChangeDataFeed"] == "true"
    assert [h["operation"] for h in RustTable(old).history()] == ["SET TBLPROPERTIES", "CREATE TABLE"]
    assert len(RustTable(old).to_pandas()) == 0
    assert os.path.isdir(os.path.join(old, "_delta_log"))
