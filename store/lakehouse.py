"""Lakehouse layout: every table is a Delta table at <root>/<layer>/<table>, registered as layer.table."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

LAYERS = ("bronze", "silver", "gold", "ops")
# Properties of every table the project creates. Deletion vectors stay off: delta-rs (the
# analysts' JVM-free reader) refuses tables that use them.
TABLE_DEFAULTS = {"delta.enableDeletionVectors": "false"}
# (path, constraints) already checked in this process: `create` on an existing table then
# costs one existence check, not a read of its properties.
_CONSTRAINTS_CHECKED: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
# (path, properties) already checked in this process, as for the constraints.
_PROPERTIES_CHECKED: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
# (path, column names) whose table was checked for missing columns in this process.
_COLUMNS_CHECKED: set[tuple[str, tuple[str, ...]]] = set()


class UnknownTableError(ValueError):
    """A table name is not of the form layer.table, or the table does not exist yet."""


# Write locks this process holds, per lock file: (open file, depth). A stage run inside the
# pipeline takes the lock the pipeline holds already.
_HELD: dict[str, list[Any]] = {}


class MissingLakehouseError(FileNotFoundError):
    """--lakehouse names a local folder that holds no lakehouse (checked before Spark starts)."""


def split_name(name: str) -> tuple[str, str]:
    parts = name.split(".")
    if len(parts) != 2 or parts[0] not in LAYERS or not parts[1].isidentifier():
        raise UnknownTableError(
            f"table name '{name}' must be <layer>.<table> with layer one of {', '.join(LAYERS)}"
        )
    return parts[0], parts[1]


def _normalize_root(root: str) -> str:
    return root.rstrip("/") if "://" in root else os.path.abspath(root)


@dataclass(frozen=True)
class Lakehouse:
    """Paths and catalog names of the project's Delta tables under one root folder or URI."""

    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", _normalize_root(self.root))

    def path(self, name: str) -> str:
        layer, table = split_name(name)
        return f"{self.root}/{layer}/{table}"

    def local_root(self) -> Path | None:
        """The root folder when the lakehouse is on local disk (a plain path or a file: URI),
        None for other roots (hdfs://, s3a://, ...)."""
        if "://" in self.root and not self.root.startswith("file:"):
            return None
        return Path(self.root.removeprefix("file:"))

    def local_path(self, name: str) -> Path | None:
        """The table's folder when the lakehouse is on local disk, None for other roots. Small
        reads of a local table can then go through delta-rs without a Spark session."""
        root = self.local_root()
        if root is None:
            return None
        layer, table = split_name(name)
        return root / layer / table

    def local_delta(self, name: str, without_files: bool = False) -> Any:
        """A delta-rs handle on a table of a lakehouse on local disk, so small reads need no
        Spark session; None for other roots (read them with Spark) and False when the table
        does not exist. `without_files` skips loading the file list (versions, history,
        properties only)."""
        local = self.local_path(name)
        if local is None:
            return None
        if not (local / "_delta_log").is_dir():
            return False
        from deltalake import DeltaTable as RustDeltaTable

        return RustDeltaTable(str(local), without_files=without_files)

    def check_present(self) -> None:
        """Refuse a local root that is not a lakehouse: the folder is missing or holds no Delta
        table (<layer>/<table>/_delta_log). Costs a directory listing and no Spark session, so a
        stage that reads the lakehouse fails in one line on a mistyped --lakehouse. Other roots
        (hdfs://, s3a://, ...) are left to the stage, which names the first missing table."""
        root = self.local_root()
        if root is None:
            return
        hint = ("pass the folder that holds bronze/, silver/, gold/ and ops/ with --lakehouse, "
                "or create one with `rural-risk ingest` or `rural-risk pipeline`")
        if not root.is_dir():
            raise MissingLakehouseError(f"no lakehouse at {root}: the folder does not exist ({hint})")
        if not any(next((root / layer).glob("*/_delta_log"), None) for layer in LAYERS):
            raise MissingLakehouseError(
                f"no lakehouse at {root}: it holds no Delta table (no <layer>/<table>/_delta_log "
                f"under {', '.join(LAYERS)}) ({hint})"
            )

    @contextmanager
    def write_lock(self, what: str, log: Any = None) -> Iterator[None]:
        """Hold the lakehouse's one write lock (an OS file lock in <root>/_locks/write.lock on a
        local lakehouse) while `what` runs: two commands that write the same lakehouse run one
        after the other, the second waiting, so neither sees the other's half-done work (two
        ingests of one landing load each file once). Released when the process ends, even by
        kill -9. Reentrant in a process. Other roots (hdfs://, s3a://) get no lock: there the
        scheduler keeps writers apart (Airflow's max_active_runs) and Delta's optimistic
        commits refuse a conflicting write."""
        import fcntl

        root = self.local_root()
        if root is None:
            yield
            return
        path = str(root / "_locks" / "write.lock")
        held = _HELD.get(path)
        if held is not None:
            held[1] += 1
            try:
                yield
            finally:
                held[1] -= 1
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block's life
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another command"
                if log is not None:
                    log.info("%s: waiting for the lakehouse write lock %s, held by %s", what, path, holder)
                fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}: {what}\n")
            fh.flush()
            _HELD[path] = [fh, 1]
            try:
                yield
            finally:
                del _HELD[path]
                fh.seek(0)
                fh.truncate()
                fh.flush()
                fcntl.flock(fh, fcntl.LOCK_UN)
        finally:
            fh.close()

    def exists(self, spark: SparkSession, name: str) -> bool:
        return DeltaTable.isDeltaTable(spark, self.path(name))

    def read(self, spark: SparkSession, name: str) -> DataFrame:
        """The current version of a table; a clear error when it was never written."""
        if not self.exists(spark, name):
            raise UnknownTableError(
                f"table {name} does not exist under {self.root} (run the stage that writes it first)"
            )
        return spark.read.format("delta").load(self.path(name))

    def read_optional(self, spark: SparkSession, name: str) -> DataFrame | None:
        """The table, or None when it does not exist (yet)."""
        return self.read(spark, name) if self.exists(spark, name) else None

    def overwrite(self, spark: SparkSession, name: str, pdf: Any, schema: T.StructType,
                  user_metadata: str | None = None, replace_where: str | None = None,
                  constraints: Mapping[str, str] | None = None) -> int:
        """Replace the table's content (or the rows matching `replace_where`) with these pandas
        rows, created first when missing; returns the number of rows.

        `user_metadata` is recorded in the Delta commit (readable in the table's history); the
        table's description comes from the catalog (store/catalog.py).
        """
        from store.frames import spark_frame

        self.create(spark, name, schema, constraints=constraints)
        writer = spark_frame(spark, pdf, schema).write.format("delta").mode("overwrite")
        if user_metadata is not None:
            writer = writer.option("userMetadata", user_metadata)
        if replace_where is not None:
            writer = writer.option("replaceWhere", replace_where)
        else:  # the whole table is replaced: so is its schema (a table of an older release takes
            writer = writer.option("overwriteSchema", "true")  # this release's columns and comments)
        writer.save(self.path(name))
        return len(pdf)

    def delta(self, spark: SparkSession, name: str) -> DeltaTable:
        if not self.exists(spark, name):
            raise UnknownTableError(f"table {name} does not exist under {self.root}")
        return DeltaTable.forPath(spark, self.path(name))

    def version(self, spark: SparkSession, name: str) -> int | None:
        """Latest Delta version of a table, None when it does not exist."""
        if not self.exists(spark, name):
            return None
        row = self.delta(spark, name).history(1).select("version").first()
        return int(row["version"]) if row else None

    def existing_tables(self, spark: SparkSession) -> list[str]:
        """Names of the Delta tables present under the root (any file system Hadoop knows)."""
        jvm = spark._jvm  # noqa: SLF001 - Hadoop FileSystem API, works for local and remote roots
        hconf = spark._jsc.hadoopConfiguration()  # noqa: SLF001
        found: list[str] = []
        for layer in LAYERS:
            layer_path = jvm.org.apache.hadoop.fs.Path(f"{self.root}/{layer}")
            fs = layer_path.getFileSystem(hconf)
            if not fs.exists(layer_path):
                continue
            for status in fs.listStatus(layer_path):
                table = status.getPath().getName()
                if status.isDirectory() and table.isidentifier():
                    log = jvm.org.apache.hadoop.fs.Path(status.getPath(), "_delta_log")
                    if fs.exists(log):
                        found.append(f"{layer}.{table}")
        return sorted(found)

    def _release_foreign_name(self, spark: SparkSession, name: str) -> None:
        """A session that opened another lakehouse first (tests, notebooks) may hold `name` for
        a table elsewhere: drop that catalog entry (external table: no data is touched)."""
        if not spark.catalog.tableExists(name):
            return
        location = None
        for row in spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect():
            if row["col_name"] == "Location":
                location = str(row["data_type"])
        if location is not None and location.removeprefix("file:") != self.path(name).removeprefix("file:"):
            spark.sql(f"DROP TABLE {name}")

    def register(self, spark: SparkSession, name: str) -> None:
        layer, _ = split_name(name)
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
        self._release_foreign_name(spark, name)
        spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{self.path(name)}'")

    def register_all(self, spark: SparkSession) -> list[str]:
        """Register every existing table by name so SQL can say e.g. gold.village_risk."""
        for layer in LAYERS:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
        names = self.existing_tables(spark)
        for name in names:
            self.register(spark, name)
        return names

    def create(
        self,
        spark: SparkSession,
        name: str,
        schema: T.StructType,
        partition_by: Iterable[str] = (),
        comment: str | None = None,
        constraints: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        add_missing_columns: bool = False,
    ) -> DeltaTable:
        """Create the table once at its path (explicit columns, partitioning, CHECK constraints,
        no deletion vectors) in ONE Delta commit: constraints go in as table properties at
        creation, not as one ALTER commit each. An existing table is left as it is, except that
        a constraint it lacks (a table made by an older release) is added, and with
        `add_missing_columns` the columns of `schema` it lacks. Tables are not put in the
        session catalog here: `register` / `register_all` do that for SQL by name."""
        from store import catalog

        path = self.path(name)
        comment = catalog.description(name) or comment  # the catalog's words for the project's tables
        # The catalog's constraints and partitioning for the project's tables; callers add to them
        # only for tables of their own (tests).
        constraints = {**catalog.constraints(name), **(constraints or {})}
        partition_by = tuple(partition_by) or catalog.partition_by(name)
        own = {**catalog.properties(name), **(properties or {})}  # e.g. change data feed
        if self.exists(spark, name):
            table = DeltaTable.forPath(spark, path)
            columns = (path, tuple(schema.names))
            if add_missing_columns and columns not in _COLUMNS_CHECKED:
                self._add_missing_columns(spark, path, table, schema)
                _COLUMNS_CHECKED.add(columns)
            seen = (path, tuple(sorted(constraints.items())))
            if constraints and seen not in _CONSTRAINTS_CHECKED:
                self._add_missing_constraints(spark, name, table, constraints)
                _CONSTRAINTS_CHECKED.add(seen)
            wanted = (path, tuple(sorted(own.items())))
            if own and wanted not in _PROPERTIES_CHECKED:
                self._set_missing_properties(spark, path, table, own)
                _PROPERTIES_CHECKED.add(wanted)
            return table
        builder = DeltaTable.createIfNotExists(spark).location(path)
        for f in schema.fields:
            builder = builder.addColumn(
                f.name, f.dataType, nullable=f.nullable, comment=f.metadata.get("comment")
            )
        parts = list(partition_by)
        if parts:
            builder = builder.partitionedBy(*parts)
        if comment:
            builder = builder.comment(comment)
        props = {**TABLE_DEFAULTS, **own}
        props.update({f"delta.constraints.{k.lower()}": v for k, v in constraints.items()})
        for key, value in props.items():
            builder = builder.property(key, value)
        return builder.execute()

    def _add_missing_columns(self, spark: SparkSession, path: str, table: DeltaTable,
                             schema: T.StructType) -> None:
        """A table made by an older release gets the columns this release writes (one ALTER
        commit, nullable: its old rows read null); columns it has beyond them stay. Only for
        tables whose old rows may rightly read null there (the model registry, lineage columns
        of bronze and silver): a derived table with a new column is rebuilt instead."""
        have = set(table.toDF().columns)
        missing = [f for f in schema.fields if f.name not in have]
        if not missing:
            return
        def comment(f: T.StructField) -> str:
            text = str(f.metadata.get("comment") or "").replace("\\", "\\\\").replace("'", "\\'")
            return f" COMMENT '{text}'" if text else ""
        cols = ", ".join(f"`{f.name}` {f.dataType.simpleString()}{comment(f)}" for f in missing)
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({cols})")

    def _set_missing_properties(self, spark: SparkSession, path: str, table: DeltaTable,
                                props: Mapping[str, str]) -> None:
        """A table made before a property was in the catalog gets it (one ALTER commit; none
        when it has them all): e.g. change data feed, recorded from that commit on."""
        have = table.detail().select("properties").first()["properties"] or {}
        missing = {k: v for k, v in props.items() if have.get(k) != v}
        if missing:
            pairs = ", ".join(f"'{k}' = '{v}'" for k, v in missing.items())
            spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({pairs})")

    def _add_missing_constraints(self, spark: SparkSession, name: str, table: DeltaTable,
                                 constraints: Mapping[str, str]) -> None:
        props = table.detail().select("properties").first()["properties"] or {}
        existing = {k.removeprefix("delta.constraints.") for k in props if k.startswith("delta.constraints.")}
        for cname, expr in constraints.items():
            if cname.lower() not in existing:
                spark.sql(f"ALTER TABLE delta.`{self.path(name)}` ADD CONSTRAINT {cname} CHECK ({expr})")
