"""Ingest on hand-written landing files: every reason code, exactly once, corrections, late
versions, a batch failure, a GB18030 file and personal data nowhere in clear."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from conf import Settings
from features.landing.pseudonym import key_id, pseudonym

NOW = datetime(2024, 6, 1, tzinfo=UTC)
NAME, PHONE, ID_NUMBER = "王小明", "13812345678", "41010219800101123X"
SOURCES_TABLES = ["villages", "population", "incidents", "patrols", "organizations", "resources", "survey"]

VILLAGES = """village_id,village_name,township_id,township_name,county_id,county_name,longitude,latitude,area_km2,terrain,updated_at
V1,东村,T1,城关镇,C1,某县,113.600000,34.200000,3.5,平原,2024-01-01 00:00:00
V2,西村,T1,城关镇,C1,某县,113.700000,34.250000,4.0,hill,2024-01-01 00:00:00
V3,南村,T1,城关镇,C1,某县,181.5,34.2,2.0,plain,2024-01-01 00:00:00
V4,,T1,城关镇,C1,某县,113.65,34.22,2.0,swamp,2024-01-01 00:00:00
V2,西村,T1,城关镇,C1,某县,113.700000,34.250000,4.0,hill,2024-01-01 00:00:00
"""
POP_HEAD = ("village_id,snapshot_date,households,registered_pop,resident_pop,pop_under_15,pop_15_59,pop_60_plus,"
            "left_behind_children,left_behind_elderly,migrant_workers_out,low_income_households,"
            "per_capita_income_yuan,updated_at")
POPULATION = f"""{POP_HEAD}
V1,2023-12-31,300,1000,900,150,500,250,20,30,100,20,16000,2024-01-05 00:00:00
V2,2023-12-31,300,1000,900,150,500,400,20,30,100,20,16000,2024-01-05 00:00:00
V2,2024-12-31,10,1000,900,150,500,250,20,30,100,20,,2024-01-05 00:00:00
V9,2023-12-31,300,1000,900,150,500,250,20,30,100,20,16000,2024-01-05 00:00:00
V1,2024-02-30,300,1000,900,150,500,250,-20,30,100,20,16000,2024-01-05 00:00:00
"""
INC_HEAD = ("incident_id,reported_at,occurred_at,village_id,longitude,latitude,category,severity,source,"
            "response_minutes,status,updated_at,reporter_name,reporter_phone,reporter_id_number,narrative")
INCIDENTS = f"""{INC_HEAD}
I1,2024-03-01 10:00:00,2024-03-01 09:00:00,V1,,,盗窃,2,群众报警,12,open,2024-03-01 10:00:00,{NAME},{PHONE},{ID_NUMBER},"{NAME} 说
手机 {PHONE} 被偷"
I2,2024-03-02T10:00:00+08:00,,,113.601,34.201,theft,3,citizen_call,5,resolved,2024-03-02 11:00:00,,138 1234 5678,,
I3,2024-03-03 10:00:00,,,110.1,31.1,fraud,1,walk_in,,open,2024-03-03 10:00:00,,,,
I4,2099-01-01 10:00:00,,V1,,,fraud,1,walk_in,,open,2024-03-03 10:00:00,,,,
I5,2024-03-04 10:00:00,2024-03-04 12:00:00,V2,,,dispute,9,video,abc,open,2024-03-04 10:00:00,,,,
I6,,,V2,,,robbery,2,video,,closed,2024-03-04 10:00:00,,,,
I7,2024-03-05 10:00:00,,V2,,,fire,2,referral,1,false_alarm,2024-03-05 10:00:00,,,,
I8,2024-03-06 10:00:00,,V2,cut,{NAME},{PHONE}
I7,2024-03-05 10:00:00,,V2,,,fire,2,referral,1,false_alarm,2024-03-05 10:00:00,,,,
I9,2024-03-06 10:00:00,,,,,theft,2,,,open,2024-03-06 10:00:00,,,,
"""
PATROLS = """{"patrol_id":"P1","unit_id":"U1","unit_type":"辅警","village_id":"V1","started_at":"2024-03-01 21:00:00","ended_at":"2024-03-01 23:30:00","personnel":2,"mode":"car","distance_km":3.5,"checkpoints":[{"lon":113.6,"lat":34.2,"at":"2024-03-01 21:10:00"}]}
{"patrol_id":"P2","unit_id":"U1","unit_type":"police","village_id":"V2","started_at":"2024-03-02 10:00:00","ended_at":"2024-03-02 09:00:00","personnel":0,"mode":"horse"}
{"patrol_id":"P3","unit_id":"U2","unit_type":"police","village_id":"V2","started_at":"2024-03-02 08:00:00","ended_at":"2024-03-03 14:00:00","personnel":"two","mode":"foot"}
{"patrol_id":"P4",
"""
ORGS_HEAD = "org_id,village_id,org_type,members,trained_members,established_on,dissolved_on,updated_at"
ORGS = f"""{ORGS_HEAD}
O1,V1,联防队,10,5,2020-01-01,,2024-01-01 00:00:00
O2,V1,grid_workers,10,12,2020-01-01,2019-01-01,2024-01-01 00:00:00
"""
RESOURCES = """resource_id,resource_type,village_id,longitude,latitude,installed_on,removed_on,status,updated_at
R1,监控探头,V1,113.6,34.2,2022-01-01,,working,2024-01-01 00:00:00
R2,camera,V1,,,2022-01-01,2021-01-01,working,2024-01-01 00:00:00
"""
SURVEY = """response_id,village_id,surveyed_on,age_band,gender,q_safety,q_trust_police,q_participation,q_satisfaction,q_knows_grid_worker,completed
S1,V1,2024-02-01,30-44,F,4,5,3,4,yes,true
S2,V1,2024-02-01,30-44,M,9,5,3,4,no,true
S3,V2,2024-02-01,60+,,4,5,3,4,no,false
"""
EXPECTED_QUARANTINE = {
    ("villages/2024/v.csv", 4): ["out_of_range:longitude"],
    ("villages/2024/v.csv", 5): ["bad_code:terrain", "missing_required:village_name"],
    ("population/p.csv", 3): ["inconsistent:population_age_sum"],
    ("population/p.csv", 4): ["inconsistent:low_income_gt_households"],
    ("population/p.csv", 5): ["unknown_village"],
    ("population/p.csv", 6): ["bad_type:snapshot_date", "out_of_range:left_behind_children"],
    ("incidents/2024/03.csv", 5): ["unknown_village"],
    ("incidents/2024/03.csv", 6): ["future_timestamp:reported_at"],
    ("incidents/2024/03.csv", 7): ["bad_type:response_minutes", "inconsistent:occurred_after_reported",
                                   "out_of_range:severity"],
    ("incidents/2024/03.csv", 8): ["bad_code:category", "bad_code:status", "missing_required:reported_at"],
    ("incidents/2024/03.csv", 10): ["malformed_line"],
    ("incidents/2024/03.csv", 12): ["missing_required:village_id"],
    ("patrols/p.jsonl", 2): ["bad_code:mode", "inconsistent:ended_before_started", "out_of_range:personnel"],
    ("patrols/p.jsonl", 3): ["bad_type:personnel", "inconsistent:patrol_over_24h"],
    ("patrols/p.jsonl", 4): ["malformed_line"],
    ("organizations/o.csv", 3): ["inconsistent:dissolved_before_established", "inconsistent:trained_gt_members"],
    ("resources/r.csv", 3): ["inconsistent:removed_before_installed"],
    ("survey/s.csv", 3): ["invalid_response"],
    ("survey/s.csv", 4): ["invalid_response"],
}


def write(root: Path, rel: str, text: str, encoding: str = "utf-8") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    write(root, "villages/2024/v.csv", VILLAGES, encoding="gb18030")  # the override in ctx below
    write(root, "population/p.csv", POPULATION)
    write(root, "incidents/2024/03.csv", INCIDENTS)
    write(root, "patrols/p.jsonl", PATROLS)
    write(root, "organizations/o.csv", ORGS)
    write(root, "resources/r.csv", RESOURCES)
    write(root, "survey/s.csv", SURVEY)
    write(root, "survey/empty.csv", "")
    return root


def override(ctx, ingest: dict) -> None:
    """Profile-level override of conf/ingest.yaml for this context."""
    data = dict(ctx.settings.data)
    data["ingest"] = ingest
    ctx.settings = Settings(profile=ctx.settings.profile, data=data)


@pytest.fixture()
def ictx(ctx):
    """The test context with villages read as GB18030."""
    override(ctx, {"encoding": {"villages": "gb18030"}})
    return ctx


def versions(ctx) -> dict[str, int | None]:
    return {name: ctx.lakehouse.version(ctx.spark, name) for name in ctx.lakehouse.existing_tables(ctx.spark)}


def snapshot(ctx) -> dict[str, list]:
    return {name: sorted(map(str, ctx.lakehouse.read(ctx.spark, name).collect()))
            for name in ctx.lakehouse.existing_tables(ctx.spark)}


def test_ingest_end_to_end(ictx, landing):
    from jobs.ingest import ingest

    ctx, spark, lh = ictx, ictx.spark, ictx.lakehouse
    ctx.run_id = "run-1"
    first = ingest(ctx, landing, ingest_time=NOW, great_expectations=False)
    assert first.failed_sources == []
    by_source = {s.source: s for s in first.sources}
    inc = by_source["incidents"]
    assert (inc.files_loaded, inc.rows_read, inc.rows_accepted, inc.rows_quarantined, inc.rows_duplicate) == (
        1, 10, 3, 6, 1)
    assert by_source["survey"].files_rejected == 1
    assert by_source["survey"].messages == ["survey/empty.csv: file is empty"]

    quarantine = {(r["file"], r["line"]): list(r["reasons"]) for r in lh.read(spark, "ops.quarantine").collect()}
    assert quarantine == EXPECTED_QUARANTINE

    villages = lh.read(spark, "silver.villages").select("village_id", "village_name", "terrain").collect()
    assert sorted(map(tuple, villages)) == [("V1", "东村", "plain"), ("V2", "西村", "hill")]
    incidents = {r["incident_id"]: r for r in lh.read(spark, "silver.incidents").collect()}
    assert sorted(incidents) == ["I1", "I2", "I7"]
    i1, i2, i7 = incidents["I1"], incidents["I2"], incidents["I7"]
    assert (i1["category"], i1["source"], i1["village_snapped"], i1["_line"]) == ("theft", "citizen_call", False, 2)
    assert (i2["village_id"], i2["village_snapped"], i2["reported_at"]) == ("V1", True, datetime(2024, 3, 2, 10))
    assert i7["is_false_alarm"] is True
    key = ctx.settings.get("security.dev_key")
    import os

    secret = os.environ.get("RURAL_RISK_PSEUDONYM_KEY", key).encode()
    assert i1["reporter_key"] == pseudonym(ID_NUMBER, "id_number", secret)
    assert i2["reporter_key"] == pseudonym(PHONE, "phone", secret)  # same person, linked by phone
    # every row names the key its pseudonyms were made with, in bronze and in silver
    kid = key_id(secret)
    assert {r["_key_id"] for r in lh.read(spark, "bronze.incidents").select("_key_id").collect()} == {kid}
    assert {r["_key_id"] for r in lh.read(spark, "bronze.villages").select("_key_id").collect()} == {kid}
    assert {i["_key_id"] for i in incidents.values()} == {kid}
    patrol = lh.read(spark, "silver.patrols").collect()
    assert [(p["patrol_id"], p["unit_type"], p["duration_hours"], p["is_night"], p["checkpoints"],
             p["updated_at"]) for p in patrol] == [
        ("P1", "auxiliary_police", 2.5, True, 1, datetime(2024, 3, 1, 23, 30))]
    survey = lh.read(spark, "silver.survey").collect()
    assert [(s["response_id"], s["q_knows_grid_worker"], s["updated_at"]) for s in survey] == [
        ("S1", True, datetime(2024, 6, 1, 8))]
    log = lh.read(spark, "ops.ingest_log").filter(F.col("status") == "loaded")
    assert log.filter("rows_read != rows_accepted + rows_quarantined + rows_duplicate").count() == 0

    # exactly once: the same landing again writes nothing, not even a Delta version
    before_versions, before_rows = versions(ctx), snapshot(ctx)
    ctx.run_id = "run-2"
    again = ingest(ctx, landing, ingest_time=NOW, great_expectations=False)
    assert [s.files_skipped for s in again.sources] == [1, 1, 1, 1, 1, 1, 1]
    assert versions(ctx) == before_versions
    assert snapshot(ctx) == before_rows

    # a correction, a late older version, a late new incident, and a mostly bad file
    write(landing, "incidents/2024/04.csv", f"""{INC_HEAD}
I1,2024-03-01 10:00:00,2024-03-01 09:00:00,V1,,,theft,2,citizen_call,12,resolved,2024-04-01 09:00:00,,,,
I2,2024-03-02 10:00:00,,,113.601,34.201,theft,3,citizen_call,5,open,2024-03-01 00:00:00,,,,
I10,2024-01-15 10:00:00,,V2,,,theft,1,video,,open,2024-01-15 10:00:00,,,,
""")
    write(landing, "organizations/o2.csv", f"""{ORGS_HEAD}
O3,V1,book_club,10,5,2020-01-01,,2024-01-01 00:00:00
O4,V1,book_club,10,5,2020-01-01,,2024-01-01 00:00:00
O5,V1,book_club,10,5,2020-01-01,,2024-01-01 00:00:00
""")
    orgs_before = {n: versions(ctx).get(n) for n in ("bronze.organizations", "silver.organizations")}
    ctx.run_id = "run-3"
    override(ctx, {"encoding": {"villages": "gb18030"}, "batch_failure": {"min_rows": 3}})
    third = ingest(ctx, landing, sources=["incidents", "organizations"], ingest_time=NOW, great_expectations=False)
    assert third.failed_sources == ["organizations"]
    assert {n: versions(ctx).get(n) for n in orgs_before} == orgs_before
    assert lh.read(spark, "ops.ingest_log").filter("status = 'rejected' AND file = 'organizations/o2.csv'").count() == 1
    incidents = {r["incident_id"]: r for r in lh.read(spark, "silver.incidents").collect()}
    assert incidents["I1"]["status"] == "resolved"  # corrected
    assert incidents["I1"]["reporter_key"] is None  # the corrected export carries no reporter
    assert (incidents["I2"]["status"], incidents["I2"]["_file"]) == ("resolved", "incidents/2024/03.csv")  # late older lost
    assert incidents["I10"]["village_id"] == "V2"
    changed = lh.read(spark, "ops.changed_periods").filter(F.col("run_id") == "run-3").collect()
    assert sorted((r["source"], r["village_id"], r["period_start"]) for r in changed) == [
        ("incidents", "V1", date(2024, 3, 1)), ("incidents", "V2", date(2024, 1, 1))]

    # personal values appear nowhere in clear, in any column of any table (each table's rows,
    # every column cast to text, read once: the tables hold tens of rows)
    for name in lh.existing_tables(spark):
        df = lh.read(spark, name)
        text = "\n".join(r[0] for r in df.select(
            F.concat_ws("\u0001", *[F.col(c).cast("string") for c in df.columns])).collect())
        for value in (NAME, PHONE, ID_NUMBER, "138 1234 5678", "说"):
            assert value not in text, f"{value} found in {name}"


def test_great_expectations_gate_counts_all_rows_and_runs_on_new_batches_only(ictx, tmp_path):
    from jobs.ingest import ingest

    landing, docs = tmp_path / "gx-landing", tmp_path / "data-docs"
    write(landing, "villages/v.csv", VILLAGES, encoding="gb18030")
    ok = "I{n},2024-03-01 10:00:00,2024-03-01 09:00:00,V1,,,theft,2,citizen_call,12,open,2024-03-01 10:00:00,,,,"
    bad = "I20,2024-03-01 10:00:00,,V1,200,34.2,theft,2,citizen_call,12,open,2024-03-01 10:00:00,,,,"
    write(landing, "incidents/i.csv", "\n".join([INC_HEAD, *(ok.format(n=n) for n in range(1, 20)), bad]) + "\n")
    override(ictx, {"encoding": {"villages": "gb18030"}, "quality": {"data_docs_dir": str(docs)}})
    first = ingest(ictx, landing, sources=["villages", "incidents"], ingest_time=NOW, great_expectations=True)
    assert first.data_docs == str(docs.resolve() / "index.html")
    assert (docs / "index.html").is_file()
    inc = {s.source: s for s in first.sources}["incidents"]
    # 20 rows (the gate's min_rows): the only longitude given is out of range. GX's `mostly`
    # counts non-null values only (1 of 1 bad); the gate counts all rows (1 of 20), so the
    # batch loads and just that row is quarantined.
    assert (inc.failed, inc.files_loaded, inc.rows_accepted, inc.rows_quarantined) == (False, 1, 19, 1)
    assert inc.messages == []
    # Nothing new to load: no validation, so no Data Docs rebuild either.
    (docs / "index.html").unlink()
    again = ingest(ictx, landing, sources=["villages", "incidents"], ingest_time=NOW, great_expectations=True)
    assert [s.files_skipped for s in again.sources] == [1, 1]
    assert again.data_docs is None and not (docs / "index.html").exists()


def test_a_file_that_mostly_fails_is_rejected_alone_with_its_cause(ictx, tmp_path):
    """One broken export (every row outside the bounding box) is rejected with the rule, the
    count and an example; the source's other file loads."""
    from jobs.ingest import ingest

    landing = tmp_path / "isolated"
    write(landing, "villages/v.csv", VILLAGES, encoding="gb18030")
    ok = "I{n},2024-03-01 10:00:00,,V1,,,theft,2,citizen_call,12,open,2024-03-01 10:00:00,,,,"
    far = "J{n},2024-03-01 10:00:00,,,113.6,45.5,theft,2,citizen_call,12,open,2024-03-01 10:00:00,,,,"
    write(landing, "incidents/good.csv", "\n".join([INC_HEAD, *(ok.format(n=n) for n in range(5))]) + "\n")
    write(landing, "incidents/broken.csv", "\n".join([INC_HEAD, *(far.format(n=n) for n in range(25))]) + "\n")
    out = ingest(ictx, landing, sources=["villages", "incidents"], ingest_time=NOW, great_expectations=False)
    inc = {s.source: s for s in out.sources}["incidents"]
    assert (inc.failed, inc.files_loaded, inc.files_rejected, inc.rows_accepted) == (True, 1, 1, 5)
    assert out.failed_sources == ["incidents"]
    lh, spark = ictx.lakehouse, ictx.spark
    assert sorted(r["incident_id"] for r in lh.read(spark, "silver.incidents").collect()) == [f"I{n}" for n in range(5)]
    log = {r["file"]: r for r in lh.read(spark, "ops.ingest_log").filter("source = 'incidents'").collect()}
    assert (log["incidents/good.csv"]["status"], log["incidents/broken.csv"]["status"]) == ("loaded", "rejected")
    assert log["incidents/broken.csv"]["message"] == (
        "incidents/broken.csv: 25 of 25 rows fail their checks (100% > 50% in conf/ingest.yaml "
        "batch_failure): file rejected, the other files of incidents load; most failing rules: "
        "out_of_range:latitude on 25 rows (e.g. line 2: '45.5'), outside 31.0..40.8 set in "
        "conf/ingest.yaml bounding_box; unknown_village on 25 rows (e.g. line 2)")  # none to snap to
    # the broken file's rows are not in the quarantine either: the file is refused as a whole
    assert lh.read(spark, "ops.quarantine").filter("file = 'incidents/broken.csv'").count() == 0 \
        if lh.exists(spark, "ops.quarantine") else True


def test_generated_dirty_county_ends_where_its_truth_says(ctx, tmp_path):
    """Every planted dirty row of a tiny generated county is quarantined with its reason,
    counted as a duplicate, or accepted with its label mapped; personal values stay hidden."""
    pytest.importorskip("synthetic", reason="generator not in this checkout")
    import pandas as pd

    from jobs.cli import main
    from jobs.ingest import ingest

    out = tmp_path / "county"
    assert main(["--profile", "test", "generate", "--out", str(out), "--villages", "12", "--years", "1",
                 "--seed", "11", "--dirty-rate", "0.03", "--gb18030", "population"]) == 0
    override(ctx, {"encoding": {"population": "gb18030"}})
    summary = ingest(ctx, out, ingest_time=datetime.now(UTC), great_expectations=False)
    assert summary.failed_sources == []
    spark, lh = ctx.spark, ctx.lakehouse

    dirty = pd.read_csv(out / "_truth" / "dirty_rows.csv", dtype=str, keep_default_na=False)
    quarantine = {(r["file"], int(r["line"])): set(r["reasons"]) for r in lh.read(spark, "ops.quarantine").collect()}
    log = {r["file"]: r for r in lh.read(spark, "ops.ingest_log").collect()}
    assert all(r["status"] == "loaded" for r in log.values())
    problems = []
    for d in dirty.itertuples(index=False):
        got = quarantine.get((d.file, int(d.line)))
        if d.kind in ("duplicate_row", "chinese_label"):
            if got is not None:
                problems.append(f"{d.file}:{d.line} {d.kind} was quarantined with {sorted(got)}")
        elif got is None or d.expected_reason not in got:
            problems.append(f"{d.file}:{d.line} {d.kind}: expected {d.expected_reason}, got {got}")
    listed = {(d.file, int(d.line)) for d in dirty.itertuples(index=False)}
    extra = sorted(k for k in quarantine if k not in listed)
    assert problems == [] and extra == [], (problems[:10], extra[:10])
    dups = dirty[dirty["kind"] == "duplicate_row"].groupby("file").size().to_dict()
    assert {f: r["rows_duplicate"] for f, r in log.items() if r["rows_duplicate"]} == dups

    personal = pd.read_csv(out / "_truth" / "personal_values.csv", dtype=str, keep_default_na=False)
    values = [v for v in personal["value"] if v]
    for name in lh.existing_tables(spark):
        df = lh.read(spark, name)
        text = F.concat_ws("\u0001", *[F.col(c).cast("string") for c in df.columns])
        hits = df.select(text.alias("t")).filter(F.col("t").rlike("|".join(values))).count()
        assert hits == 0, f"personal values found in {name}"


def test_missing_landing_folder_is_one_clear_line(tmp_path, capsys):
    from jobs.cli import main

    # its own lakehouse: the default ./lakehouse would get a write-lock folder in the checkout
    lakehouse = tmp_path / "lh"
    assert main(["--profile", "test", "--lakehouse", str(lakehouse), "ingest", "--landing", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rural-risk: error: landing folder {tmp_path / 'nope'} does not exist or is not a folder"]
    assert not (lakehouse / "bronze").exists() and not (lakehouse / "silver").exists()  # nothing loaded


def test_summary_table_lists_every_source_and_its_messages():
    from jobs.ingest import IngestSummary, SourceSummary

    s = IngestSummary(run_id="r", sources=[
        SourceSummary("villages", files_loaded=1, rows_read=5, rows_accepted=2, rows_quarantined=2, rows_duplicate=1),
        SourceSummary("survey", files_rejected=1, failed=True, messages=["survey/a.csv: file is empty"]),
    ])
    assert s.failed_sources == ["survey"]
    assert s.table().splitlines() == [
        "source    loaded  skipped  rejected  read  accepted  quarantined  duplicate  status",
        "villages       1        0         0     5         2            2          1      ok",
        "survey         0        0         1     0         0            0          0  FAILED",
        "survey: survey/a.csv: file is empty",
    ]


def delta_commits(lakehouse) -> dict[str, int]:
    root = Path(lakehouse.root)
    return {f"{log.parent.parent.name}.{log.parent.name}": len(list(log.glob("*.json")))
            for log in root.glob("*/*/_delta_log")}


def test_a_thousand_small_files_load_in_a_fixed_number_of_commits_and_a_retry_never_doubles(ictx, tmp_path):
    from delta.tables import DeltaTable

    from jobs.ingest import ingest

    ctx, spark, lh = ictx, ictx.spark, ictx.lakehouse
    landing = tmp_path / "many"
    write(landing, "villages/v.csv", VILLAGES, encoding="gb18030")
    ok = "I{n},2024-03-01 10:00:00,,V1,,,theft,2,citizen_call,12,open,2024-03-01 10:00:00,,,,"
    bad = "I{n},2024-03-01 10:00:00,,V1,,,theft,9,citizen_call,12,open,2024-03-01 10:00:00,,,,"  # severity 9
    for n in range(1000):
        write(landing, f"incidents/{n:04d}.csv", f"{INC_HEAD}\n{(bad if n % 100 == 0 else ok).format(n=n)}\n")
    ingest(ctx, landing, sources=["villages"], ingest_time=NOW, great_expectations=False)
    before = delta_commits(lh)
    first = ingest(ctx, landing, sources=["incidents"], ingest_time=NOW, great_expectations=False)
    inc = first.sources[0]
    assert (inc.files_loaded, inc.rows_read, inc.rows_accepted, inc.rows_quarantined) == (1000, 1000, 990, 10)
    after = delta_commits(lh)
    # Whatever the number of files: silver and bronze are created and written once each, the
    # shared ops tables (made by the villages run) get one append each.
    assert {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)} == {
        "silver.incidents": 2, "bronze.incidents": 2, "ops.quarantine": 1, "ops.changed_periods": 1,
        "ops.ingest_log": 1}

    # A run killed after its bronze and quarantine appends but before the manifest: ten files
    # written but not recorded. The retry removes their rows first, so nothing doubles.
    retried = [f"incidents/{n:04d}.csv" for n in range(0, 1000, 100)]
    DeltaTable.forPath(spark, lh.path("ops.ingest_log")).delete(F.col("file").isin(retried))
    before = delta_commits(lh)
    ctx.run_id = "run-retry"
    again = ingest(ctx, landing, sources=["incidents"], ingest_time=NOW, great_expectations=False)
    inc = again.sources[0]
    assert (inc.files_loaded, inc.files_skipped, inc.rows_quarantined) == (10, 990, 10)
    assert lh.read(spark, "bronze.incidents").count() == 1000
    assert lh.read(spark, "bronze.incidents").select("_file").distinct().count() == 1000
    quarantined = lh.read(spark, "ops.quarantine").filter("source = 'incidents'")
    assert sorted(r["file"] for r in quarantined.collect()) == retried
    assert lh.read(spark, "silver.incidents").count() == 990
    after = delta_commits(lh)
    assert {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)} == {
        "bronze.incidents": 2, "ops.quarantine": 2, "ops.ingest_log": 1}  # delete + append; manifest


def test_a_source_stopped_by_an_error_leaves_the_other_sources_loaded(ictx, landing, monkeypatch):
    import features.landing.batch as B
    from jobs.ingest import ingest

    ctx, spark, lh = ictx, ictx.spark, ictx.lakehouse
    real = B.to_bronze

    def broken(parsed, opts, *args, **kwargs):
        if opts.source == "population":
            raise RuntimeError("disk full\nsecond line of the trace")
        return real(parsed, opts, *args, **kwargs)

    monkeypatch.setattr(B, "to_bronze", broken)
    sources = ["villages", "population", "organizations"]
    before = delta_commits(lh)
    summary = ingest(ctx, landing, sources=sources, ingest_time=NOW, great_expectations=False)
    # The manifest of every source of the run is one commit (after the table's creation).
    assert delta_commits(lh)["ops.ingest_log"] - before.get("ops.ingest_log", 0) == 2
    by = {s.source: s for s in summary.sources}
    assert summary.failed_sources == ["population"]
    assert by["population"].messages == [
        "stopped by RuntimeError: disk full (its files stay unloaded; a rerun retries them)"]
    assert (by["villages"].files_loaded, by["organizations"].files_loaded) == (1, 1)
    assert not lh.exists(spark, "silver.population") and not lh.exists(spark, "bronze.population")
    logged = {r["source"] for r in lh.read(spark, "ops.ingest_log").collect()}
    assert logged == {"villages", "organizations"}

    monkeypatch.setattr(B, "to_bronze", real)
    again = ingest(ctx, landing, sources=sources, ingest_time=NOW, great_expectations=False)
    assert [(s.source, s.files_loaded, s.files_skipped) for s in again.sources] == [
        ("villages", 0, 1), ("population", 1, 0), ("organizations", 0, 1)]

    # A run that finds no new file reads the manifest without Spark and never starts a session.
    from jobs.context import RunContext

    idle_ctx = RunContext(settings=ctx.settings, lakehouse=lh, run_id="run-idle")
    idle = ingest(idle_ctx, landing, sources=sources, ingest_time=NOW, great_expectations=False)
    assert [(s.source, s.files_loaded, s.files_skipped) for s in idle.sources] == [
        ("villages", 0, 1), ("population", 0, 1), ("organizations", 0, 1)]
    assert idle_ctx._spark is None


def test_the_development_key_only_for_a_landing_marked_synthetic(ictx, tmp_path, monkeypatch):
    from features.landing.pseudonym import PseudonymKeyError
    from jobs.ingest import ingest, is_synthetic

    landing = tmp_path / "real"
    write(landing, "villages/v.csv", VILLAGES, encoding="gb18030")
    monkeypatch.delenv("RURAL_RISK_PSEUDONYM_KEY", raising=False)
    assert not is_synthetic(landing)
    with pytest.raises(PseudonymKeyError, match="this one is not: set RURAL_RISK_PSEUDONYM_KEY"):
        ingest(ictx, landing, sources=["villages"], ingest_time=NOW, great_expectations=False)
    assert not ictx.lakehouse.exists(ictx.spark, "silver.villages")  # nothing stored
    write(landing, "_truth/summary.json", '{"synthetic": true, "generator": "rural-risk generate"}')
    assert is_synthetic(landing)
    out = ingest(ictx, landing, sources=["villages"], ingest_time=NOW, great_expectations=False)
    assert out.failed_sources == [] and ictx.lakehouse.exists(ictx.spark, "silver.villages")


def test_a_run_stopped_before_its_manifest_is_counted_the_same_when_retried(ictx, landing, monkeypatch):
    """Killed after the silver MERGE, before the manifest commit: the retry finds its rows in
    silver from the very same file content and lines, and counts them accepted again (not
    duplicates of themselves); silver and bronze hold each row once."""
    from jobs import ingest as job

    ctx, spark, lh = ictx, ictx.spark, ictx.lakehouse

    def stopped(self):
        raise KeyboardInterrupt("killed before the manifest")

    monkeypatch.setattr(job.SourceLoader, "flush_log", stopped)
    with pytest.raises(KeyboardInterrupt):
        job.ingest(ctx, landing, sources=["villages", "incidents"], ingest_time=NOW, great_expectations=False)
    assert not lh.exists(spark, "ops.ingest_log") and lh.read(spark, "silver.incidents").count() == 3
    bronze = sorted(r["_line"] for r in lh.read(spark, "bronze.incidents").collect())
    monkeypatch.undo()
    ctx.run_id = "run-retry"
    again = job.ingest(ctx, landing, sources=["villages", "incidents"], ingest_time=NOW, great_expectations=False)
    inc = {s.source: s for s in again.sources}["incidents"]
    # the same counts as a run never stopped (test_ingest_end_to_end)
    assert (inc.files_loaded, inc.rows_read, inc.rows_accepted, inc.rows_quarantined, inc.rows_duplicate) == (
        1, 10, 3, 6, 1)
    assert lh.read(spark, "silver.incidents").count() == 3
    assert sorted(r["_line"] for r in lh.read(spark, "bronze.incidents").collect()) == bronze  # not doubled
    assert {r["_run_id"] for r in lh.read(spark, "silver.incidents").collect()} == {"test-run"}  # not rewritten
