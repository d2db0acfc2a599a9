"""`rural-risk check-landing DIR`: what ingest would load from a landing folder, and why not.

It reads the files with ingest's own reading and row checks (features/landing/batch.py,
options and codes from jobs/ingest.py's SourceLoader) on a local Spark session and writes
nothing: no lakehouse table, no quarantine, no manifest. Villages known to the checks are
the folder's villages that would load plus, when the lakehouse given by --lakehouse holds
silver.villages, those (read only). Files already loaded by an earlier ingest are checked
like any other: the command judges the folder against the contract (docs/landing.md).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.arguments import add_ingest_as_of, end_of_day
from jobs.context import RunContext
from jobs.ingest import SOURCES, SourceLoader, load_specs
from store import catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

HELP = ("check a landing folder against the landing contract (docs/landing.md) without writing "
        "anything: rows that would load, rows that would be quarantined and their reason codes")
EXAMPLE_LINES = 5  # line numbers shown per reason and file


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        f"{HELP}. Exit code 0 when every row would load (exact duplicates are counted once), "
        "1 when a row would be quarantined or a file or a source's batch rejected, 2 on a usage error.")
    parser.add_argument("landing", metavar="DIR", help="landing folder: DIR/<source>/**/<file>")
    parser.add_argument("--source", action="append", choices=SOURCES, metavar="NAME",
                        help=f"only these sources (repeatable; one of {', '.join(SOURCES)})")
    add_ingest_as_of(parser)


@dataclass
class FileCheck:
    """One file's outcome; `rejected` is a file-level problem (nothing of the file loads)."""

    file: str
    rows_read: int = 0
    rows_load: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, tuple[int, list[int]]] = field(default_factory=dict)  # code -> (rows, first lines)
    rejected: str | None = None


@dataclass
class SourceCheck:
    """One source's files; `failed` is a batch-level problem (nothing of the source loads)."""

    source: str
    files: list[FileCheck] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.failed and all(f.rejected is None and f.rows_quarantined == 0 for f in self.files)


@dataclass
class LandingCheck:
    landing: str
    sources: list[SourceCheck] = field(default_factory=list)
    lakehouse_villages: int = 0

    @property
    def clean(self) -> bool:
        return all(s.clean for s in self.sources)

    def text(self) -> str:
        out = [f"check-landing {self.landing}: nothing is written "
               f"(villages already in the lakehouse: {self.lakehouse_villages})"]
        totals = [0, 0, 0, 0]
        for s in self.sources:
            if not s.files:
                out.append(f"{s.source}: no files")
                continue
            for f in s.files:
                if f.rejected:
                    out.append(f"{f.file}: rejected, nothing of it would load: {f.rejected}")
                    continue
                out.append(f"{f.file}: {_n(f.rows_read, 'row')} read, {f.rows_load} would load, "
                           f"{_n(f.rows_duplicate, 'exact duplicate')} (counted once), "
                           f"{f.rows_quarantined} would be quarantined")
                width = max((len(r) for r in f.reasons), default=0)
                for reason, (n, lines) in sorted(f.reasons.items()):
                    more = ", ..." if n > len(lines) else ""
                    shown = ", ".join(str(x) for x in lines)
                    out.append(f"    {reason.ljust(width)}  {_n(n, 'row'):>9}  "
                               f"(line{'s' if n > 1 else ''} {shown}{more})")
                for i, v in enumerate((f.rows_read, f.rows_load, f.rows_duplicate, f.rows_quarantined)):
                    totals[i] += v
            for msg in s.failed:
                out.append(f"{s.source}: the whole batch would fail, nothing of {s.source} would be written: {msg}")
        out.append(f"total: {_n(totals[0], 'row')} read, {totals[1]} would load, "
                   f"{_n(totals[2], 'exact duplicate')}, {totals[3]} would be quarantined")
        out.append("everything would load" if self.clean else
                   "some rows or files would not load: reason codes are explained in docs/landing.md")
        return "\n".join(out)


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    report = check_landing(ctx, args.landing, sources=args.source, as_of=getattr(args, "as_of", None))
    print(report.text())
    return 0 if report.clean else 1


def _lakehouse_villages(ctx: RunContext) -> DataFrame | None:
    """silver.villages of the lakehouse when it has one (read only; no folder is created)."""
    local = ctx.lakehouse.local_delta(catalog.SILVER_VILLAGES, without_files=True)
    if local is False:
        return None
    if local is None and not ctx.lakehouse.exists(ctx.spark, catalog.SILVER_VILLAGES):
        return None
    return ctx.lakehouse.read(ctx.spark, catalog.SILVER_VILLAGES).select("village_id", "longitude", "latitude")


def check_landing(ctx: RunContext, landing: str | Path, sources: list[str] | None = None,
                  now: datetime | None = None, as_of: date | None = None) -> LandingCheck:
    """Check every file of the folder's sources (villages first) as ingest would, writing nothing.
    Future timestamps are those after the end of the run date `as_of`, else after `now` (the
    clock when None), as for ingest."""
    from features.landing.reading import LandingFolderError, list_files

    landing = Path(landing)
    if not landing.is_dir():
        raise LandingFolderError(f"landing folder {landing} does not exist or is not a folder")
    conf = ctx.settings.section("ingest")
    wanted = [s for s in conf["sources"] if sources is None or s in sources]
    files = {s: list_files(landing, s, conf["sources"][s].get("extensions", ["csv"])) for s in wanted}
    if not any(files.values()):
        raise LandingFolderError(
            f"landing folder {landing} holds no file of {', '.join(wanted)} "
            f"(expected {landing}/<source>/.../<file>, e.g. {landing}/villages/villages.csv)")
    # Nothing is stored, so personal fields are hashed with a key made for this check alone:
    # checking a bureau's folder needs no pseudonymization key.
    now = (now or datetime.now(UTC)).astimezone(UTC)
    until = end_of_day(as_of, ctx.settings.timezone) if as_of is not None else now
    loader = SourceLoader(ctx, conf, now, use_gx=False, key=os.urandom(32), future_after=until)
    specs = load_specs()
    spark = loader._spark()  # noqa: SLF001 - ingest's session check (time zone), same as a load
    known = _lakehouse_villages(ctx)
    report = LandingCheck(landing=str(landing), lakehouse_villages=known.count() if known is not None else 0)
    if known is None:
        known = spark.createDataFrame([], "village_id string, longitude double, latitude double")
    for source in wanted:
        with ctx.stage(f"check {source}") as st:
            result, accepted = _check_source(loader, source, specs[source], files[source], known)
            st.done(rows=sum(f.rows_read for f in result.files))
        report.sources.append(result)
        if source == "villages" and accepted is not None:
            known = known.unionByName(accepted)
    return report


def _check_source(loader: SourceLoader, source: str, spec: Any, files: list[Any],
                  villages: DataFrame) -> tuple[SourceCheck, DataFrame | None]:
    """One source's batch through ingest's reading and checks; for villages, also the rows
    that would load (village_id, longitude, latitude), None when the batch would fail."""
    from pyspark.sql import functions as F

    from features.landing import batch as B
    from features.landing import conform, tables

    out = SourceCheck(source=source)
    if not files:
        return out, None
    conf, now, run_id = loader.conf, loader.now, loader.ctx.run_id
    spark = loader.ctx.spark
    opts = loader._options(source, spec)  # noqa: SLF001 - the reading options ingest uses
    enc = str((conf.get("encoding") or {}).get(source, "utf-8"))
    loader._cached = []  # noqa: SLF001 - SourceLoader._cache keeps what it persisted here
    try:
        parsed = loader._cache(B.parse_files(spark, files, enc, opts))  # noqa: SLF001
        stats = B.parse_stats(parsed)
        checks_by_file = {f.file: FileCheck(file=f.file) for f in files}
        out.files = list(checks_by_file.values())
        good = []
        for f in files:
            err = stats.get(f.file, {}).get("error")
            if err is not None:
                checks_by_file[f.file].rejected = err
                if stats[f.file]["error_kind"] == "batch":
                    out.failed.append(f"{f.file}: {err}")
            else:
                good.append(f)
        if not good:
            return out, None
        bronze = B.to_bronze(parsed.filter(F.col("_file").isin([f.file for f in good])), opts,
                             tables.bronze_schema(opts.fields, list(opts.personal)), run_id, now)
        carry = list(opts.personal)
        checked, checks = B.check_rows(bronze, spec, loader.codes, conf["bounding_box"], villages,
                                       float(conf["snap_distance_km"]), loader.future_after, carry)
        checked = loader._cache(checked)  # noqa: SLF001
        empty_silver = spark.createDataFrame([], conform.silver_schema(spec))
        candidates = loader._cache(B.silver_candidates(checked, spec, empty_silver, run_id, now))  # noqa: SLF001
        counts, _ = B.batch_counts(stats, checked, candidates, checks)
        quarantine = B.quarantine_rows(bronze, checked, spec.names, carry, source, run_id, now)
        for file, reason, n, lines in _reason_lines(quarantine):
            checks_by_file[file].reasons[reason] = (n, lines)
        bf = conf["batch_failure"]
        for f in good:
            c = counts.get(f.file, {"rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "rows_duplicate": 0})
            fc = checks_by_file[f.file]
            fc.rows_read, fc.rows_load = c["rows_read"], c["rows_accepted"]
            fc.rows_duplicate, fc.rows_quarantined = c["rows_duplicate"], c["rows_quarantined"]
            why = B.over_bad_share(fc.rows_read, fc.rows_quarantined, bf)
            if why is not None:  # as ingest: the file is rejected alone, the source's other files load
                fc.rejected = why
                fc.rows_load = fc.rows_duplicate = fc.rows_quarantined = 0  # nothing of it is taken
        accepted = None
        if source == "villages" and not out.failed:
            loading = [f.file for f in good if checks_by_file[f.file].rejected is None]
            rows = (candidates.filter(~F.col("_dup") & F.col("_file").isin(loading))
                    .select("village_id", "longitude", "latitude").distinct().collect())
            accepted = spark.createDataFrame(rows, "village_id string, longitude double, latitude double")
        return out, accepted
    finally:
        for df in loader._cached:  # noqa: SLF001
            df.unpersist()


def _reason_lines(quarantine: DataFrame) -> list[tuple[str, str, int, list[int]]]:
    """(file, reason code, rows, first lines) of the rows ingest would quarantine."""
    from pyspark.sql import functions as F

    per_reason = (quarantine.select("file", "line", F.explode("reasons").alias("reason"))
                  .groupBy("file", "reason")
                  .agg(F.count(F.lit(1)).alias("n"),
                       F.slice(F.sort_array(F.collect_list("line")), 1, EXAMPLE_LINES).alias("lines")))
    return [(r["file"], r["reason"], int(r["n"]), [int(x) for x in r["lines"]]) for r in per_reason.collect()]
