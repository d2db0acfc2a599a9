"""`rural-risk ingest`: landing -> bronze -> silver, exactly once, bad rows to ops.quarantine."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.arguments import add_ingest_as_of, end_of_day
from jobs.context import RunContext
from store import catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "load landing files into bronze and silver exactly once; bad rows go to ops.quarantine"
SOURCES = ("villages", "population", "incidents", "patrols", "organizations", "resources", "survey")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landing", required=True, metavar="DIR", help="landing zone folder")
    parser.add_argument("--source", action="append", choices=SOURCES, metavar="NAME",
                        help=f"only these sources (repeatable; one of {', '.join(SOURCES)})")
    add_ingest_as_of(parser)


@dataclass
class SourceSummary:
    source: str
    files_loaded: int = 0
    files_skipped: int = 0
    files_rejected: int = 0
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    failed: bool = False
    messages: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    run_id: str
    sources: list[SourceSummary] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def failed_sources(self) -> list[str]:
        return [s.source for s in self.sources if s.failed]

    def table(self) -> str:
        head = ("source", "loaded", "skipped", "rejected", "read", "accepted", "quarantined", "duplicate", "status")
        rows = [head] + [
            (s.source, s.files_loaded, s.files_skipped, s.files_rejected, s.rows_read, s.rows_accepted,
             s.rows_quarantined, s.rows_duplicate, "FAILED" if s.failed else "ok")
            for s in self.sources
        ]
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
        lines = ["  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
                 for r in rows]
        notes = [f"{s.source}: {m}" for s in self.sources for m in s.messages]
        return "\n".join([*lines, *notes])


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    summary = ingest(ctx, args.landing, sources=args.source, ingest_time=datetime.now(UTC),
                     as_of=getattr(args, "as_of", None))
    print(summary.table())
    if summary.data_docs:
        print(f"Data Docs: {summary.data_docs}")
    return 1 if summary.failed_sources else 0


def ingest(ctx: RunContext, landing: str | Path, sources: list[str] | None = None,
           ingest_time: datetime | None = None, great_expectations: bool | None = None,
           as_of: date | None = None) -> IngestSummary:
    """Load the new files of each source (villages first) and return the per-source summary.
    `ingest_time` is when the run happens (lineage: ingested_at, the manifest; the clock when
    None); `as_of` the run date: timestamps after its end are future (without it: after
    `ingest_time`)."""
    from features.landing.reading import LandingFolderError, list_files

    landing = Path(landing)
    if not landing.is_dir():
        raise LandingFolderError(f"landing folder {landing} does not exist or is not a folder")
    now = (ingest_time or datetime.now(UTC)).astimezone(UTC)
    conf = ctx.settings.section("ingest")
    use_gx = conf["quality"]["great_expectations"] if great_expectations is None else great_expectations
    specs = load_specs()
    wanted = [s for s in conf["sources"] if sources is None or s in sources]
    until = end_of_day(as_of, ctx.settings.timezone) if as_of is not None else now
    loader = SourceLoader(ctx, conf, now, use_gx, synthetic=is_synthetic(landing), future_after=until)
    summary = IngestSummary(run_id=ctx.run_id)
    with ctx.stage("read the file manifest ops.ingest_log") as st:
        loader.read_manifest()
        st.done(rows=sum(len(v) for v in loader.manifest.values()))
    for source in wanted:
        files = list_files(landing, source, conf["sources"][source].get("extensions", ["csv"]))
        try:
            with ctx.stage(f"ingest {source}") as st:
                result = loader.load(source, specs[source], files)
                st.done(rows=result.rows_read, detail=(
                    f"{result.files_loaded} files loaded, {result.files_skipped} skipped, "
                    f"{result.files_rejected} rejected" + (", FAILED" if result.failed else "")))
        except Exception as exc:  # one source's failure must not stop the others
            ctx.log.exception("ingest %s stopped by an error; the other sources go on", source)
            result = SourceSummary(source=source, failed=True, messages=[
                f"stopped by {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                " (its files stay unloaded; a rerun retries them)"])
        if result.failed:
            loader.failed_sources.add(source)
        for msg in result.messages:
            ctx.log.warning("%s: %s", source, msg)
        summary.sources.append(result)
    if loader.pending_log:
        with ctx.stage("write the file manifest ops.ingest_log") as st:
            st.done(rows=loader.flush_log(), detail="one commit for every source of the run")
    summary.data_docs = loader.finish()
    return summary


def is_synthetic(landing: Path) -> bool:
    """True for a landing folder `rural-risk generate` wrote (its _truth/summary.json says so)."""
    import json

    summary = Path(landing) / "_truth" / "summary.json"
    try:
        return bool(json.loads(summary.read_text(encoding="utf-8")).get("synthetic"))
    except (OSError, ValueError, AttributeError):
        return False


MANIFEST_COLUMNS = ("source", "file", "file_hash", "status", "message")


def manifest_rows(ctx: RunContext) -> list[dict[str, Any]]:
    """The rows of ops.ingest_log that decide what is new (MANIFEST_COLUMNS), as dicts.

    A lakehouse on local disk is read with delta-rs, without Spark: deciding that nothing is
    new then costs a file listing and a Delta log read, and a daily run with no new file never
    starts a Spark session. Other roots (hdfs://, s3a://, ...) are read with Spark."""
    from features.landing import tables

    local = ctx.lakehouse.local_delta(catalog.INGEST_LOG)
    if local is False:
        return []
    if local is not None:
        return local.to_pyarrow_table(columns=list(MANIFEST_COLUMNS)).to_pylist()
    log = read_or_empty(ctx, catalog.INGEST_LOG, tables.INGEST_LOG)
    return [r.asDict() for r in log.select(*MANIFEST_COLUMNS).collect()]


def read_or_empty(ctx: RunContext, name: str, schema: Any) -> DataFrame:
    if ctx.lakehouse.exists(ctx.spark, name):
        return ctx.lakehouse.read(ctx.spark, name)
    return ctx.spark.createDataFrame([], schema)


def load_specs() -> dict[str, Any]:
    """features.landing.rules.load_specs, imported when called (the CLI imports this module to
    build its parser, before any command needs pyspark)."""
    from features.landing.rules import load_specs as specs

    return specs()


class SourceLoader:
    """Loads one source's new files: everything is computed and checked first, then written
    (changed periods, silver, bronze, quarantine); the manifest rows of every source go to
    ops.ingest_log in one commit at the end of the run (flush_log)."""

    def __init__(self, ctx: RunContext, conf: dict[str, Any], now: datetime, use_gx: bool,
                 synthetic: bool = False, key: bytes | None = None,
                 future_after: datetime | None = None) -> None:
        from conf import load_yaml
        from features.landing.pseudonym import resolve_key

        # `now`: lineage (when the rows were ingested); `future_after`: the not-in-the-future
        # rules' limit (the end of the run date; `now` when none was given).
        self.ctx, self.conf, self.now = ctx, conf, now
        self.future_after = future_after or now
        sec = ctx.settings
        # `key` is for callers that store nothing (check-landing); a load takes the deployment's.
        self.key = key or resolve_key(str(sec.get("security.pseudonym_key_env", "RURAL_RISK_PSEUDONYM_KEY")),
                                      bool(sec.get("security.allow_dev_key", False)),
                                      sec.get("security.dev_key"), sec.profile, synthetic)
        self.codes = load_yaml("codes.yaml")
        self.grain = str(sec.get("period", "month"))
        self.use_gx = use_gx
        self._validator = None
        # Manifest rows of every source, written in one commit when the run ends (flush_log).
        self.pending_log: list[dict] = []
        self._zone_checked = False
        # Sources that failed earlier in this run (villages loads first): named in the messages
        # of the sources whose rows fail because of it.
        self.failed_sources: set[str] = set()

    def _spark(self) -> Any:
        """The session, started by the first batch that needs it (a run with no new file
        never starts one), and checked once against the deployment's zone."""
        spark = self.ctx.spark
        if not self._zone_checked:
            zone, want = spark.conf.get("spark.sql.session.timeZone"), self.ctx.settings.timezone
            if zone != want:
                raise ValueError(f"Spark session time zone {zone} differs from conf timezone {want}: "
                                 "local landing timestamps would be misread")
            self._zone_checked = True
        return spark

    def _cache(self, df: DataFrame) -> DataFrame:
        self._cached.append(df.persist())
        return df

    @property
    def validator(self) -> Any:
        """The Great Expectations validator, made when the first batch needs it: a run with no
        new files pays neither its import nor its Data Docs build."""
        if self.use_gx and self._validator is None:
            from features.quality import Validator

            # The project's session (Delta jars, extension, catalog) exists already (made in
            # __init__): GX must not start a session of its own without Delta.
            self._validator = Validator(self.conf["quality"].get("data_docs_dir"),
                                        int(self.conf["quality"]["pandas_max_rows"]))
        return self._validator

    def finish(self) -> str | None:
        """Rebuild Data Docs when this run validated a batch; None otherwise."""
        return self._validator.build_docs() if self._validator is not None else None

    def _options(self, source: str, spec: Any) -> Any:
        from features.landing.reading import ReadOptions
        from features.landing.tables import landed_fields

        fields, personal = landed_fields(source, spec, self.conf)
        return ReadOptions(
            source=source, format=self.conf["sources"][source]["format"],
            fields=fields, required=tuple(c.name for c in spec.columns if c.required),
            personal=personal, drop=tuple(self.conf["personal"]["drop"]),
            extra_patterns=tuple(self.conf["personal"]["extra_patterns"]), key=self.key,
        )

    def read_manifest(self) -> None:
        """Every source's manifest entries, in one read: (file, hash, status, message) sets."""
        self.manifest: dict[str, set[tuple]] = {}
        for r in manifest_rows(self.ctx):
            self.manifest.setdefault(r["source"], set()).add(
                (r["file"], r["file_hash"], r["status"], r["message"]))

    def load(self, source: str, spec: Any, files: list[Any]) -> SourceSummary:
        out = SourceSummary(source=source)
        if not hasattr(self, "manifest"):
            self.read_manifest()
        seen = self.manifest.get(source, set())
        loaded = {(f, h) for f, h, st, _ in seen if st == "loaded"}
        new = [f for f in files if (f.file, f.file_hash) not in loaded]
        out.files_skipped = len(files) - len(new)
        if not new:
            return out
        opts = self._options(source, spec)
        self._cached: list[DataFrame] = []
        try:
            return self._load_new(source, spec, opts, new, out, seen)
        finally:
            for df in self._cached:
                df.unpersist()

    def _reject(self, rows: list[dict], f: Any, message: str, seen: set) -> None:
        if (f.file, f.file_hash, "rejected", message) not in seen:
            rows.append({"source": f.source, "file": f.file, "file_hash": f.file_hash, "size_bytes": f.size_bytes,
                         "run_id": self.ctx.run_id, "ingested_at": self.now, "status": "rejected",
                         "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "rows_duplicate": 0,
                         "message": message})

    def _load_new(self, source: str, spec: Any, opts: Any, new: list[Any], out: SourceSummary,
                  seen: set) -> SourceSummary:
        from pyspark.sql import functions as F

        from features.landing import batch as B
        from features.landing import conform, tables

        spark, run_id = self._spark(), self.ctx.run_id
        enc = str((self.conf.get("encoding") or {}).get(source, "utf-8"))
        parsed = self._cache(B.parse_files(spark, new, enc, opts))
        stats = B.parse_stats(parsed)  # the one pass over the landed bytes
        errors = {f: (r["error_kind"], r["error"]) for f, r in stats.items() if r["error"] is not None}
        by_file = {f.file: f for f in new}
        log_rows: list[dict] = []
        fatal: list[str] = []
        for file, (kind, msg) in sorted(errors.items()):
            message = f"{file}: {msg}"
            out.messages.append(message)
            self._reject(log_rows, by_file[file], message, seen)
            out.files_rejected += 1
            if kind == "batch":
                fatal.append(message)
        good = [f for f in new if f.file not in errors]
        if not good:
            out.failed = bool(fatal)
            self._write_log(log_rows)
            return out
        bronze_schema = tables.bronze_schema(opts.fields, list(opts.personal))
        bronze = B.to_bronze(parsed.filter(F.col("_file").isin([f.file for f in good]) if good else F.lit(False)),
                             opts, bronze_schema, run_id, self.now)
        villages = read_or_empty(self.ctx, catalog.SILVER_VILLAGES, "village_id string, longitude double, latitude double")
        carry = list(opts.personal)
        checked, checks = B.check_rows(bronze, spec, self.codes, self.conf["bounding_box"], villages,
                                       float(self.conf["snap_distance_km"]), self.future_after, carry)
        checked = self._cache(checked)
        bf = self.conf["batch_failure"]
        silver_name = spec.table
        schema = conform.silver_schema(spec)
        silver = read_or_empty(self.ctx, silver_name, schema)
        # A table of an earlier release lacks lineage added since (_file_hash, _key_id): null
        # here, as the table will hold for its old rows once _write adds the columns.
        silver = silver.withColumns({f.name: F.lit(None).cast(f.dataType) for f in schema.fields
                                     if f.name not in silver.columns})
        candidates = self._cache(B.silver_candidates(checked, spec, silver, run_id, self.now))
        counts, flagged = B.batch_counts(stats, checked, candidates, checks)
        # A file whose own rows mostly fail is rejected alone (recorded with its reasons; it
        # is tried again on every run until its content changes); the other files load.
        rejected = []
        for f in good:
            c = counts.get(f.file, {"rows_read": 0, "rows_quarantined": 0})
            why = B.over_bad_share(c["rows_read"], c["rows_quarantined"], bf)
            if why is not None:
                message = self._file_failure(source, f.file, why, B.failing_rules(checked, f.file))
                out.messages.append(message)
                self._reject(log_rows, f, message, seen)
                out.files_rejected += 1
                rejected.append(f.file)
        if rejected:
            out.failed = True  # the run says so, though the other files load
            good = [f for f in good if f.file not in rejected]
            if not good:
                self._write_log(log_rows)
                return out
            keep = F.col("_file").isin([f.file for f in good])
            bronze, checked = bronze.filter(keep), self._cache(checked.filter(keep))
            candidates = self._cache(B.silver_candidates(checked, spec, silver, run_id, self.now))
            kept = {f.file for f in good}
            counts, flagged = B.batch_counts({k: v for k, v in stats.items() if k in kept}, checked,
                                             candidates, checks)
        if self.use_gx and not fatal:
            fatal += self._validate(checked, spec, checks, counts, flagged, out)
        if fatal:
            out.failed = True
            out.messages.append(f"nothing of {source} written in this run ({len(fatal)} batch-level problem(s))")
            self._write_log(log_rows)
            return out
        self._write(source, spec, opts, bronze, checked, candidates, silver, good, counts, log_rows, carry, out)
        return out

    def _file_failure(self, source: str, file: str, why: str,
                      rules: list[tuple[str, int, int, str | None]]) -> str:
        """Why a file is rejected, in one line: its share (`why`), the rules most of its rows
        break (rows, an example line and value), and a failed parent source when that is the cause."""
        bbox = self.conf["bounding_box"]
        parts = []
        for reason, rows, line, value in rules:
            example = f"line {line}" + (f": {value!r}" if value is not None else "")
            text = f"{reason} on {rows} rows (e.g. {example})"
            if reason in ("out_of_range:longitude", "out_of_range:latitude"):
                axis = "lon" if reason.endswith("longitude") else "lat"
                text += (f", outside {bbox[f'{axis}_min']}..{bbox[f'{axis}_max']} set in conf/ingest.yaml "
                         "bounding_box")
            parts.append(text)
        message = (f"{file}: {why}: file rejected, the other files of {source} load; most failing rules: "
                   + ("; ".join(parts) if parts else "malformed lines"))
        if any(r == "unknown_village" for r, *_ in rules) and "villages" in self.failed_sources:
            message += " (villages failed to load in this run, so their village_id is not known yet)"
        return message

    def _validate(self, checked: DataFrame, spec: Any, checks: list[str], counts: dict,
                  flagged: dict[str, int], out: SourceSummary) -> list[str]:
        """Great Expectations on the cached typed batch; its verdict counts once the batch is big
        enough. `flagged` holds the rows each Spark check flags (from the batch's one count)."""
        from features.quality import agreement

        bf = self.conf["batch_failure"]
        mostly = 1.0 - float(bf["max_bad_share"])
        rows = sum(c["rows_read"] for c in counts.values())
        result = self.validator.validate(checked, spec, checks, self.codes, self.conf["bounding_box"],
                                         mostly, run_name=self.ctx.run_id, rows=rows)
        diff = agreement(result, flagged)
        if diff:
            out.messages.append("Great Expectations and the row checks disagree: " + "; ".join(diff))
        over = result.over_share(float(bf["max_bad_share"]))
        if over and rows >= int(bf["min_rows"]):
            return [f"suite {result.suite} failed on the batch: {', '.join(over)} flag more than "
                    f"{float(bf['max_bad_share']):.0%} of its {result.rows} rows"]
        return []

    def _write_log(self, rows: list[dict]) -> None:
        """Keep a source's manifest rows for the run's one manifest commit (flush_log)."""
        self.pending_log.extend(rows)

    def flush_log(self) -> int:
        """Append the run's manifest rows to ops.ingest_log in one Delta commit; the rows written.

        It comes after every source's data: a run stopped before it leaves those files out of
        the manifest, and the next run loads them again without doubling anything (silver
        MERGE keeps the newer version, the bronze and quarantine rows of the same (file, hash)
        are replaced, changed periods are recorded again)."""
        from features.landing import tables

        rows, self.pending_log = self.pending_log, []
        if not rows:
            return 0
        lh, spark = self.ctx.lakehouse, self.ctx.spark
        lh.create(spark, catalog.INGEST_LOG, tables.INGEST_LOG)
        df = spark.createDataFrame(rows, tables.INGEST_LOG)
        df.write.format("delta").mode("append").save(lh.path(catalog.INGEST_LOG))
        return len(rows)

    def _append_files(self, name: str, df: DataFrame, schema: Any, files: list[Any], file_col: str,
                      hash_col: str) -> None:
        """Append the rows of these files; rows of the same (file, hash) left by an interrupted
        earlier run are deleted first, so a retry never doubles them. The leftovers are found
        with a semi-join against the batch's file list (a plan of fixed size, whatever the
        number of files) and deleted by a MERGE on the same list."""
        from pyspark.sql import functions as F

        lh, spark = self.ctx.lakehouse, self.ctx.spark
        existed = lh.exists(spark, name)
        # A bronze table of an earlier release gains the lineage columns added since (_key_id):
        # its old rows read null there, which is what they are (no key id was recorded).
        lh.create(spark, name, schema, add_missing_columns=name.startswith("bronze."))
        if existed:
            batch = F.broadcast(spark.createDataFrame(
                [(f.file, f.file_hash) for f in files], f"{file_col} string, {hash_col} string"))
            stored = lh.read(spark, name).select(file_col, hash_col)
            if stored.join(batch, on=[file_col, hash_col], how="left_semi").limit(1).count():
                (lh.delta(spark, name).alias("t")
                 .merge(batch.distinct().alias("s"),
                        f"t.{file_col} = s.{file_col} AND t.{hash_col} = s.{hash_col}")
                 .whenMatchedDelete().execute())
        df.select(*[f.name for f in schema.fields]).write.format("delta").mode("append").save(lh.path(name))

    def _write(self, source: str, spec: Any, opts: Any, bronze: DataFrame, checked: DataFrame,
               candidates: DataFrame, silver: DataFrame, good: list[Any], counts: dict,
               log_rows: list[dict], carry: list[str], out: SourceSummary) -> None:
        from pyspark.sql import functions as F

        from features.landing import batch as B
        from features.landing import conform, tables

        spark, lh, run_id = self.ctx.spark, self.ctx.lakehouse, self.ctx.run_id
        key = list(spec.key)
        winners = candidates.filter(F.col("_wins")).drop("_dup", "_wins")
        if sum(c["rows_accepted"] for c in counts.values()):
            old = silver.join(winners.select(*key), on=key, how="left_semi")
            dates = self.conf["changed_period_columns"][source]
            periods = conform.changed_periods(winners, old, dates, self.grain, source, run_id)
            lh.create(spark, catalog.CHANGED_PERIODS, tables.CHANGED_PERIODS)
            periods.write.format("delta").mode("append").save(lh.path(catalog.CHANGED_PERIODS))
            fresh = not lh.exists(spark, spec.table)
            schema = conform.silver_schema(spec)
            # lineage added since (_key_id): null on old rows; the constraints are the catalog's
            lh.create(spark, spec.table, schema, add_missing_columns=True)
            if fresh:  # a new table: the winners (one per key) are its rows, no MERGE needed
                winners.select(*schema.names).write.format("delta").mode("append").save(lh.path(spec.table))
            else:
                (lh.delta(spark, spec.table).alias("t")
                 .merge(winners.alias("s"), conform.merge_condition(key))
                 .whenMatchedUpdateAll(condition=conform.newer_condition())
                 .whenNotMatchedInsertAll()
                 .execute())
        if good:
            self._append_files(catalog.bronze(source), bronze, tables.bronze_schema(opts.fields, list(opts.personal)),
                               good, "_file", "_file_hash")
            quarantine = B.quarantine_rows(bronze, checked, spec.names, carry, source, run_id, self.now)
            if sum(c["rows_quarantined"] for c in counts.values()):
                self._append_files(catalog.QUARANTINE, quarantine, tables.QUARANTINE, good, "file", "file_hash")
        for f in good:
            c = counts.get(f.file, {"rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "rows_duplicate": 0})
            log_rows.append({"source": source, "file": f.file, "file_hash": f.file_hash, "size_bytes": f.size_bytes,
                             "run_id": run_id, "ingested_at": self.now, "status": "loaded", "message": None, **c})
            out.files_loaded += 1
            for k in ("rows_read", "rows_accepted", "rows_quarantined", "rows_duplicate"):
                setattr(out, k, getattr(out, k) + c[k])
        self._write_log(log_rows)
