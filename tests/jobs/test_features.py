"""The features job: later data never changes earlier features; incremental equals full rebuild."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "features"))

from silver_rows import bronze_incidents, frame, incident, save, village  # noqa: E402

from jobs.features import build_features  # noqa: E402

JAN, FEB, MAR, APR = (date(2024, m, 1) for m in (1, 2, 3, 4))
LABELS = ("label_weighted_next", "label_high_risk_next")


def _bronze_row(row: dict, line: int) -> dict:
    return {k: row[k] for k in ("incident_id", "reported_at", "village_id", "category", "severity",
                                "source", "status", "updated_at")} | {"_file": "landing/i.csv", "_line": line}


def _changes(spark, rows: list[tuple[str, str, date]], run_id: str) -> DataFrame:
    return spark.createDataFrame(
        [(s, v, p, run_id) for s, v, p in rows],
        "source STRING, village_id STRING, period_start DATE, run_id STRING",
    )


def _rows(df: DataFrame, drop: tuple[str, ...] = ()) -> dict:
    cols = [c for c in df.columns if c not in drop]
    return {(r["village_id"], r["period_start"]): tuple(r[c] for c in cols) for r in df.select(*cols).collect()}


def test_point_in_time_and_incremental_equals_full_rebuild(ctx):
    spark, lh = ctx.spark, ctx.lakehouse
    save(ctx, "silver.villages", frame(spark, "villages", [
        village("V1", "T1", 110.00, 30.00), village("V2", "T1", 110.02, 30.00),
        village("V3", "T2", 110.00, 30.03),
    ]))
    m1 = incident("M1", "V2", "2024-03-10 10:00:00", category="dispute", severity=2)
    first = [
        incident("J1", "V1", "2024-01-05 10:00:00", severity=3, status="resolved", response=15.0),
        incident("F1", "V1", "2024-02-07 10:00:00", category="fraud", source="walk_in"),
        incident("F2", "V3", "2024-02-20 10:00:00", source="patrol_found", response=30.0),
        m1,
    ]
    save(ctx, "silver.incidents", frame(spark, "incidents", first))
    save(ctx, "bronze.incidents", bronze_incidents(spark, [_bronze_row(r, i + 2) for i, r in enumerate(first)]))
    save(ctx, "silver.population", frame(spark, "population", [
        {"village_id": v, "snapshot_date": "2023-12-31", "households": 100, "registered_pop": 400,
         "resident_pop": n, "pop_60_plus": 80, "left_behind_children": 10, "left_behind_elderly": 20,
         "migrant_workers_out": 40, "low_income_households": 5, "updated_at": "2024-01-03 00:00:00"}
        for v, n in (("V1", 300), ("V2", 600), ("V3", 900))
    ]))
    save(ctx, "ops.changed_periods", _changes(spark, [("incidents", "V1", JAN), ("incidents", "V2", MAR)], "r1"))

    done = build_features(ctx, as_of=APR)
    assert (done.mode, done.periods) == ("full rebuild", [JAN, FEB, MAR])
    before = _rows(lh.read(spark, "gold.village_features"), drop=LABELS)
    before_index = _rows(lh.read(spark, "gold.governance_index"))

    # April lands: new incidents, a population snapshot, and a correction of March's M1 into a
    # false alarm (silver keeps only that latest version; bronze keeps both).
    m1_fixed = m1 | {"status": "false_alarm", "is_false_alarm": True, "updated_at": "2024-04-05 08:00:00"}
    april = [incident("A1", "V3", "2024-04-02 10:00:00", severity=4), incident("A2", "V1", "2024-04-20 10:00:00")]
    save(ctx, "silver.incidents", frame(spark, "incidents", [*first[:3], m1_fixed, *april]))
    save(ctx, "bronze.incidents", bronze_incidents(
        spark, [_bronze_row(r, i + 2) for i, r in enumerate([m1_fixed, *april])]), mode="append")
    save(ctx, "silver.population", frame(spark, "population", [
        {"village_id": "V1", "snapshot_date": "2024-04-01", "households": 100, "registered_pop": 400,
         "resident_pop": 350, "pop_60_plus": 80, "updated_at": "2024-04-02 00:00:00"}]), mode="append")
    save(ctx, "ops.changed_periods", _changes(
        spark, [("incidents", "V3", APR), ("incidents", "V1", APR), ("incidents", "V2", MAR),
                ("population", "V1", APR)], "r2"), mode="append")

    inc = build_features(ctx, as_of=date(2024, 5, 1))
    assert inc.mode.startswith("incremental") and inc.periods == [FEB, MAR, APR]  # January untouched
    features = lh.read(spark, "gold.village_features")
    index = lh.read(spark, "gold.governance_index")
    after = _rows(features, drop=LABELS)
    assert {k: v for k, v in after.items() if k[1] <= MAR} == before
    assert {k: v for k, v in _rows(index).items() if k[1] <= MAR} == before_index
    labels = {k: (v[-2], v[-1]) for k, v in _rows(features).items()}
    # March's label is now known: A1 (severity 4, weight 8) in V3; M1 no longer counts for February
    assert labels[("V3", MAR)] == (8.0, True) and labels[("V1", MAR)] == (1.0, False)
    assert labels[("V2", FEB)] == (0.0, False) and labels[("V1", APR)] == (None, None)
    incremental_rows, incremental_index = _rows(features), _rows(index)

    full = build_features(ctx, as_of=date(2024, 5, 1), full_rebuild=True)
    assert full.periods == [JAN, FEB, MAR, APR]
    assert _rows(lh.read(spark, "gold.village_features")) == incremental_rows
    assert _rows(lh.read(spark, "gold.governance_index")) == incremental_index

    # Nothing new since: no period recomputed, and no commit (not even of the run's properties).
    # Another run date in the same month reads the inputs and finds nothing to build; the run
    # date the tables were built on finds them made from the same inputs and reads nothing.
    versions = [lh.version(spark, t) for t in ("gold.village_features", "gold.governance_index")]
    idle = build_features(ctx, as_of=date(2024, 5, 2))
    assert idle.periods == []
    assert build_features(ctx, as_of=date(2024, 5, 1)) is None
    assert [lh.version(spark, t) for t in ("gold.village_features", "gold.governance_index")] == versions
    # Any later commit to an output, by anyone, and the record no longer holds: the run reads.
    spark.sql(f"ALTER TABLE delta.`{lh.path('gold.governance_index')}` SET TBLPROPERTIES ('note' = 'x')")
    assert build_features(ctx, as_of=date(2024, 5, 1)).periods == []

    # every column carries its data-dictionary comment, and docs/features.md lists it
    docs = (Path(__file__).resolve().parents[2] / "docs" / "features.md").read_text(encoding="utf-8")
    for table in ("gold.village_features", "gold.governance_index"):
        for f in lh.read(spark, table).schema.fields:
            assert f.metadata.get("comment"), f"{table}.{f.name} has no comment"
            assert f"| `{f.name}` |" in docs, f"{f.name} missing from docs/features.md"


def test_a_yearly_grain_builds_one_row_per_village_and_year(spark, settings, lakehouse):
    from conf import Settings
    from jobs.context import RunContext

    yearly = Settings(profile=settings.profile, data={**settings.data, "period": "year"})
    ctx = RunContext(settings=yearly, lakehouse=lakehouse, run_id="test-year").attach(spark)
    save(ctx, "silver.villages", frame(spark, "villages", [
        village("V1", "T1", 110.00, 30.00), village("V2", "T1", 110.02, 30.00),
        village("V3", "T2", 110.00, 30.03),
    ]))
    rows = [
        incident("I1", "V1", "2022-03-10 10:00:00"),
        incident("I2", "V1", "2022-11-20 10:00:00", category="assault", severity=3, source="walk_in"),
        incident("I3", "V2", "2022-06-01 10:00:00", category="fraud", severity=2),
        incident("I4", "V1", "2023-02-01 10:00:00"),
        incident("I5", "V3", "2023-08-15 10:00:00", severity=4),
        incident("I6", "V2", "2023-12-31 23:00:00"),  # local time: still 2023
    ]
    save(ctx, "silver.incidents", frame(spark, "incidents", rows))
    save(ctx, "bronze.incidents", bronze_incidents(spark, [_bronze_row(r, i + 2) for i, r in enumerate(rows)]))

    y22, y23 = date(2022, 1, 1), date(2023, 1, 1)
    done = build_features(ctx, as_of=date(2024, 1, 1))  # 2023 is complete on 1 January 2024
    assert (done.mode, done.periods) == ("full rebuild", [y22, y23])
    cols = ("inc_all_1", "inc_sev_1", "inc_all_3", "inc_all_last_year", "periods_since_serious",
            "month_of_year", "festival_days", "is_harvest", "next_festival_days", *LABELS)
    got = {(r["village_id"], r["period_start"]): tuple(r[c] for c in cols)
           for r in lakehouse.read(spark, "gold.village_features").collect()}
    # by hand: severity weights 1, 2, 4, 8; the same period last year is t-1 and "no serious
    # incident in t-1..t" is 2; the middle day of a year is in July; the Spring Festival window
    # (15 days before to the Lantern Festival: 17 Jan .. 15 Feb 2022, 7 Jan .. 5 Feb 2023,
    # 26 Jan .. 24 Feb 2024) is 30 days, all inside its year; harvest months 6, 9, 10 are in
    # every year. Labels: 2023's citizen reports (I4 1, I5 8, I6 1), the top 10% of 3 villages
    # is 1 (V3); none for 2023, the last period.
    calendar = (7, 30, True, 30)
    assert got == {
        ("V1", y22): (2, 5.0, 2, 0, 0, *calendar, 1.0, False),
        ("V2", y22): (1, 2.0, 1, 0, 2, *calendar, 1.0, False),
        ("V3", y22): (0, 0.0, 0, 0, 2, *calendar, 8.0, True),
        ("V1", y23): (1, 1.0, 3, 2, 1, *calendar, None, None),
        ("V2", y23): (1, 1.0, 2, 1, 2, *calendar, None, None),
        ("V3", y23): (1, 8.0, 1, 0, 0, *calendar, None, None),
    }
    assert lakehouse.read(spark, "gold.governance_index").count() == 6
