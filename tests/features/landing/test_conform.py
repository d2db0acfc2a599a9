"""features/landing/conform.py: the silver contract of each source (columns, order, constraints),
village resolution (exists and snap), which accepted rows are duplicates or win their key, and
the periods a change touches."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.landing.conform import (
    LINEAGE,
    changed_periods,
    merge_condition,
    newer_condition,
    resolve_villages,
    silver_constraints,
    silver_fields,
    split_versions,
    village_checks,
)
from features.landing.rules import load_specs, parse_spec

SPECS = load_specs()
TAIL = ["_file", "_file_hash", "_line", "_run_id"]


def _names(source: str) -> list[str]:
    return [n for n, _, _ in silver_fields(SPECS[source])]


def test_silver_columns_in_order_per_source():
    assert list(LINEAGE) == TAIL
    # incidents: village_snapped after latitude, the two derived columns before updated_at,
    # the key id of the reporter pseudonym, then lineage
    assert _names("incidents") == [
        "incident_id", "reported_at", "occurred_at", "village_id", "longitude", "latitude", "village_snapped",
        "category", "severity", "source", "response_minutes", "status", "is_false_alarm", "reporter_key",
        "updated_at", "_key_id", *TAIL]
    # patrols: duration after ended_at, is_night before updated_at; checkpoints is a count
    assert _names("patrols") == [
        "patrol_id", "unit_id", "unit_type", "village_id", "started_at", "ended_at", "duration_hours",
        "personnel", "mode", "distance_km", "checkpoints", "is_night", "updated_at", *TAIL]
    types = {n: t for n, t, _ in silver_fields(SPECS["patrols"])}
    assert (types["checkpoints"], types["is_night"], types["unit_type"], types["_line"]) == (
        T.IntegerType(), T.BooleanType(), T.StringType(), T.LongType())
    # survey: `completed` only decides validity (dropped); no version time, so updated_at is added
    survey = silver_fields(SPECS["survey"])
    assert [n for n, _, _ in survey][-7:] == ["q_satisfaction", "q_knows_grid_worker", "updated_at", *TAIL]
    assert "completed" not in [n for n, _, _ in survey]
    assert dict((n, (t, c)) for n, t, c in survey)["updated_at"] == (
        T.TimestampType(), "ingest time (the source has no version time)")
    assert dict((n, t) for n, t, _ in survey)["q_knows_grid_worker"] == T.BooleanType()  # a yes/no code
    assert dict((n, c) for n, _, c in silver_fields(SPECS["villages"]))["area_km2"] == "landed area_km2 (double)"


def test_constraints_keys_and_ranges_without_the_bounding_box():
    assert silver_constraints(SPECS["incidents"]) == {
        "key_present": "incident_id IS NOT NULL",
        # longitude / latitude have a bbox (deployment settings): no constraint
        "contract_ranges": "(severity IS NULL OR (severity >= 1 AND severity <= 4)) AND "
                           "(response_minutes IS NULL OR (response_minutes >= 0))",
    }
    assert silver_constraints(SPECS["population"])["key_present"] == "village_id IS NOT NULL AND snapshot_date IS NOT NULL"
    assert silver_constraints(SPECS["resources"]) == {"key_present": "resource_id IS NOT NULL"}  # no ranges
    derived = parse_spec("patrols", {"key": ["id"], "columns": {
        "id": {"type": "string"}, "duration_hours": {"type": "double", "min": 0, "max": 24}}})
    assert silver_constraints(derived) == {"key_present": "id IS NOT NULL"}  # silver computes it itself
    assert merge_condition(["village_id", "snapshot_date"]) == (
        "t.village_id <=> s.village_id AND t.snapshot_date <=> s.snapshot_date")
    assert newer_condition() == (
        "s.updated_at > t.updated_at OR (s.updated_at = t.updated_at AND "
        "(s._file > t._file OR (s._file = t._file AND s._line > t._line)))")
    assert village_checks("none") == {}


def test_villages_known_or_snapped_to_the_nearest(spark):
    villages = spark.createDataFrame(
        # V2 and V3 share a point (a tie: the smaller id); V1 is ~1.75 km west of 113.02
        [("V1", 113.0, 38.0), ("V3", 113.5, 38.0), ("V2", 113.5, 38.0)],
        "village_id string, longitude double, latitude double")
    rows = [  # line, village_id, lon, lat
        (1, "V1", None, None), (2, "V9", 113.0, 38.0), (3, None, 113.0, 38.0), (4, None, 113.5, 38.0),
        (5, None, 113.02, 38.0), (6, None, 114.0, 38.0), (7, None, None, None), (8, None, 113.0, None),
    ]
    typed = spark.createDataFrame(rows, "_line int, village_id string, longitude double, latitude double") \
        .withColumns({"_file": F.lit("f.csv"), "_in_village_id": F.col("village_id"),
                      "_in_longitude": F.col("longitude").cast("string"),
                      "_in_latitude": F.col("latitude").cast("string")})
    snap = resolve_villages(typed, "snap", villages, 3.0)
    checks = village_checks("snap")
    got = {r["_line"]: (r["village_id"], r["village_snapped"], r["_village_ok"], r["located"])
           for r in snap.withColumn("located", checks["missing_required:village_id|located"]).collect()}
    assert got == {
        1: ("V1", False, True, True),
        2: ("V9", False, False, True),  # a given id is checked, never replaced by the point's village
        3: ("V1", True, True, True),
        4: ("V2", True, True, True),
        5: ("V1", True, True, True),  # 0.02 deg of longitude at 38 N: 0.02 x 111.2 x cos 38 = 1.75 km
        6: (None, False, False, True),  # 0.5 deg (44 km) from V2 and V3: beyond 3 km
        7: (None, False, None, False),  # nothing to locate it by: missing_required:village_id
        8: (None, False, None, False),
    }
    exists = resolve_villages(typed, "exists", villages, 3.0)
    assert {r["_line"]: r["_village_ok"] for r in exists.collect()} == {
        1: True, 2: False, 3: None, 4: None, 5: None, 6: None, 7: None, 8: None}
    assert "village_snapped" not in exists.columns and "_vknown" not in exists.columns
    assert resolve_villages(typed, "none", villages, 3.0) is typed


def _frame(spark, rows):
    return spark.createDataFrame(rows, "id string, v int, updated_at string, _file string, _file_hash string, "
                                       "_line long").withColumn("updated_at", F.col("updated_at").cast("timestamp"))


def test_duplicates_and_the_winning_version_of_each_key(spark):
    spec = parse_spec("t", {"key": ["id"], "columns": {"id": {"type": "string"}, "v": {"type": "int"},
                                                        "updated_at": {"type": "timestamp"}}})
    silver = _frame(spark, [("A", 1, "2024-01-01 00:00:00", "f0.csv", "h0", 2),
                            ("B", 5, "2024-01-05 00:00:00", "f0.csv", "h0", 3),
                            ("E", 9, "2024-01-09 00:00:00", "f1.csv", "h1", 2)])
    batch = _frame(spark, [
        ("E", 9, "2024-01-09 00:00:00", "f1.csv", "h1", 2),  # silver's own row (a run stopped after MERGE)
        ("A", 2, "2024-02-01 00:00:00", "f1.csv", "h1", 3),  # newer than silver: wins
        ("B", 4, "2024-01-04 00:00:00", "f1.csv", "h1", 4),  # older than silver's B: kept out
        ("C", 7, "2024-01-01 00:00:00", "f1.csv", "h1", 5),  # new key: wins
        ("A", 1, "2024-01-01 00:00:00", "f1.csv", "h1", 6),  # silver's A landed again: duplicate
        ("C", 7, "2024-01-01 00:00:00", "f2.csv", "h2", 2),  # same as f1.csv line 5: duplicate
        ("D", 1, "2024-03-01 00:00:00", "f2.csv", "h2", 3),  # same time as line 4: the later line wins
        ("D", 2, "2024-03-01 00:00:00", "f2.csv", "h2", 4),
    ])
    marked = split_versions(batch, silver, spec)
    assert marked.columns == [*batch.columns, "_dup", "_wins"]
    got = {(r["_file"], r["_line"]): (r["_dup"], r["_wins"]) for r in marked.collect()}
    assert got == {
        ("f1.csv", 2): (False, False), ("f1.csv", 3): (False, True), ("f1.csv", 4): (False, False),
        ("f1.csv", 5): (False, True), ("f1.csv", 6): (True, False), ("f2.csv", 2): (True, False),
        ("f2.csv", 3): (False, False), ("f2.csv", 4): (False, True),
    }
    # a source without a version time (updated_at = ingest time): the time is no content
    survey_like = parse_spec("t", {"key": ["id"], "updated_at": "ingest_time", "columns": {
        "id": {"type": "string"}, "v": {"type": "int"}}})
    again = _frame(spark, [("A", 1, "2024-05-01 00:00:00", "f3.csv", "h3", 2)])
    assert [(r["_dup"], r["_wins"]) for r in split_versions(again, silver, survey_like).collect()] == [(True, False)]


def test_changed_periods_of_new_and_replaced_versions(spark):
    schema = "village_id string, established_on date, dissolved_on date"
    new = spark.createDataFrame([("V1", date(2024, 3, 15), date(2024, 1, 20)),  # the earlier date: January
                                 ("V2", date(2024, 2, 1), None), ("V3", None, None), (None, date(2024, 2, 1), None)],
                                schema)
    old = spark.createDataFrame([("V1", date(2024, 1, 2), None), ("V2", date(2023, 12, 31), None)], schema)
    out = changed_periods(new, old, ["established_on", "dissolved_on"], "month", "organizations", "r1")
    assert out.columns == ["source", "village_id", "period_start", "run_id"]
    # V1's two versions fall in January (counted once); V3 and the row without village are dropped
    assert sorted(tuple(r) for r in out.collect()) == [
        ("organizations", "V1", date(2024, 1, 1), "r1"), ("organizations", "V2", date(2023, 12, 1), "r1"),
        ("organizations", "V2", date(2024, 2, 1), "r1")]
    # one column; weeks start on Monday (2024-03-06 is a Wednesday)
    inc = spark.createDataFrame([("V1", datetime(2024, 3, 6, 23, 0))], "village_id string, reported_at timestamp")
    weeks = changed_periods(inc, inc.limit(0), ["reported_at"], "week", "incidents", "r2")
    assert [tuple(r) for r in weeks.collect()] == [("incidents", "V1", date(2024, 3, 4), "r2")]
