"""The Great Expectations suite built from conf agrees with the row-level reason columns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import functions as F

from conf import load_yaml
from features.landing.batch import batch_counts, check_rows
from features.landing.rules import parse_spec

NOW = datetime(2024, 6, 1, tzinfo=UTC)
FIELDS = ["incident_id", "reported_at", "occurred_at", "village_id", "longitude", "latitude", "category",
          "severity", "source", "response_minutes", "status", "updated_at",
          "reporter_name", "reporter_phone", "reporter_id_number"]


def bronze(spark, rows):
    """Landed rows with the lineage ingest gives them (file, hash, line, extras, raw, key id)."""
    schema = ", ".join(f"{c} string" for c in FIELDS) + ", _file string, _file_hash string, _line long, " \
        "_extra string, _raw string, _key_id string"
    data = [tuple(r.get(c) for c in FIELDS) + ("f.csv", "h", i + 2, None, None, "k1") for i, r in enumerate(rows)]
    return spark.createDataFrame(data, schema)


# Each batch through both of GX's engines: Spark (pandas_max_rows 0, or the row count not
# given) and pandas (a batch of 5 rows, at most 10 on pandas). Same verdicts, same counts.
@pytest.mark.parametrize("pandas_max_rows, batch_rows, engine", [(0, 5, "spark"), (10, None, "spark"), (10, 5, "pandas")])
def test_suite_from_conf_agrees_with_reason_columns(spark, tmp_path, pandas_max_rows, batch_rows, engine):
    from features.quality import Validator, agreement, build_suite

    spec = parse_spec("incidents", load_yaml("expectations/incidents.yaml"))
    codes = load_yaml("codes.yaml")
    bbox = load_yaml("ingest.yaml")["bounding_box"]
    ok = {"incident_id": "I1", "reported_at": "2024-03-01 10:00:00", "village_id": "V1", "category": "盗窃",
          "severity": "2", "status": "open", "updated_at": "2024-03-01 10:00:00"}
    rows = [
        ok,
        {**ok, "incident_id": "I2", "severity": "7"},
        {**ok, "incident_id": "I3", "category": "robbery", "reported_at": "2099-01-01 00:00:00"},
        {**ok, "incident_id": "I4", "village_id": "V9", "occurred_at": "2024-03-02 00:00:00"},
        {**ok, "incident_id": "", "longitude": "200"},
    ]
    villages = spark.createDataFrame([("V1", 113.6, 34.2)], "village_id string, longitude double, latitude double")
    landed = bronze(spark, rows)
    checked, checks = check_rows(landed, spec, codes, bbox, villages, 3.0, NOW,
                                 ["reporter_name", "reporter_phone", "reporter_id_number"])
    checked = checked.cache()
    reasons = {r["incident_id"]: list(r["_reasons"]) for r in checked.collect()}
    assert reasons == {
        "I1": [], "I2": ["out_of_range:severity"],
        "I3": ["bad_code:category", "future_timestamp:reported_at"],
        "I4": ["inconsistent:occurred_after_reported", "unknown_village"],
        None: ["missing_required:incident_id", "out_of_range:longitude"],
    }
    validator = Validator(tmp_path / "docs", pandas_max_rows)  # GX needs its context before a suite is built
    suite = build_suite(spec, checks, codes, bbox, mostly=0.5)
    assert len(suite.expectations) == len(checks)
    result = validator.validate(checked, spec, checks, codes, bbox, mostly=0.5, run_name="test", rows=batch_rows)
    used = {"spark": validator.datasource, "pandas": validator.pandas}
    assert {name: [a.name for a in ds.assets] for name, ds in used.items()} == {
        e: (["incidents"] if e == engine else []) for e in used}
    accepted = checked.filter(F.size("_reasons") == 0).withColumn("_dup", F.lit(False))
    stats = {"f.csv": {"error": None, "error_kind": None, "rows_read": 5, "malformed": 0}}
    per_file, counts = batch_counts(stats, checked, accepted, checks)
    assert per_file == {"f.csv": {"rows_read": 5, "rows_quarantined": 4, "rows_duplicate": 0, "rows_accepted": 1}}
    assert agreement(result, counts) == []
    assert {c: n for c, n in result.unexpected.items() if n} == {
        "out_of_range:severity|range:severity": 1, "bad_code:category": 1,
        "future_timestamp:reported_at": 1, "inconsistent:occurred_after_reported|rule:occurred_after_reported": 1,
        "unknown_village": 1, "missing_required:incident_id": 1, "out_of_range:longitude|range:longitude": 1,
    }
    # `mostly` counts non-null values: the one longitude given is bad, so that expectation
    # fails the suite (ingestion acts from min_rows rows on). Whether GX also fails the
    # column-pair rule (one non-null occurred_at, bad) changed with test order in the full
    # suite (GX state shared in the process), so only the single-column verdict is pinned.
    assert result.success is False
    assert "out_of_range:longitude|range:longitude" in result.failed
    assert set(result.failed) <= {
        "inconsistent:occurred_after_reported|rule:occurred_after_reported",
        "out_of_range:longitude|range:longitude"}
    # The batch gate counts all rows: each check flags 1 of the 5 rows (20%).
    assert result.rows == 5
    assert result.over_share(0.5) == []
    assert result.over_share(0.1) == sorted(c for c, n in result.unexpected.items() if n)
    index = validator.build_docs()
    assert index is not None and "silver.incidents" in (tmp_path / "docs" / "index.html").read_text()
    checked.unpersist()


def test_default_bounding_box_takes_the_reference_county():
    """M county (Yangquan, Shanxi: about 37.6-38.2 N, 113.1-114.0 E) and the generator's
    area (around 34.2 N, 113.6 E) lie inside conf/ingest.yaml's default box; with the
    default box, the reference county's villages would otherwise all be out_of_range."""
    bbox = load_yaml("ingest.yaml")["bounding_box"]
    for lon, lat in ((113.1, 37.6), (114.0, 38.2), (113.58, 37.86), (113.6, 34.2)):
        assert bbox["lon_min"] <= lon <= bbox["lon_max"] and bbox["lat_min"] <= lat <= bbox["lat_max"], (lon, lat)


def test_coordinates_of_the_reference_county_pass_and_beyond_the_box_fail(spark):
    spec = parse_spec("incidents", load_yaml("expectations/incidents.yaml"))
    bbox = load_yaml("ingest.yaml")["bounding_box"]
    ok = {"incident_id": "Y1", "reported_at": "2024-03-01 10:00:00", "village_id": "V1", "category": "theft",
          "severity": "2", "status": "open", "updated_at": "2024-03-01 10:00:00",
          "longitude": "113.58", "latitude": "37.86"}
    rows = [ok, {**ok, "incident_id": "Y2", "latitude": str(bbox["lat_max"] + 0.5)}]
    villages = spark.createDataFrame([("V1", 113.58, 37.86)], "village_id string, longitude double, latitude double")
    checked, _ = check_rows(bronze(spark, rows), spec, load_yaml("codes.yaml"), bbox, villages, 3.0, NOW,
                            ["reporter_name", "reporter_phone", "reporter_id_number"])
    reasons = {r["incident_id"]: list(r["_reasons"]) for r in checked.collect()}
    assert reasons == {"Y1": [], "Y2": ["out_of_range:latitude"]}
