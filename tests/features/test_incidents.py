"""Incident history: hand-computed windows, a correction recovered from bronze, shrunk rates."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F
from silver_rows import bronze_incidents, frame, incident

from features.incidents import incident_history, incident_versions, shrunk_rates
from features.pit import target_periods

GROUPS = {"property": ["theft", "burglary"], "fraud": ["fraud", "telecom_fraud"], "other": ["other"]}
WEIGHTS = {1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0}


def test_history_counts_only_what_was_known_when_each_period_ended(spark, settings):
    silver = frame(spark, "incidents", [
        incident("A", "V1", "2024-01-05 10:00:00", status="resolved", updated="2024-01-06 08:00:00", response=10.0),
        incident("B", "V1", "2024-02-03 10:00:00", category="burglary", severity=3, source="patrol_found", response=20.0),
        # C was a fraud walk-in, open; on 15 March it was corrected to a false alarm.
        incident("C", "V1", "2024-02-20 10:00:00", category="fraud", severity=2, source="walk_in",
                 status="false_alarm", updated="2024-03-15 09:00:00"),
        incident("D", "V2", "2023-02-10 10:00:00", category="dispute", severity=4, status="resolved"),
    ])
    c_v1 = {"incident_id": "C", "reported_at": "2024-02-20 10:00:00", "village_id": "V1",
            "category": "诈骗", "severity": "2", "source": "来所报案", "status": "open",
            "updated_at": "2024-02-20 10:00:00", "_file": "f1", "_line": 2}
    bronze = bronze_incidents(spark, [
        c_v1,
        c_v1 | {"status": "resolved", "updated_at": "2024-02-25 00:00:00", "_line": 3},  # quarantined
        c_v1 | {"status": "false_alarm", "updated_at": "2024-03-15 09:00:00", "_line": 4},
    ])
    quarantine = spark.createDataFrame([("f1", 3)], "file STRING, line LONG")
    versions = incident_versions(silver, bronze, settings.section("codes"), quarantine)
    targets = target_periods(spark, [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)], "month")
    hist = incident_history(
        versions, targets, "month", [1, 3], GROUPS, WEIGHTS, 3, ["citizen_call", "walk_in"],
        ["patrol_found"], trend_short=1, trend_long=3, response_window=3, resolution_window=3,
        lookback=12,
    )
    got = {
        (r[0], r[1]): tuple(r[2:])
        for r in hist.select(
            "village_id", "period_start", "inc_all_1", "inc_all_3", "inc_property_3", "inc_fraud_1",
            "inc_sev_1", "inc_sev_3", "inc_citizen_3", "inc_patrol_found_1", "inc_all_last_year",
            "inc_sev_last_year", F.round("inc_trend", 4), "periods_since_serious",
            "response_minutes_mean_3", F.round("resolution_rate_3", 4),
        ).collect()
    }
    assert got == {
        ("V1", date(2024, 1, 1)): (1, 1, 1, 0, 1.0, 1.0, 1, 0, 0, 0.0, 0.6667, 13, 10.0, 1.0),
        # C counts as the open fraud it was on 1 March; B is serious and patrol-found.
        ("V1", date(2024, 2, 1)): (2, 3, 2, 1, 6.0, 7.0, 2, 1, 0, 0.0, 3.6667, 0, 15.0, 0.3333),
        # by 1 April C was a false alarm: it no longer counts anywhere.
        ("V1", date(2024, 3, 1)): (0, 2, 2, 0, 0.0, 5.0, 1, 0, 0, 0.0, -1.6667, 1, 15.0, 0.5),
        ("V2", date(2024, 1, 1)): (0, 0, 0, 0, 0.0, 0.0, 0, 0, 0, 0.0, 0.0, 11, None, None),
        ("V2", date(2024, 2, 1)): (0, 0, 0, 0, 0.0, 0.0, 0, 0, 1, 8.0, 0.0, 12, None, None),
    }


def test_rates_are_shrunk_toward_the_township_rate(spark):
    df = spark.createDataFrame(
        [("V1", "T1", 1000, 6), ("V2", "T1", 500, 0), ("V3", "T1", None, 3)],
        "village_id STRING, township_id STRING, resident_pop INT, inc_all_12 INT",
    ).withColumn("period_start", F.lit(date(2024, 1, 1)))
    out = shrunk_rates(df, window=12, prior_strength=6.0)
    got = {
        r[0]: tuple(None if x is None else round(x, 6) for x in r[1:])
        for r in out.select("village_id", "rate_per_1000", "township_rate_per_1000", "rate_per_1000_shrunk").collect()
    }
    # exposure 12 and 6 (1,000 person-months); township rate 6 / 18; (y + 6 r) / (e + 6)
    assert got == {
        "V1": (0.5, 0.333333, 0.444444),
        "V2": (0.0, 0.333333, 0.166667),
        "V3": (None, 0.333333, 0.333333),
    }
