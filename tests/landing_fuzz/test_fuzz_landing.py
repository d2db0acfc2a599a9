"""Hostile landing files (tests/landing_fuzz/strategies.py) through the real reading and checks.

Every generated file is parsed once in Python by features.landing.reading.parse_file (the
function each Spark task runs), inside a hypothesis test that fails, with the file shown, on
any exception and on any broken invariant of the parse. The same files are then landed in
one folder and go through `jobs.ingest.ingest` in one session (the header-problem files, which
fail a source's batch by contract, through `check_landing` on a folder of their own): no
source may stop on an error, every file must be accounted for, every quarantined row must
carry reason codes of the contract, and no personal value may be stored in clear.

`FUZZ_REPORT=path` writes the figures (files per source, rows, crashes, rejected files, run
time, load average) to a Markdown file: benchmarks/results/fuzz_<date>.md.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from strategies import (
    EXAMPLES,
    INGEST_TIME,
    TOWNSHIPS,
    VILLAGES,
    LandingCase,
    clear_values,
    contract,
    header_problem_file,
    landing_file,
    source_contract,
    sources,
)

from features.landing.contract_doc import all_reasons
from features.landing.reading import ReadOptions, parse_file

PROFILE = os.environ.get("FUZZ_PROFILE") or ("long" if settings._current_profile == "long" else "ci")  # noqa: SLF001
FAILED_DIR = Path(os.environ.get("FUZZ_FAILED_DIR", "/tmp/landing-fuzz-failures"))
HEADER_FILES = 12  # header-problem files per CSV source
# The documented file-level messages (docs/ingestion.md, docs/landing.md).
FILE_ERRORS = (
    r"file is empty",
    r"cannot be decoded as utf-8 at byte \d+: wrong encoding\? \(set ingest\.encoding\.\w+ in conf/ingest\.yaml\)",
    r"wrong delimiter: the header splits on '(;|TAB|\|)', expected ','",
)
BATCH_ERRORS = (r"header mismatch: duplicate columns \[.*\]", r"header mismatch: missing required columns \[.*")


def options(source: str, key: bytes) -> ReadOptions:
    """The reading options ingest builds (jobs.ingest.SourceLoader._options), from the same conf."""
    sc, personal = source_contract(source), contract().ingest["personal"]
    return ReadOptions(source=source, format=sc.format, fields=sc.fields, required=sc.required,
                       personal=sc.personal, drop=tuple(personal["drop"]),
                       extra_patterns=tuple(personal["extra_patterns"]), key=key)


@dataclass
class Parsed:
    """What the Python parse made of one file: a file-level error, or its rows."""

    file: str
    source: str
    damage: list[str]
    error: str | None = None
    error_kind: str | None = None
    rows: int = 0
    malformed: int = 0


@dataclass
class Corpus:
    landing: Path
    files: list[Parsed] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, source: str) -> list[Parsed]:
        return [f for f in self.files if f.source == source]


def _strings(row: dict) -> list[str]:
    return [v for v in row.values() if isinstance(v, str)]


def parse_and_check(case: LandingCase, opts: ReadOptions, header_problems: bool) -> Parsed:
    """parse_file over the case, with every invariant ingest relies on; raises on a broken one."""
    got = list(parse_file(case.data, "utf-8", opts))
    out = Parsed(file="", source=case.source, damage=list(case.damage))
    errors = [r for r in got if "_error" in r]
    if errors:
        assert len(got) == 1, f"an error marker must be the file's only row, got {got[:3]}"
        out.error, out.error_kind = errors[0]["_error"], errors[0]["_error_kind"]
        patterns = FILE_ERRORS if out.error_kind == "file" else BATCH_ERRORS
        assert out.error_kind in ("file", "batch") and any(re.fullmatch(p, out.error) for p in patterns), out.error
        assert header_problems or out.error_kind == "file", f"a contract header gave {out.error}"
        return out
    lines = [r["_line"] for r in got]
    assert lines == sorted(set(lines)) and all(isinstance(n, int) and n >= 1 for n in lines), lines
    clear = clear_values()
    for r in got:
        if r.get("_raw") is not None:
            out.malformed += 1
            assert set(r) == {"_line", "_raw"}, r.keys()
        else:
            assert set(r) == {"_line", *opts.fields, "_extra"}, sorted(r)
            assert all(r.get(d) is None for d in opts.drop)
        for s in _strings(r):
            s.encode("utf-8")  # Arrow and Spark need valid UTF-8: a lone surrogate would crash the task
            leaked = [v for v in clear if v in s]
            assert not leaked, f"personal value {leaked} in clear on line {r['_line']}: {s[:300]!r}"
        if r.get("_extra"):
            assert isinstance(json.loads(r["_extra"]), dict)
    out.rows = len(got)
    return out


def write_seed_villages(landing: Path) -> None:
    """A clean villages file first (name sorts before the generated ones) so that the other
    sources' village_id values are known."""
    sc = source_contract("villages")
    head = list(sc.spec.names)
    rows = [",".join(head)]
    for i, v in enumerate(VILLAGES):
        values = {"village_id": v, "village_name": f"村{i}", "township_id": TOWNSHIPS[i % 3],
                  "township_name": f"镇{i % 3}", "county_id": "C1", "county_name": "M县",
                  "longitude": f"{113.2 + 0.05 * i:.2f}", "latitude": f"{37.7 + 0.03 * i:.2f}",
                  "area_km2": "3.5", "terrain": "hill", "updated_at": "2019-01-01 00:00:00"}
        rows.append(",".join(values.get(c, "") for c in head))
    folder = landing / "villages"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "000_seed.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def generate(landing: Path, count: int, header_problems: bool) -> list[Parsed]:
    """`count` files per source (CSV sources only for header problems), each parsed and checked
    inside a hypothesis test, then written to landing/<source>/<kind>/<n>.<ext>."""
    return [p for source in sources() for p in _generate(landing, source, count, header_problems)]


def _generate(landing: Path, source: str, count: int, header_problems: bool) -> list[Parsed]:
    sc = source_contract(source)
    if header_problems and sc.format != "csv":
        return []  # JSON Lines has no header: missing and repeated keys are row problems there
    opts = options(source, b"fuzz-key-" + b"0" * 32)
    folder = landing / source / ("headers" if header_problems else "fuzz")
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Parsed] = []

    @settings(settings.get_profile(PROFILE), max_examples=count)
    @given(case=header_problem_file(source) if header_problems else landing_file(source))
    def fuzz(case: LandingCase) -> None:
        path = folder / f"{len(out) + 1:05d}.{sc.extension}"
        path.write_bytes(case.data)
        try:
            parsed = parse_and_check(case, opts, header_problems)
        except Exception as exc:  # keep the file that failed, to reproduce it with parse_file
            kept = FAILED_DIR / f"{source}-{path.name}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(case.data)
            raise AssertionError(f"{type(exc).__name__} on the file saved as {kept}: {exc}") from exc
        parsed.file = path.relative_to(landing).as_posix()
        out.append(parsed)

    fuzz()
    return out


@pytest.fixture(scope="module")
def figures() -> dict:
    """Figures of this module's run; written to FUZZ_REPORT when it is set."""
    data: dict = {"started": time.time(), "load_before": os.getloadavg()}
    yield data
    if os.environ.get("FUZZ_REPORT"):
        from fuzz_report import write_report

        write_report(Path(os.environ["FUZZ_REPORT"]), data, PROFILE)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, figures: dict) -> Corpus:
    landing = tmp_path_factory.mktemp("fuzz-landing")
    write_seed_villages(landing)
    t0 = time.perf_counter()
    c = Corpus(landing=landing, files=generate(landing, EXAMPLES[PROFILE], header_problems=False))
    c.seconds = time.perf_counter() - t0
    figures["corpus"] = c
    return c


@pytest.fixture(scope="module")
def header_corpus(tmp_path_factory: pytest.TempPathFactory, figures: dict) -> Corpus:
    landing = tmp_path_factory.mktemp("fuzz-headers")
    write_seed_villages(landing)
    c = Corpus(landing=landing, files=generate(landing, HEADER_FILES, header_problems=True))
    figures["headers"] = c
    return c


def test_parser_survives_every_generated_file(corpus: Corpus):
    per_source = Counter(f.source for f in corpus.files)
    assert sum(per_source.values()) >= 1000
    assert set(per_source) == set(sources()) and min(per_source.values()) == EXAMPLES[PROFILE]
    # the damage was really there: files rejected, lines malformed, rows read
    assert sum(f.error is not None for f in corpus.files) > 0
    assert sum(f.malformed for f in corpus.files) > 0
    assert sum(f.rows - f.malformed for f in corpus.files) > 1000


@pytest.fixture(scope="module")
def ingested(corpus: Corpus, spark, settings, tmp_path_factory, figures: dict):
    from jobs.context import RunContext
    from jobs.ingest import ingest
    from store.lakehouse import Lakehouse

    ctx = RunContext(settings=settings, lakehouse=Lakehouse(str(tmp_path_factory.mktemp("fuzz-lh"))),
                     run_id="fuzz").attach(spark)
    t0 = time.perf_counter()
    summary = ingest(ctx, corpus.landing, ingest_time=INGEST_TIME, great_expectations=False)
    figures["ingest_seconds"] = time.perf_counter() - t0
    figures["summary"] = summary
    lh = ctx.lakehouse
    log = [r.asDict() for r in lh.read(spark, "ops.ingest_log").collect()]
    figures["log"] = log
    return ctx, summary, log


def test_no_source_stops_on_an_error(ingested):
    _, summary, _ = ingested
    stopped = [f"{s.source}: {m}" for s in summary.sources for m in s.messages if "stopped by" in m]
    assert stopped == []
    # a source fails only because files of it were rejected, never as a whole
    assert all(s.files_rejected > 0 for s in summary.sources if s.failed)
    assert not any("nothing of" in m for s in summary.sources for m in s.messages)


def test_every_file_is_accounted_for_in_the_manifest(ingested, corpus: Corpus):
    _, _, log = ingested
    by_file = {r["file"]: r for r in log}
    assert len(by_file) == len(log)  # one manifest row per file
    expected = {f.file: f for f in corpus.files}
    assert set(by_file) == set(expected) | {"villages/000_seed.csv"}
    for file, r in by_file.items():
        parsed = expected.get(file)
        if r["status"] == "loaded":
            assert r["rows_read"] == r["rows_accepted"] + r["rows_quarantined"] + r["rows_duplicate"], r
            assert parsed is None or (parsed.error is None and r["rows_read"] == parsed.rows), (r, parsed)
            assert parsed is None or r["rows_quarantined"] >= parsed.malformed
        else:
            assert r["status"] == "rejected" and r["message"].startswith(f"{file}: "), r
            why = r["message"][len(file) + 2:]
            if parsed.error is not None:
                assert why == parsed.error
            else:  # rejected alone by its share of bad rows (conf/ingest.yaml batch_failure)
                assert re.match(r"\d+ of \d+ rows fail their checks .* most failing rules: ", why), why
                assert parsed.rows >= 20


def test_quarantined_rows_carry_contract_reason_codes(ingested, figures: dict):
    ctx, _, log = ingested
    from pyspark.sql import functions as F

    spark = ctx.spark
    q = ctx.lakehouse.read(spark, "ops.quarantine")
    per_file = {r["file"]: r["n"] for r in q.groupBy("file").agg(F.count(F.lit(1)).alias("n")).collect()}
    loaded = {r["file"]: r["rows_quarantined"] for r in log if r["status"] == "loaded" and r["rows_quarantined"]}
    assert per_file == loaded
    known = set(all_reasons(contract()))
    used = Counter(x for r in q.select(F.explode("reasons").alias("x")).collect() for x in [r["x"]])
    assert q.filter(F.size("reasons") == 0).count() == 0
    assert set(used) <= known, set(used) - known
    figures["reasons_used"] = used


def test_no_personal_value_is_stored_in_clear(ingested):
    ctx, _, _ = ingested
    from pyspark.sql import functions as F

    spark, lh = ctx.spark, ctx.lakehouse
    texts: list[str] = []
    for name in ("bronze.incidents", "ops.quarantine", "silver.incidents"):
        df = lh.read(spark, name)
        strings = [c for c, t in df.dtypes if t == "string"]
        texts += [r[0] for r in df.select(F.concat_ws("\x1f", *strings)).collect()]
    blob = "\x1e".join(texts)
    assert len(blob) > 10_000  # incidents were loaded and quarantined
    leaked = [v for v in clear_values() if v in blob]
    assert leaked == []


def test_formula_and_html_names_reach_silver_as_landed(ingested, figures: dict):
    """Names are data: silver keeps them as landed (trimmed); escaping is the report's job
    (tests/landing_fuzz/test_report_escaping.py)."""
    ctx, _, _ = ingested
    names = {r[0] for r in ctx.lakehouse.read(ctx.spark, "silver.villages").select("village_name").collect()}
    formulas = sorted(n for n in names if n and n[0] in "=+-@")
    html = sorted(n for n in names if "<" in n)
    figures["hostile_names_in_silver"] = formulas + html
    assert formulas and html, names
    # trimmed as Spark's trim does (spaces only: a leading carriage return stays, as landed)
    assert set(formulas + html) <= {r[0].strip(" ") for r in ctx.lakehouse.read(ctx.spark, "bronze.villages")
                                    .select("village_name").collect() if r[0]}


def test_header_problems_fail_their_source_and_every_file_is_reported(header_corpus: Corpus, spark, settings,
                                                                      tmp_path_factory, figures: dict):
    from jobs.check_landing import check_landing
    from jobs.context import RunContext
    from store.lakehouse import Lakehouse

    ctx = RunContext(settings=settings, lakehouse=Lakehouse(str(tmp_path_factory.mktemp("fuzz-lh2"))),
                     run_id="fuzz-headers").attach(spark)
    t0 = time.perf_counter()
    report = check_landing(ctx, header_corpus.landing, now=INGEST_TIME)
    figures["check_seconds"] = time.perf_counter() - t0
    expected = {f.file: f for f in header_corpus.files}
    seen = {}
    for s in report.sources:
        for f in s.files:
            seen[f.file] = f
            parsed = expected.get(f.file)
            if parsed is not None and parsed.error is not None:
                assert f.rejected == parsed.error
                if parsed.error_kind == "batch":
                    assert f"{f.file}: {parsed.error}" in s.failed
            elif f.rejected is None:
                assert f.rows_read == f.rows_load + f.rows_quarantined + f.rows_duplicate
                assert parsed is None or f.rows_read == parsed.rows
            else:
                assert re.match(r"\d+ of \d+ rows fail their checks", f.rejected)
    assert set(seen) == set(expected) | {"villages/000_seed.csv"}
    assert sum(f.error_kind == "batch" for f in header_corpus.files) >= len(header_corpus.files) // 2
    failed = {s.source for s in report.sources if s.failed}
    assert failed == {f.source for f in header_corpus.files if f.error_kind == "batch"}
    figures["header_report"] = report


def test_figures_of_the_run(figures: dict, ingested):
    """Collects the last figures (run last in the module)."""
    figures["load_after"] = os.getloadavg()
    figures["seconds"] = time.time() - figures["started"]
    figures["date"] = date.today().isoformat()
    assert figures["seconds"] > 0
