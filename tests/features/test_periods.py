from __future__ import annotations

from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from conf import ConfigError
from features.periods import (
    GRAINS,
    PeriodError,
    check_grain,
    last_complete_period,
    next_period,
    next_period_col,
    period_days,
    period_end,
    period_index,
    period_index_col,
    period_of_index,
    period_range,
    period_start,
    period_start_col,
    periods_per_year,
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


def test_quarters_start_on_the_first_of_january_april_july_october():
    assert [period_start(date(2024, m, d), "quarter") for m, d in ((1, 1), (3, 31), (4, 1), (5, 15), (9, 30),
                                                                   (12, 31))] == [
        date(2024, 1, 1), date(2024, 1, 1), date(2024, 4, 1), date(2024, 4, 1), date(2024, 7, 1),
        date(2024, 10, 1)]
    assert period_start(date(2024, 2, 29), "quarter") == date(2024, 1, 1)  # leap day
    assert next_period(date(2024, 10, 1), "quarter") == date(2025, 1, 1)
    assert next_period(date(2024, 1, 1), "quarter", 0) == date(2024, 1, 1)
    # five quarters back from Q1 2024: Q4, Q3, Q2, Q1 2023, then Q4 2022
    assert next_period(date(2024, 1, 1), "quarter", -5) == date(2022, 10, 1)
    assert next_period(date(2024, 7, 1), "quarter", 6) == date(2026, 1, 1)
    # a day inside a quarter steps from its quarter
    assert next_period(date(2024, 5, 15), "quarter") == date(2024, 7, 1)
    assert period_end(date(2024, 10, 1), "quarter") == date(2025, 1, 1)
    assert period_range(date(2023, 11, 15), date(2024, 7, 1), "quarter") == [
        date(2023, 10, 1), date(2024, 1, 1), date(2024, 4, 1), date(2024, 7, 1)]


def test_years_start_on_the_first_of_january():
    assert period_start(date(2024, 12, 31), "year") == date(2024, 1, 1)
    assert period_start(date(2024, 2, 29), "year") == date(2024, 1, 1)
    assert next_period(date(2024, 1, 1), "year") == date(2025, 1, 1)
    assert next_period(date(2024, 1, 1), "year", -3) == date(2021, 1, 1)
    assert period_end(date(2099, 1, 1), "year") == date(2100, 1, 1)
    assert period_range(date(2021, 6, 1), date(2023, 1, 1), "year") == [
        date(2021, 1, 1), date(2022, 1, 1), date(2023, 1, 1)]
    assert period_range(date(2023, 6, 1), date(2022, 1, 1), "year") == []


def test_period_lengths_with_leap_years():
    # Q1 = 31 + 28/29 + 31; Q2 = 30 + 31 + 30; Q3 = 31 + 31 + 30; Q4 = 31 + 30 + 31
    assert [period_days(date(2024, m, 1), "quarter") for m in (1, 4, 7, 10)] == [91, 91, 92, 92]
    assert period_days(date(2023, 1, 1), "quarter") == 90
    # 2000 is a leap year (divisible by 400), 2100 is not (divisible by 100)
    assert [period_days(date(y, 1, 1), "year") for y in (2023, 2024, 2000, 2100)] == [365, 366, 366, 365]
    assert [period_days(date(y, 2, 1), "month") for y in (2024, 2100)] == [29, 28]
    assert period_days(date(2024, 12, 30), "week") == 7


def test_last_complete_quarter_and_year():
    # a period is complete on its exclusive end: Q1 2024 on 1 April
    assert last_complete_period(date(2024, 4, 1), "quarter") == date(2024, 1, 1)
    assert last_complete_period(date(2024, 3, 31), "quarter") == date(2023, 10, 1)
    assert last_complete_period(date(2025, 1, 1), "year") == date(2024, 1, 1)
    assert last_complete_period(date(2024, 12, 31), "year") == date(2023, 1, 1)


def test_period_index_numbers_every_grain_consecutively():
    # quarters: (year * 12 + month - 1) // 3; 2024 * 12 = 24288 = 3 x 8096
    assert [period_index(date(2024, m, d), "quarter") for m, d in ((1, 1), (3, 31), (4, 1))] == [8096, 8096, 8097]
    # years: (year * 12 + month - 1) // 12 is the year itself
    assert [period_index(date(2024, 1, 1), "year"), period_index(date(2024, 12, 31), "year")] == [2024, 2024]
    assert period_of_index(8097, "quarter") == date(2024, 4, 1)
    assert period_of_index(2025, "year") == date(2025, 1, 1)
    assert period_of_index(0, "week") == date(1970, 1, 5)
    for grain in GRAINS:  # the index of a start and the start of an index agree
        for p in period_range(date(2023, 11, 1), date(2025, 2, 1), grain):
            assert period_of_index(period_index(p, grain), grain) == p
            assert period_index(next_period(p, grain), grain) == period_index(p, grain) + 1
    assert [periods_per_year(g) for g in ("month", "week", "quarter", "year")] == [12, 52, 4, 1]


def test_unknown_grain_is_refused_naming_the_setting_and_the_choices():
    expected = ("setting 'period' is 'day': expected one of month, week, quarter, year "
                "(conf/base.yaml or the profile's file in conf/profiles/)")
    for call in (lambda: period_start(date(2025, 1, 1), "day"), lambda: next_period(date(2025, 1, 1), "day"),
                 lambda: periods_per_year("day"), lambda: period_start_col("ts", "day"),
                 lambda: next_period_col("p", "day"), lambda: period_index_col("p", "day")):
        with pytest.raises(PeriodError) as err:
            call()
        assert str(err.value) == expected
    assert issubclass(PeriodError, ConfigError) and issubclass(PeriodError, ValueError)
    with pytest.raises(PeriodError, match="setting 'period' is 'Quarter'"):  # names are exact
        check_grain("Quarter")
    assert check_grain("year") == "year"


def test_period_column_uses_local_time(spark):
    df = spark.createDataFrame(
        [(datetime(2025, 3, 31, 23, 30),), (datetime(2025, 4, 1, 0, 10),)], "ts timestamp"
    )
    got = [r["p"] for r in df.select(period_start_col("ts", "month").alias("p")).orderBy("p").collect()]
    assert got == [date(2025, 3, 1), date(2025, 4, 1)]
    weeks = df.select(period_start_col(F.col("ts"), "week").alias("p")).distinct().collect()
    assert sorted(r["p"] for r in weeks) == [date(2025, 3, 31)]
    # the quarter and year boundaries are local midnights too: 23:30 on 31 March is Q1, 31
    # December 2024 23:30 is 2024
    edges = spark.createDataFrame(
        [(datetime(2025, 3, 31, 23, 30),), (datetime(2025, 4, 1, 0, 10),),
         (datetime(2024, 12, 31, 23, 30),), (datetime(2025, 1, 1, 0, 10),)], "ts timestamp"
    ).select(period_start_col("ts", "quarter").alias("q"), period_start_col("ts", "year").alias("y"))
    assert [(r["q"], r["y"]) for r in edges.collect()] == [
        (date(2025, 1, 1), date(2025, 1, 1)), (date(2025, 4, 1), date(2025, 1, 1)),
        (date(2024, 10, 1), date(2024, 1, 1)), (date(2025, 1, 1), date(2025, 1, 1))]


def test_spark_columns_equal_the_python_functions(spark):
    days = [date(1969, 12, 29), date(2023, 12, 31), date(2024, 1, 1), date(2024, 2, 29), date(2024, 3, 31),
            date(2024, 4, 1), date(2024, 12, 31), date(2025, 6, 15)]
    df = spark.createDataFrame([(d,) for d in days], "d date")
    cols = [f(F.col("d"), g).alias(f"{f.__name__}_{g}") for g in GRAINS
            for f in (period_start_col, next_period_col, period_index_col)]
    got = [tuple(r)[1:] for r in df.select("d", *cols).orderBy("d").collect()]
    assert got == [
        tuple(v for g in GRAINS for v in (period_start(d, g), next_period(d, g), period_index(d, g)))
        for d in days]
    # two values by hand: 29 Feb 2024 is in Q1 (next Q2, index 8096) and in 2024 (next 2025)
    row = dict(zip([f"{k}_{g}" for g in GRAINS for k in ("s", "n", "i")], got[3], strict=True))
    assert (row["s_quarter"], row["n_quarter"], row["i_quarter"]) == (date(2024, 1, 1), date(2024, 4, 1), 8096)
    assert (row["s_year"], row["n_year"], row["i_year"]) == (date(2024, 1, 1), date(2025, 1, 1), 2024)
