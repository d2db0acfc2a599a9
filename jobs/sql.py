"""`rural-risk sql`: run one SQL statement over the lakehouse tables (layer.table names).

Read-only by default: the statement is parsed with the session's own parser (Spark's, with
Delta's extensions) and its unresolved plan must be a query, SHOW, DESCRIBE or EXPLAIN of
one, reading lakehouse tables only. Anything else needs --allow-writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from jobs.arguments import count
from jobs.context import RunContext

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True


def WRITES_LAKEHOUSE(args: argparse.Namespace) -> bool:  # noqa: N802 - read by jobs/cli.py like the others' flag
    """Only a statement allowed to write takes the lakehouse write lock."""
    return bool(getattr(args, "allow_writes", False))


HELP = (
    "run a read-only SQL query over the lakehouse (SELECT, SHOW, DESCRIBE, EXPLAIN), "
    "e.g. \"SELECT * FROM gold.village_risk\"; anything else needs --allow-writes"
)

ALLOWED_KINDS = "a query, SHOW, DESCRIBE or EXPLAIN"

# Plan nodes (simple class names, as the parser makes them, before analysis) a read-only
# statement may consist of. Everything not listed is refused.
QUERY_NODES = frozenset({
    "Project", "Filter", "Aggregate", "Join", "LateralJoin", "Sort", "GlobalLimit",
    "LocalLimit", "Offset", "Tail", "Distinct", "Deduplicate", "Union", "Intersect",
    "Except", "SubqueryAlias", "OneRowRelation", "LocalRelation", "Window",
    "WithWindowDefinition", "Generate", "Pivot", "Unpivot", "Sample", "Repartition",
    "RepartitionByExpression", "RebalancePartitions", "Expand", "UnresolvedWith", "WithCTE",
    "UnresolvedHint", "UnresolvedHaving", "UnresolvedInlineTable",
    "UnresolvedSubqueryColumnAliases", "UnresolvedTVFAliases",
    # checked further below: table names, table functions, time travel
    "UnresolvedRelation", "UnresolvedTableValuedFunction", "RelationTimeTravel",
})
SHOW_DESCRIBE_NODES = frozenset({
    "ShowTables", "ShowTablesExtended", "ShowTablePartition", "ShowViews", "ShowColumns",
    "ShowFunctions", "ShowPartitions", "ShowCreateTable", "ShowTableProperties",
    "ShowCatalogsCommand", "ShowCurrentNamespaceCommand", "ShowNamespacesCommand",
    "DescribeRelation", "DescribeColumn", "DescribeNamespace", "DescribeFunction",
    "DescribeQueryCommand", "DescribeDeltaDetailCommand", "DescribeDeltaHistory",
    # what SHOW and DESCRIBE name
    "UnresolvedTable", "UnresolvedTableOrView", "UnresolvedView", "UnresolvedNamespace",
    "CurrentNamespace", "UnresolvedFunctionName", "UnresolvedPathOrIdentifier",
    *("UnresolvedPathBasedDeltaTable", "UnresolvedPathBasedTable"),  # refused: a path
})
TABLE_NODES = frozenset({"UnresolvedRelation", "UnresolvedTable", "UnresolvedTableOrView",
                         "UnresolvedView"})
# A name qualified by one of these reads files by path (Spark's SQL on files, Delta's
# delta.`/path`), not a table of the lakehouse. Compared case-insensitively.
FILE_SOURCES = frozenset({
    "parquet", "csv", "json", "text", "orc", "avro", "binaryfile", "delta", "xml", "image",
    "libsvm", "jdbc", "hive", "kafka", "noop", "console", "rate", "socket",
})
# Table-valued functions that compute rows and read nothing.
SAFE_TABLE_FUNCTIONS = frozenset({
    "range", "explode", "explode_outer", "inline", "inline_outer", "posexplode",
    "posexplode_outer", "json_tuple", "stack", "variant_explode", "variant_explode_outer",
    "sql_keywords", "collations",
})
# Built-ins that call arbitrary static Java methods (System.getenv, System.setProperty, ...).
JAVA_CALLS = frozenset({"reflect", "java_method", "try_reflect"})

STATEMENT_NAMES = {
    "DropTable": "DROP TABLE", "DropView": "DROP VIEW", "DropNamespace": "DROP DATABASE",
    "DeleteFromTable": "DELETE", "InsertIntoStatement": "INSERT", "MergeIntoTable": "MERGE",
    "UpdateTable": "UPDATE", "OverwriteByExpression": "INSERT OVERWRITE",
    "CreateTable": "CREATE TABLE", "CreateTableAsSelect": "CREATE TABLE AS SELECT",
    "ReplaceTable": "REPLACE TABLE", "CreateView": "CREATE VIEW",
    "CreateViewCommand": "CREATE VIEW", "CreateNamespace": "CREATE DATABASE",
    "AddColumns": "ALTER TABLE ADD COLUMNS", "DropColumns": "ALTER TABLE DROP COLUMNS",
    "RenameColumn": "ALTER TABLE RENAME COLUMN", "AlterColumns": "ALTER TABLE ALTER COLUMN",
    "RenameTable": "ALTER TABLE RENAME", "SetTableProperties": "ALTER TABLE SET TBLPROPERTIES",
    "UnsetTableProperties": "ALTER TABLE UNSET TBLPROPERTIES",
    "SetCommand": "SET", "ResetCommand": "RESET", "SetCatalogAndNamespace": "USE",
    "AddJarsCommand": "ADD JAR", "AddFilesCommand": "ADD FILE",
    "AddArchivesCommand": "ADD ARCHIVE", "CacheTable": "CACHE TABLE",
    "CacheTableAsSelect": "CACHE TABLE", "UncacheTable": "UNCACHE TABLE",
    "ClearCacheCommand": "CLEAR CACHE", "RefreshTable": "REFRESH TABLE",
    "RefreshResource": "REFRESH", "RepairTable": "MSCK REPAIR TABLE",
    "TruncateTable": "TRUNCATE TABLE", "VacuumTableCommand": "VACUUM",
    "OptimizeTableCommand": "OPTIMIZE", "RestoreTableStatement": "RESTORE",
    "CompoundBody": "a SQL script", "PlanWithUnresolvedIdentifier": "IDENTIFIER(...)",
}

_RUN_SQL_ON_FILES = "spark.sql.runSQLOnFiles"
READS_FILES = "reads files directly, not a lakehouse table"
_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ReadOnlyError(ValueError):
    """A statement that `rural-risk sql` runs only with --allow-writes."""

    def __init__(self, what: str) -> None:
        super().__init__(f"rural-risk sql is read-only: {what}; pass --allow-writes to run it")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        help="one Spark SQL statement; tables are named layer.table. Without --allow-writes "
        "only SELECT (WITH, VALUES, TABLE), SHOW, DESCRIBE and EXPLAIN of lakehouse tables",
    )
    parser.add_argument("--limit", type=count(0), default=50, help="rows to show (default 50; 0 = all)")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    parser.add_argument(
        "--allow-writes", action="store_true",
        help="also run statements that change tables or the session (INSERT, DELETE, MERGE, "
        "UPDATE, CREATE, DROP, ALTER, SET, ADD JAR, CACHE, ...) and reads of files by path "
        "(parquet.`/path`, read_files); off by default",
    )


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from pyspark.errors import AnalysisException, ParseException

    spark = ctx.spark
    allow_writes = bool(getattr(args, "allow_writes", False))
    if not allow_writes:
        check_read_only(spark, args.query)  # before registering: a refusal costs no snapshot
    ctx.register_tables()
    try:
        with nullcontext() if allow_writes else _no_sql_on_files(spark):
            df = spark.sql(args.query)
            pdf = (df.limit(args.limit) if args.limit > 0 else df).toPandas()
    except ParseException as exc:
        raise ValueError(f"SQL does not parse: {_first_line(exc)}") from None
    except AnalysisException as exc:
        known = ", ".join(ctx.lakehouse.existing_tables(spark)) or "none yet"
        raise ValueError(f"{_first_line(exc)} (tables: {known})") from None
    if args.format == "csv":
        pdf.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        for rec in pdf.to_dict(orient="records"):
            print(json.dumps(rec, default=str, ensure_ascii=False))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200):
            print(pdf.to_string(index=False) if len(pdf) else "(no rows)")
    return 0


def check_read_only(spark: Any, query: str) -> None:
    """Raise ReadOnlyError unless `query` is one read-only statement over lakehouse tables;
    ValueError when it does not parse (a string of several statements does not)."""
    reason = _refusal(spark, parse_plan(spark, query))
    if reason:
        raise ReadOnlyError(reason)


def parse_plan(spark: Any, query: str) -> Any:
    """The statement's unresolved logical plan (a py4j object) from the session's parser."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import ParseException

    parser = spark._jsparkSession.sessionState().sqlParser()  # noqa: SLF001 - no Python API
    try:
        return parser.parsePlan(query)
    except ParseException as exc:
        raise ValueError(f"SQL does not parse: {_first_line(exc)}") from None
    except Py4JJavaError as exc:  # a parser error PySpark does not convert
        raise ValueError(f"SQL does not parse: {_first_line(exc.java_exception)}") from None


def _refusal(spark: Any, plan: Any, under_explain: bool = False) -> str | None:
    """Why `plan` is not read-only, or None. Walks children, CTE definitions, subqueries in
    expressions and the plans that EXPLAIN and DESCRIBE QUERY hold."""
    gateway = spark.sparkContext._gateway  # noqa: SLF001
    name = _class_name(plan)
    if name == "ExplainCommand":
        return _refusal(spark, plan.logicalPlan(), under_explain=True)
    if name not in QUERY_NODES and name not in SHOW_DESCRIBE_NODES:
        where = " under EXPLAIN" if under_explain else ""
        return f"{_statement(name)} ({name}){where} is not {ALLOWED_KINDS}"
    if name in TABLE_NODES:
        reason = _file_read_refusal(_strings(plan.multipartIdentifier()))
        if reason:
            return reason
    elif name in ("UnresolvedPathBasedDeltaTable", "UnresolvedPathBasedTable"):
        return f"'{plan.path()}' is a path: {READS_FILES}"
    elif name == "UnresolvedPathOrIdentifier":  # Delta's DESCRIBE DETAIL/HISTORY target
        if plan.path().isDefined():
            return f"'{plan.path().get()}' is a path: {READS_FILES}"
        ident = plan.tableIdentifier().get()
        reason = _file_read_refusal([*(_strings_opt(ident.database())), ident.table()])
        if reason:
            return reason
    elif name == "UnresolvedTableValuedFunction":
        fn = _strings(plan.name())
        if fn[-1].lower() not in SAFE_TABLE_FUNCTIONS or len(fn) > 1:
            return (f"the table function {'.'.join(fn)}(...) is not one that only computes "
                    f"rows ({', '.join(sorted(SAFE_TABLE_FUNCTIONS))})")
    reason = _expression_refusal(plan)
    if reason:
        return reason
    for child in _children(plan, gateway):
        reason = _refusal(spark, child, under_explain)
        if reason:
            return reason
    return None


def _children(plan: Any, gateway: Any) -> Iterator[Any]:
    from py4j.java_gateway import is_instance_of

    name = _class_name(plan)
    yield from _seq(plan.children())
    for inner in _seq(plan.innerChildren()):  # CTE definitions of WITH
        if is_instance_of(gateway, inner, "org.apache.spark.sql.catalyst.plans.logical.LogicalPlan"):
            yield inner
    yield from _seq(plan.subqueries())  # scalar, IN, EXISTS and lateral subqueries
    if name == "RelationTimeTravel":  # a leaf that holds the relation it reads
        yield plan.relation()
    elif name == "DescribeQueryCommand":
        yield plan.plan()


def _expression_refusal(plan: Any) -> str | None:
    stack = list(_seq(plan.expressions()))
    while stack:
        expr = stack.pop()
        if _class_name(expr) == "UnresolvedFunction":
            fn = _strings(expr.nameParts())
            if fn[-1].lower() in JAVA_CALLS:
                return f"{fn[-1]}(...) calls Java methods"
        stack.extend(_seq(expr.children()))
    return None


def _file_read_refusal(parts: list[str]) -> str | None:
    """Why a table name reads files, or None. A name like parquet.`/etc/x` or
    spark_catalog.delta.`/p` has a qualifier that names a data source (a short name, or a
    class name, which has dots) instead of a layer."""
    if any(p.lower() in FILE_SOURCES or "." in p for p in parts[:-1]):
        return f"{_quoted(parts)} {READS_FILES}"
    return None


@contextmanager
def _no_sql_on_files(spark: Any) -> Iterator[None]:
    """Spark's own switch for format.`path` names, off while a read-only statement runs (a
    second fence behind the parse check); the session's value is put back afterwards."""
    before = spark.conf.get(_RUN_SQL_ON_FILES, None)
    spark.conf.set(_RUN_SQL_ON_FILES, "false")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(_RUN_SQL_ON_FILES)
        else:
            spark.conf.set(_RUN_SQL_ON_FILES, before)


def _statement(class_name: str) -> str:
    if class_name in STATEMENT_NAMES:
        return STATEMENT_NAMES[class_name]
    base = re.sub(r"(Command|Statement|Exec)$", "", class_name) or class_name
    return " ".join(re.findall(r"[A-Z][a-z0-9]*|[A-Z]+(?![a-z])", base)).upper() or class_name


def _class_name(obj: Any) -> str:
    return str(obj.getClass().getSimpleName()).rstrip("$")


def _seq(scala_seq: Any) -> list[Any]:
    return [scala_seq.apply(i) for i in range(scala_seq.size())]


def _strings(scala_seq: Any) -> list[str]:
    return [str(s) for s in _seq(scala_seq)]


def _strings_opt(scala_option: Any) -> list[str]:
    return [str(scala_option.get())] if scala_option.isDefined() else []


def _quoted(parts: list[str]) -> str:
    return ".".join(p if _SIMPLE_NAME.fullmatch(p) else f"`{p.replace('`', '``')}`" for p in parts)


def _first_line(exc: Any) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else exc.__class__.__name__
