"""Labels: next period's weighted count from configured sources, top share with tie-breaks."""

from __future__ import annotations

from datetime import date

from silver_rows import frame, incident

from features.labels import labels
from features.pit import target_periods

WEIGHTS = {1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0}
JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)


def test_labels_by_hand(spark):
    incidents = frame(spark, "incidents", [
        incident("a", "V1", "2024-02-03 10:00:00", severity=2),
        incident("b", "V2", "2024-02-04 10:00:00", severity=2, source="walk_in"),
        incident("c", "V3", "2024-02-05 10:00:00", severity=4, source="patrol_found"),
        incident("d", "V3", "2024-02-06 10:00:00", severity=4, status="false_alarm"),
        incident("e", "V4", "2024-01-06 10:00:00", severity=4),  # outcome of December
    ])
    spine = spark.createDataFrame(
        [("V1",), ("V2",), ("V3",), ("V4",)], "village_id STRING"
    ).crossJoin(target_periods(spark, [JAN, FEB], "month"))

    def run(share: float) -> dict:
        out = labels(spine, incidents, ["citizen_call", "walk_in"], WEIGHTS, share, FEB, "month")
        return {(r[0], r[1]): (r[2], r[3]) for r in out.collect()}

    last = {(v, FEB): (None, None) for v in ("V1", "V2", "V3", "V4")}
    # one village of four: V1 and V2 tie at 2.0, village_id breaks the tie
    assert run(0.25) == {
        ("V1", JAN): (2.0, True), ("V2", JAN): (2.0, False),
        ("V3", JAN): (0.0, False), ("V4", JAN): (0.0, False), **last,
    }
    # three of four, but a village without any counted incident is never high risk
    assert run(0.75) == {
        ("V1", JAN): (2.0, True), ("V2", JAN): (2.0, True),
        ("V3", JAN): (0.0, False), ("V4", JAN): (0.0, False), **last,
    }


def test_one_label_rule_in_spark_and_in_pandas(spark):
    """high_risk_count and its Spark column agree; the pandas flags keep the > 0 rule and break
    ties by village_id, as `labels` does (the feedback-loop comparison relabels with them)."""
    import pandas as pd
    from pyspark.sql import functions as F

    from features.labels import high_risk_count, high_risk_count_col, high_risk_flags

    assert [high_risk_count(n, 0.1) for n in (1, 9, 10, 11, 30)] == [1, 1, 1, 2, 3]  # 30 x 0.1 -> 3
    rows = spark.createDataFrame([(n,) for n in range(1, 61)], "n int")
    spark_counts = [r["k"] for r in rows.select(high_risk_count_col(F.col("n"), 0.1).alias("k")).collect()]
    assert spark_counts == [high_risk_count(n, 0.1) for n in range(1, 61)]
    period = pd.DataFrame({"village_id": ["V3", "V1", "V2", "V4", "V5"], "w": [2.0, 2.0, 0.0, 1.0, 0.0]},
                          index=[10, 11, 12, 13, 14])
    # share 0.5: ceil(2.5) = 3 places: V1 and V3 (2.0, tie by id), then V4 (1.0)
    assert high_risk_flags(period, "w", 0.5).to_dict() == {10: True, 11: True, 12: False, 13: True, 14: False}
    # share 1.0: every place, but a village with no incident is never high risk
    assert high_risk_flags(period, "w", 1.0).to_dict() == {10: True, 11: True, 12: False, 13: True, 14: False}
