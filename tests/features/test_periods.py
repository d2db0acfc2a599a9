from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from features.periods import (
    last_complete_period,
    next_period,
    period_range,
    period_start,
    period_start_col,
)


def test_month_arithmetic_crosses_years():
    assert period_start(date(2024, 2, 29), "month") == date(2024, 2, 1)
    assert next_period(date(2024, 12, 1), "month") == date(2025, 1, 1)
    assert next_period(date(2024, 1, 1), "month", -13) == date(2022, 12, 1)
    assert period_range(date(2024, 11, 15), date(2025, 2, 1), "month") == [
        date(2024, 11, 1), date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1),
    ]


def test_weeks_start_on_monday():
    assert period_start(date(2025, 1, 1), "week") == date(2024, 12, 30)  # a Wednesday
    assert next_period(date(2024, 12, 30), "week") == date(2025, 1, 6)


def test_last_complete_period_excludes_the_running_one():
    assert last_complete_period(date(2026, 1, 1), "month") == date(2025, 12, 1)
    assert last_complete_period(date(2025, 12, 31), "month") == date(2025, 11, 1)
    assert last_complete_period(date(2025, 1, 8), "week") == date(2024, 12, 30)


def test_unknown_grain_is_refused():
    with pytest.raises(ValueError, match="'year' is not supported"):
        period_start(date(2025, 1, 1), "year")


def test_period_column_uses_local_time(spark):
    df = spark.createDataFrame(
        [(datetime(2025, 3, 31, 23, 30),), (datetime(2025, 4, 1, 0, 10),)], "ts timestamp"
    )
    got = [r["p"] for r in df.select(period_start_col("ts", "month").alias("p")).orderBy("p").collect()]
    assert got == [date(2025, 3, 1), date(2025, 4, 1)]
    weeks = df.select(period_start_col(F.col("ts"), "week").alias("p")).distinct().collect()
    assert sorted(r["p"] for r in weeks) == [date(2025, 3, 31)]
