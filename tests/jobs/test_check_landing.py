"""`rural-risk check-landing` on the worked examples of docs/landing.md: exact outcomes per file
and reason, the doc's tables agree with them, and nothing is written."""

from __future__ import annotations

import argparse
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conf import PROJECT_ROOT
from jobs.check_landing import check_landing, run
from jobs.cli import main
from jobs.context import RunContext
from store.lakehouse import Lakehouse

EXAMPLES = PROJECT_ROOT / "docs" / "landing-examples"
NOW = datetime(2025, 1, 1, tzinfo=UTC)  # after every example timestamp but the 2099 one

# file -> (rows read, would load, exact duplicates, would be quarantined)
COUNTS = {
    "villages/example.csv": (10, 5, 1, 4),
    "population/example.csv": (8, 3, 0, 5),
    "incidents/example.csv": (11, 5, 0, 6),
    "patrols/example.jsonl": (8, 2, 0, 6),
    "organizations/example.csv": (7, 3, 0, 4),
    "resources/example.csv": (7, 3, 0, 4),
    "survey/example.csv": (8, 3, 1, 4),
}
# file -> reason code -> lines of the rows quarantined with it
REASONS = {
    "villages/example.csv": {
        "out_of_range:longitude": [6], "bad_code:terrain": [7], "missing_required:village_name": [7],
        "bad_type:updated_at": [8], "out_of_range:area_km2": [8], "malformed_line": [11],
    },
    "population/example.csv": {
        "inconsistent:population_age_sum": [5], "inconsistent:low_income_gt_households": [6],
        "unknown_village": [7, 8], "bad_type:snapshot_date": [9], "out_of_range:left_behind_children": [9],
    },
    "incidents/example.csv": {
        "unknown_village": [4], "missing_required:village_id": [5], "future_timestamp:reported_at": [6],
        "bad_type:response_minutes": [7], "inconsistent:occurred_after_reported": [7],
        "out_of_range:severity": [7], "bad_code:category": [8], "bad_code:status": [8],
        "missing_required:severity": [11],
    },
    "patrols/example.jsonl": {
        "bad_code:mode": [3], "inconsistent:ended_before_started": [3], "out_of_range:personnel": [3],
        "inconsistent:patrol_over_24h": [4], "bad_type:personnel": [5], "unknown_village": [6],
        "missing_required:unit_id": [7], "malformed_line": [8],
    },
    "organizations/example.csv": {
        "inconsistent:trained_gt_members": [5], "inconsistent:dissolved_before_established": [6],
        "bad_code:org_type": [7], "out_of_range:members": [7], "missing_required:established_on": [8],
    },
    "resources/example.csv": {
        "inconsistent:removed_before_installed": [5], "out_of_range:longitude": [6],
        "bad_code:resource_type": [7], "bad_code:status": [7], "bad_type:installed_on": [8],
    },
    "survey/example.csv": {
        "invalid_response": [5, 6, 7], "bad_code:age_band": [8], "bad_code:q_knows_grid_worker": [8],
    },
}


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def checked(spark, settings, tmp_path_factory):
    """The examples checked once against a lakehouse path that does not exist."""
    root = tmp_path_factory.mktemp("check-landing") / "lakehouse"
    ctx = RunContext(settings=settings, lakehouse=Lakehouse(str(root)), run_id="check").attach(spark)
    before = _tree(EXAMPLES)
    report = check_landing(ctx, EXAMPLES, now=NOW)
    return report, root, before


def test_counts_and_reasons_per_file(checked):
    report, _, _ = checked
    files = {f.file: f for s in report.sources for f in s.files}
    assert {n: (f.rows_read, f.rows_load, f.rows_duplicate, f.rows_quarantined) for n, f in files.items()} == COUNTS
    assert {n: {r: lines for r, (_, lines) in f.reasons.items()} for n, f in files.items()} == REASONS
    assert {n: {r: k for r, (k, _) in f.reasons.items()} for n, f in files.items()} == {
        n: {r: len(lines) for r, lines in per.items()} for n, per in REASONS.items()}
    assert [s.source for s in report.sources] == ["villages", "population", "incidents", "patrols",
                                                  "organizations", "resources", "survey"]
    assert not any(s.failed for s in report.sources) and not any(f.rejected for f in files.values())
    assert report.clean is False
    text = report.text()
    assert "total: 59 rows read, 24 would load, 2 exact duplicates, 33 would be quarantined" in text
    assert re.search(r"^    invalid_response +3 rows  \(lines 5, 6, 7\)$", text, re.MULTILINE)
    assert re.search(r"^    bad_code:terrain +1 row  \(line 7\)$", text, re.MULTILINE)


def test_nothing_is_written(checked):
    _, root, before = checked
    assert not root.exists() and not root.parent.joinpath("lakehouse").exists()
    assert list(root.parent.iterdir()) == []
    assert _tree(EXAMPLES) == before


def test_the_doc_describes_what_the_examples_give():
    doc = (PROJECT_ROOT / "docs" / "landing.md").read_text(encoding="utf-8")
    counts = {m[1]: tuple(int(x) for x in m.groups()[1:]) for m in re.finditer(
        r"^\| `(\w+/example\.\w+)` \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", doc, re.MULTILINE)}
    assert counts == COUNTS
    described: dict[str, dict[str, list[int]]] = {}
    for m in re.finditer(r"^\| `(\w+/example\.\w+)` \| (\d+) \| [^|]+ \| ((?:`[^`]+`(?:, )?)+) \|$", doc, re.MULTILINE):
        for reason in re.findall(r"`([^`]+)`", m[3]):
            described.setdefault(m[1], {}).setdefault(reason, []).append(int(m[2]))
    assert described == REASONS


def test_exit_code_0_when_everything_would_load(ctx, tmp_path, capsys):
    landing = tmp_path / "landing"
    (landing / "villages").mkdir(parents=True)
    lines = (EXAMPLES / "villages" / "example.csv").read_text(encoding="utf-8").splitlines()
    (landing / "villages" / "v.csv").write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    args = argparse.Namespace(landing=str(landing), source=None)
    assert run(ctx, args) == 0
    out = capsys.readouterr().out
    assert "villages/v.csv: 4 rows read, 4 would load, 0 exact duplicates (counted once), 0 would be quarantined" in out
    assert "population: no files" in out and out.rstrip().endswith("everything would load")
    assert not Path(ctx.lakehouse.root).exists()


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_folder_without_landing_files_is_a_usage_error(tmp_path, capsys, make):
    folder = tmp_path / "landing"
    if make == "empty":
        (folder / "villages").mkdir(parents=True)
    assert main(["check-landing", str(folder), "--profile", "test", "--lakehouse", str(tmp_path / "lh")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert (f"landing folder {folder} does not exist" in err[0] if make == "missing"
            else f"landing folder {folder} holds no file of villages, population" in err[0])
    assert not (tmp_path / "lh").exists()


def test_villages_already_in_the_lakehouse_are_known(ctx, spark):
    """Population checked alone against a lakehouse that holds silver.villages: its villages are
    known (only line 7's village is not), and the lakehouse is only read."""
    path = ctx.lakehouse.path("silver.villages")
    villages = [("140322101001", 113.6, 37.8), ("140322101002", 113.64, 37.82), ("140322102001", 113.7, 37.9),
                ("140322102002", 113.72, 37.91), ("140322102003", 113.73, 37.92)]
    spark.createDataFrame(villages, "village_id string, longitude double, latitude double").write.format(
        "delta").save(path)
    log = sorted(p.name for p in Path(path, "_delta_log").iterdir())
    report = check_landing(ctx, EXAMPLES, sources=["population"], now=NOW)
    assert report.lakehouse_villages == 5
    [source] = report.sources
    [f] = source.files
    assert (f.rows_read, f.rows_load, f.rows_quarantined) == (8, 4, 4)
    assert f.reasons["unknown_village"] == (1, [7])
    assert sorted(p.name for p in Path(path, "_delta_log").iterdir()) == log


def test_a_file_that_mostly_fails_is_rejected_alone(ctx, tmp_path):
    """As ingest: 25 rows outside the bounding box reject their file; the other file loads."""
    folder = tmp_path / "landing"
    (folder / "villages").mkdir(parents=True)
    (folder / "incidents").mkdir()
    (folder / "villages" / "v.csv").write_text((EXAMPLES / "villages" / "example.csv").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    head = ("incident_id,reported_at,occurred_at,village_id,longitude,latitude,category,severity,source,"
            "response_minutes,status,updated_at")
    row = "{id},2024-03-01 10:00:00,,,113.6,{lat},theft,2,citizen_call,12,open,2024-03-01 10:00:00"
    (folder / "incidents" / "broken.csv").write_text(
        "\n".join([head, *(row.format(id=f"J{n}", lat=45.5) for n in range(25))]) + "\n", encoding="utf-8")
    report = check_landing(ctx, folder, sources=["villages", "incidents"], now=NOW)
    broken = {f.file: f for s in report.sources for f in s.files}["incidents/broken.csv"]
    assert broken.rejected == "25 of 25 rows fail their checks (100% > 50% in conf/ingest.yaml batch_failure)"
    assert (broken.rows_read, broken.rows_load, broken.rows_quarantined) == (25, 0, 0)
    assert broken.reasons["out_of_range:latitude"][0] == 25
    assert not any(s.failed for s in report.sources)  # no batch-level failure: the villages load


def test_the_run_date_sets_what_is_in_the_future(ctx):
    """--as-of 2024-03-07: 'not in the future' ends at 2024-03-07 24:00 in the settings' zone
    (Asia/Shanghai, UTC+8), whatever the clock says: of the incidents example, line 6 (2099) and
    the reports of 8, 9 and 10 March (lines 9, 11, 12) are future; 7 March 15:00 (line 8) is not."""
    from datetime import date

    from jobs.arguments import end_of_day

    assert end_of_day(date(2024, 3, 7), "Asia/Shanghai") == datetime(2024, 3, 7, 15, 59, 59, 999999, tzinfo=UTC)
    report = check_landing(ctx, EXAMPLES, sources=["villages", "incidents"], now=NOW, as_of=date(2024, 3, 7))
    incidents = {f.file: f for s in report.sources for f in s.files}["incidents/example.csv"]
    assert incidents.reasons["future_timestamp:reported_at"] == (4, [6, 9, 11, 12])
    # updated_at and occurred_at are not in the future either: line 9 was updated 8 March 21:00,
    # line 10 (a correction of line 2) 9 March, lines 11 and 12 on their report days; line 12
    # happened 10 March 12:30
    assert incidents.reasons["future_timestamp:updated_at"] == (4, [9, 10, 11, 12])
    assert incidents.reasons["future_timestamp:occurred_at"] == (1, [12])
    # the other reasons are those of the run without a date
    new = {"future_timestamp:reported_at", "future_timestamp:updated_at", "future_timestamp:occurred_at"}
    others = {r: lines for r, (_, lines) in incidents.reasons.items() if r not in new}
    assert others == {r: v for r, v in REASONS["incidents/example.csv"].items() if r not in new}
