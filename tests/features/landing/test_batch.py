"""features/landing/batch.py: parse tasks over landed files, the bad-share rule, and one survey
batch by hand from parsed rows to bronze, checks, quarantine, silver candidates and counts."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import types as T

from conf import load_yaml
from features.landing import batch as B
from features.landing.conform import silver_schema
from features.landing.reading import LandedFile, ReadOptions
from features.landing.rules import load_specs
from features.landing.tables import bronze_schema

FAILURE = {"max_bad_share": 0.5, "min_rows": 20}  # the shipped conf/ingest.yaml batch_failure


def _files(*sizes: int) -> list[LandedFile]:
    return [LandedFile("survey", f"/l/f{i}.csv", f"f{i}.csv", s, f"h{i}") for i, s in enumerate(sizes)]


def _names(bins) -> list[list[str]]:
    return [[f.file for f in b] for b in bins]


def test_file_bins_balance_bytes_and_never_exceed_the_files():
    assert B.file_bins([], 4) == []
    # 2 files, 8 cores: one task per file
    assert _names(B.file_bins(_files(5, 7), 8)) == [["f1.csv"], ["f0.csv"]]
    # 5 small files on 2 cores, 100 bytes a task: total 2+2+2+2+2 = 10 bytes -> 2 tasks;
    # largest first into the lightest (ties: by name), each task's files sorted by name
    assert _names(B.file_bins(_files(2, 2, 2, 2, 2), 2, task_bytes=100)) == [
        ["f0.csv", "f2.csv", "f4.csv"], ["f1.csv", "f3.csv"]]
    # 1 core but 250 bytes at 100 a task: ceil(2.5) = 3 tasks; by size: 150 -> task 0,
    # 60 -> task 1, 30 -> task 2, 10 -> task 2 (the lightest, 30 < 60 < 150)
    assert _names(B.file_bins(_files(10, 150, 60, 30), 1, task_bytes=100)) == [
        ["f1.csv"], ["f2.csv"], ["f0.csv", "f3.csv"]]
    # empty files weigh one byte, so a folder of them still spreads over the cores
    assert _names(B.file_bins(_files(0, 0, 0), 3)) == [["f0.csv"], ["f1.csv"], ["f2.csv"]]


def test_a_file_is_rejected_above_the_bad_share_with_enough_rows():
    assert B.over_bad_share(20, 10, FAILURE) is None  # 50% is not above 50%
    assert B.over_bad_share(20, 11, FAILURE) == (
        "11 of 20 rows fail their checks (55% > 50% in conf/ingest.yaml batch_failure)")
    assert B.over_bad_share(19, 19, FAILURE) is None  # too few rows to judge the file alone
    assert B.over_bad_share(0, 0, FAILURE) is None
    assert B.over_bad_share(3, 1, {"max_bad_share": 0.25, "min_rows": 0}) == (
        "1 of 3 rows fail their checks (33% > 25% in conf/ingest.yaml batch_failure)")


FIELDS = ("response_id", "village_id", "surveyed_on", "age_band", "gender", "q_safety", "q_trust_police",
          "q_participation", "q_satisfaction", "q_knows_grid_worker", "completed")
OPTS = ReadOptions(source="survey", format="csv", fields=FIELDS, required=("response_id",), personal={},
                   drop=(), extra_patterns=(), key=b"test-key")
NOW = datetime(2024, 4, 1, 9, 0)


def test_parse_schema_is_the_reader_output():
    schema = B.parse_schema(OPTS)
    assert schema.fieldNames() == [*FIELDS, "_file", "_file_hash", "_line", "_raw", "_extra", "_error", "_error_kind"]
    assert [f.name for f in schema.fields if f.dataType != T.StringType()] == ["_line"]


def test_one_survey_batch_by_hand(spark):
    spec = load_specs()["survey"]
    ok = ["V1", "2024-03-10", "30-44", "F", "4", "4", "3", "5", "yes", "true"]

    def row(file, line, rid, *values, raw=None, error=None):
        vals = [rid, *values] if rid else [None] * len(FIELDS)
        return (*vals, file, f"hash-{file}", line, raw, None, error, "file" if error else None)

    parsed = spark.createDataFrame([
        row("f1.csv", 2, "R1", *ok),
        row("f1.csv", 3, "R2", "V9", *ok[1:4], "6", *ok[5:]),  # unknown village, q_safety 6 of 1..5
        row("f1.csv", 4, "R3", "V1", "2024-3-10", *ok[2:9], "false"),  # bad date, not completed
        row("f1.csv", 5, None, raw="R4,V1"),  # a malformed line
        row("f1.csv", 6, "R1", *ok),  # line 2 again: a duplicate
        row("f2.csv", 2, "R5", "V9", *ok[1:]),
        row("f3.csv", 0, None, error="file is empty"),
    ], B.parse_schema(OPTS)).cache()  # as jobs/ingest.py does: every action below reads it again
    stats = B.parse_stats(parsed)
    assert stats == {
        "f1.csv": {"error": None, "error_kind": None, "rows_read": 5, "malformed": 1},
        "f2.csv": {"error": None, "error_kind": None, "rows_read": 1, "malformed": 0},
        "f3.csv": {"error": "file is empty", "error_kind": "file", "rows_read": 0, "malformed": 0},
    }
    bronze = B.to_bronze(parsed, OPTS, bronze_schema(FIELDS, []), "run-1", NOW)
    lineage = bronze.select("_source", "_run_id", "_line").collect()
    assert len(lineage) == 6  # the file-error marker is no bronze row
    assert {(r[0], r[1]) for r in lineage} == {("survey", "run-1")}

    villages = spark.createDataFrame([("V1", 113.0, 38.0)], "village_id string, longitude double, latitude double")
    codes, bbox = load_yaml("codes.yaml"), load_yaml("ingest.yaml")["bounding_box"]
    checked, checks = B.check_rows(bronze, spec, codes, bbox, villages, 3.0, NOW, carry=[])
    checked = checked.cache()
    assert checks[-1] == "unknown_village" and "invalid_response|rule:completed" in checks
    reasons = {(r["_file"], r["_line"]): r["_reasons"] for r in checked.collect()}
    assert reasons == {
        ("f1.csv", 2): [], ("f1.csv", 3): ["invalid_response", "unknown_village"],
        ("f1.csv", 4): ["bad_type:surveyed_on", "invalid_response"], ("f1.csv", 6): [],
        ("f2.csv", 2): ["unknown_village"],
    }

    quarantine = B.quarantine_rows(bronze, checked, spec.names, [], "survey", "run-1", NOW)
    assert quarantine.columns == ["source", "file", "file_hash", "line", "record", "reasons", "run_id",
                                  "quarantined_at"]
    q = {(r["file"], r["line"]): (r["reasons"], r["record"]) for r in quarantine.collect()}
    assert sorted(q) == [("f1.csv", 3), ("f1.csv", 4), ("f1.csv", 5), ("f2.csv", 2)]
    assert q[("f1.csv", 5)] == (["malformed_line"], '{"_raw":"R4,V1"}')
    assert '"surveyed_on":"2024-3-10"' in q[("f1.csv", 4)][1]  # the landed text, not the typed null

    empty_silver = spark.createDataFrame([], silver_schema(spec))
    candidates = B.silver_candidates(checked, spec, empty_silver, "run-1", NOW).cache()
    marks = {(r["_file"], r["_line"]): (r["_dup"], r["_wins"], r["q_knows_grid_worker"])
             for r in candidates.collect()}
    assert marks == {("f1.csv", 2): (False, True, True), ("f1.csv", 6): (True, False, True)}

    per_file, per_check = B.batch_counts(stats, checked, candidates, checks)
    # f1: 5 read = 1 accepted + 3 quarantined (malformed line 5, lines 3 and 4) + 1 duplicate;
    # f3 failed as a file and has no counts
    assert per_file == {
        "f1.csv": {"rows_read": 5, "rows_quarantined": 3, "rows_duplicate": 1, "rows_accepted": 1},
        "f2.csv": {"rows_read": 1, "rows_quarantined": 1, "rows_duplicate": 0, "rows_accepted": 0},
    }
    assert {c: n for c, n in per_check.items() if n} == {
        "unknown_village": 2, "invalid_response|range:q_safety": 1, "bad_type:surveyed_on": 1,
        "invalid_response|rule:completed": 1,
    }
    assert set(per_check) == set(checks)
    # the reasons that quarantine most rows of f1, with the first line and its landed value
    assert B.failing_rules(checked, "f1.csv") == [
        ("invalid_response", 2, 3, None), ("bad_type:surveyed_on", 1, 4, "2024-3-10"),
        ("unknown_village", 1, 3, "V9"),
    ]
    assert B.failing_rules(checked, "f3.csv") == []
    for df in (candidates, checked, parsed):
        df.unpersist()

