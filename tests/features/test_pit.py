"""features/pit.py: period indexes (Python and Spark agree), the target-period frame, and which
record versions a period's row may see (known before the period ended, not yet replaced)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from features.pit import (
    EPOCH_MONDAY,
    explode_to_targets,
    period_index,
    period_index_col,
    periods_between,
    target_periods,
    timestamp_period_index,
    visible_at_end,
)

JAN, FEB, MAR, APR = (date(2024, m, 1) for m in (1, 2, 3, 4))


def test_period_index_by_hand():
    # months: year * 12 + month - 1
    assert [period_index(p, "month") for p in (JAN, MAR, date(1970, 1, 1))] == [24288, 24290, 23640]
    # weeks since Monday 1970-01-05; 2024-01-01 is day 19723 of the epoch (54 years, 13 leap
    # days), 19723 - 4 = 19719 = 7 x 2817
    assert period_index(EPOCH_MONDAY, "week") == 0
    assert period_index(date(2024, 1, 1), "week") == 2817
    assert period_index(date(2024, 1, 8), "week") == 2818
    # days before the epoch Monday floor to negative weeks
    assert period_index(date(1969, 12, 29), "week") == -1
    assert period_index(date(1970, 1, 4), "week") == -1
    # quarters: months since year 0 // 3 (24288 = 3 x 8096); years: the year
    assert [period_index(p, "quarter") for p in (JAN, MAR, APR, date(2024, 12, 31))] == [8096, 8096, 8097, 8099]
    assert [period_index(p, "year") for p in (JAN, date(2024, 12, 31), date(2025, 1, 1))] == [2024, 2024, 2025]
    with pytest.raises(ValueError, match=r"setting 'period' is 'day': expected one of month, week, quarter, year"):
        period_index(JAN, "day")


def test_periods_between_includes_both_ends():
    assert periods_between(JAN, APR, "month") == [JAN, FEB, MAR, APR]
    assert periods_between(JAN, JAN, "month") == [JAN]
    assert periods_between(FEB, JAN, "month") == []
    assert periods_between(date(2024, 1, 1), date(2024, 1, 20), "week") == [
        date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]
    assert periods_between(date(2023, 12, 1), date(2024, 1, 1), "month") == [date(2023, 12, 1), JAN]
    assert periods_between(date(2023, 10, 1), APR, "quarter") == [date(2023, 10, 1), JAN, APR]
    assert periods_between(date(2022, 1, 1), JAN, "year") == [date(2022, 1, 1), date(2023, 1, 1), JAN]


def test_spark_indexes_agree_with_python(spark):
    days = [date(1969, 12, 29), date(1970, 1, 4), EPOCH_MONDAY, date(2024, 1, 1), date(2024, 1, 7), MAR]
    grains = ("month", "week", "quarter", "year")
    df = spark.createDataFrame([(d,) for d in days], "d date").select(
        "d", *[period_index_col("d" if g == "month" else F.col("d"), g).alias(g) for g in grains])
    assert [tuple(r[g] for g in grains) for r in df.collect()] == [
        tuple(period_index(d, g) for g in grains) for d in days]
    # a timestamp goes to the period of its local date: Sunday 23:30 is still the week of Monday 1 Jan
    ts = spark.createDataFrame([("2024-01-07 23:30:00",), ("2024-01-08 00:00:00",)], "t string").select(
        timestamp_period_index(F.col("t").cast("timestamp"), "week").alias("w"),
        timestamp_period_index("t", "month").alias("m"))
    assert [tuple(r) for r in ts.collect()] == [(2817, 24288), (2818, 24288)]


def test_quarter_and_year_targets_end_on_the_next_start(spark):
    # Q4 2023 ends (exclusive) on 1 Jan 2024, Q1 2024 on 1 Apr; the year 2024 on 1 Jan 2025
    quarters = target_periods(spark, [JAN, date(2023, 10, 1)], "quarter")
    assert [tuple(r) for r in quarters.collect()] == [
        (date(2023, 10, 1), 8095, JAN, datetime(2024, 1, 1)), (JAN, 8096, APR, datetime(2024, 4, 1))]
    years = target_periods(spark, [JAN], "year")
    assert [tuple(r) for r in years.collect()] == [(JAN, 2024, date(2025, 1, 1), datetime(2025, 1, 1))]


def test_records_reach_later_targets_only_while_visible(spark):
    targets = target_periods(spark, [MAR, JAN, FEB, JAN], "month")  # sorted, duplicates once
    assert [tuple(r) for r in targets.collect()] == [
        (JAN, 24288, FEB, datetime(2024, 2, 1)), (FEB, 24289, MAR, datetime(2024, 3, 1)),
        (MAR, 24290, APR, datetime(2024, 4, 1)),
    ]
    records = spark.createDataFrame(
        [
            ("r1", 24288, "2024-01-10 08:00:00", None),
            ("r2", 24289, "2024-03-05 08:00:00", None),  # a February record reported in March
            ("r3", 24288, "2024-01-05 08:00:00", "2024-02-01 00:00:00"),  # replaced at Jan's end
            ("r4", 24290, "2024-03-31 23:59:59", None),  # its lag 1 (April) is no target
            ("r5", 24288, "2024-02-01 00:00:00", None),  # known exactly when January ended
        ],
        "id string, pidx int, known_from string, known_to string",
    ).select("id", "pidx", F.col("known_from").cast("timestamp"), F.col("known_to").cast("timestamp"))
    exploded = explode_to_targets(records, "pidx", 1, targets)
    every = sorted((r["id"], r["period_start"], r["lag"]) for r in exploded.collect())
    assert every == [
        ("r1", JAN, 0), ("r1", FEB, 1), ("r2", FEB, 0), ("r2", MAR, 1), ("r3", JAN, 0), ("r3", FEB, 1),
        ("r4", MAR, 0), ("r5", JAN, 0), ("r5", FEB, 1),
    ]
    seen = exploded.filter(visible_at_end("known_from", "known_to"))
    # r2 is unknown at February's end; r3's replacement (at 1 Feb 00:00) is not yet in force at
    # January's end (exclusive instant) but is at February's; r5 is known only from February
    assert sorted((r["id"], r["period_start"], r["lag"]) for r in seen.collect()) == [
        ("r1", JAN, 0), ("r1", FEB, 1), ("r2", MAR, 1), ("r3", JAN, 0), ("r4", MAR, 0), ("r5", FEB, 1),
    ]
    # without a replacement time only the known-from bound applies: r3 counts in February too
    assert exploded.filter(visible_at_end("known_from")).filter(F.col("id") == "r3").count() == 2
