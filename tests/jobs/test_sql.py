"""`rural-risk sql` is read-only unless --allow-writes: statements are classified from the
session parser's plan. Parsing only, except one test that runs a write and a read."""

from __future__ import annotations

import argparse

import pytest

from jobs.cli import build_parser, main
from jobs.sql import ReadOnlyError, check_read_only, run

ALLOWED = [
    "SELECT 1",
    "WITH q AS (SELECT 1 AS a) SELECT a FROM q",
    "VALUES (1, 'a'), (2, 'b')",
    "TABLE gold.village_risk",
    "SELECT village_id, count(*) AS n FROM silver.incidents GROUP BY village_id "
    "HAVING count(*) > 1 ORDER BY n DESC LIMIT 5",
    "SELECT v.*, rank() OVER (PARTITION BY township ORDER BY probability DESC) AS r "
    "FROM gold.village_risk AS v",
    "SELECT * FROM gold.village_risk WHERE village_id IN (SELECT village_id FROM silver.villages)",
    "SELECT * FROM gold.village_risk VERSION AS OF 1",
    "SELECT * FROM range(3)",
    "SHOW TABLES",
    "SHOW TABLES IN gold",
    "SHOW DATABASES",
    "SHOW COLUMNS IN gold.village_risk",
    "DESCRIBE gold.x",
    "DESCRIBE TABLE EXTENDED gold.village_risk",
    "DESCRIBE HISTORY gold.village_risk",
    "EXPLAIN SELECT 1",
    "EXPLAIN FORMATTED SELECT * FROM gold.village_risk",
]

REFUSED = [
    ("DROP TABLE gold.x", "DROP TABLE (DropTable) is not a query, SHOW, DESCRIBE or EXPLAIN"),
    ("DELETE FROM silver.x WHERE 1=1", "DELETE (DeleteFromTable) is not"),
    ("INSERT INTO gold.x VALUES (1)", "INSERT (InsertIntoStatement) is not"),
    ("MERGE INTO gold.x AS t USING silver.y AS s ON t.id = s.id WHEN MATCHED THEN DELETE",
     "MERGE (MergeIntoTable) is not"),
    ("UPDATE gold.x SET a = 1", "UPDATE (UpdateTable) is not"),
    ("ALTER TABLE gold.x ADD COLUMNS (y INT)", "is not a query"),
    ("CREATE TABLE gold.y (a INT) USING delta", "is not a query"),
    ("CREATE TEMPORARY VIEW v AS SELECT 1", "is not a query"),
    ("SET spark.x=1", "SET (SetCommand) is not"),
    ("RESET", "RESET (ResetCommand) is not"),
    ("USE gold", "is not a query"),
    ("ADD JAR /tmp/x.jar", "ADD JAR (AddJarsCommand) is not"),
    ("CACHE TABLE gold.x", "CACHE TABLE (CacheTable) is not"),
    ("REFRESH TABLE gold.x", "is not a query"),
    ("VACUUM gold.x", "is not a query"),
    ("SELECT * FROM parquet.`/etc`", "parquet.`/etc` reads files directly, not a lakehouse table"),
    ("SELECT * FROM JSON.`/tmp/x`", "JSON.`/tmp/x` reads files directly"),
    ("SELECT * FROM spark_catalog.delta.`/tmp/t`", "spark_catalog.delta.`/tmp/t` reads files"),
    ("SELECT * FROM `org.apache.spark.sql.parquet`.`/etc`", "reads files directly"),
    ("SELECT * FROM gold.x WHERE id IN (SELECT id FROM csv.`/tmp/ids.csv`)",
     "csv.`/tmp/ids.csv` reads files directly"),
    ("SELECT (SELECT max(value) FROM text.`/etc/passwd`) AS v", "text.`/etc/passwd` reads files"),
    ("WITH f AS (SELECT * FROM text.`/etc/passwd`) SELECT * FROM f",
     "text.`/etc/passwd` reads files directly"),
    ("SELECT * FROM gold.x AS a JOIN (SELECT * FROM orc.`/o`) AS b ON a.id = b.id",
     "orc.`/o` reads files"),
    ("DESCRIBE delta.`/tmp/t`", "delta.`/tmp/t` reads files directly"),
    ("DESCRIBE HISTORY '/tmp/t'", "'/tmp/t' is a path"),
    ("SELECT * FROM read_files('/etc')", "the table function read_files(...) is not one"),
    ("SELECT reflect('java.lang.System', 'getenv', 'HOME')", "reflect(...) calls Java methods"),
    ("EXPLAIN DELETE FROM gold.x WHERE 1=1", "DELETE (DeleteFromTable) under EXPLAIN is not"),
    ("EXPLAIN SELECT * FROM parquet.`/etc`", "parquet.`/etc` reads files directly"),
]


@pytest.mark.parametrize("query", ALLOWED)
def test_read_only_statements_pass(spark, query):
    check_read_only(spark, query)


@pytest.mark.parametrize(("query", "reason"), REFUSED)
def test_writes_and_file_reads_are_refused_without_the_flag(spark, query, reason):
    with pytest.raises(ReadOnlyError) as refused:
        check_read_only(spark, query)
    message = str(refused.value)
    assert message.startswith("rural-risk sql is read-only: ")
    assert reason in message
    assert message.endswith("; pass --allow-writes to run it")
    assert "\n" not in message


def test_the_refusal_message_in_full(spark):
    with pytest.raises(ReadOnlyError) as refused:
        check_read_only(spark, "DROP TABLE gold.x")
    assert str(refused.value) == (
        "rural-risk sql is read-only: DROP TABLE (DropTable) is not a query, SHOW, DESCRIBE "
        "or EXPLAIN; pass --allow-writes to run it"
    )


@pytest.mark.parametrize("query", ["SELECT 1; DROP TABLE gold.x", "SELECT 1; SELECT 2", "SELEC 1"])
def test_several_statements_or_bad_sql_do_not_parse(spark, query):
    with pytest.raises(ValueError, match="^SQL does not parse: "):
        check_read_only(spark, query)


def _args(query: str, allow_writes: bool = False) -> argparse.Namespace:
    return argparse.Namespace(query=query, limit=50, format="json", allow_writes=allow_writes)


def test_allow_writes_lets_a_write_through_and_a_read_runs_without_it(ctx, spark, capsys):
    view = "rr_sql_allow_writes"
    create = f"CREATE OR REPLACE TEMPORARY VIEW {view} AS SELECT 7 AS seven"
    files_setting = spark.conf.get("spark.sql.runSQLOnFiles")
    with pytest.raises(ReadOnlyError, match="pass --allow-writes to run it"):
        run(ctx, _args(create))
    assert not spark.catalog.tableExists(view)
    try:
        assert run(ctx, _args(create, allow_writes=True)) == 0
        assert spark.catalog.tableExists(view)
        capsys.readouterr()
        assert run(ctx, _args(f"SELECT seven FROM {view}")) == 0
        assert capsys.readouterr().out == '{"seven": 7}\n'
    finally:
        spark.catalog.dropTempView(view)
    assert spark.conf.get("spark.sql.runSQLOnFiles") == files_setting  # put back after the read


def test_the_cli_has_the_flag_off_by_default(capsys):
    parser = build_parser()
    assert parser.parse_args(["sql", "SELECT 1"]).allow_writes is False
    assert parser.parse_args(["sql", "DELETE FROM gold.x", "--allow-writes"]).allow_writes is True
    with pytest.raises(SystemExit):
        main(["sql", "--help"])
    usage = capsys.readouterr().out
    assert "--allow-writes" in usage and "read-only" in usage
