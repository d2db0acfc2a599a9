"""Calendar features from conf/calendar.yaml: month, Spring Festival window, harvest season.

Lunar festival dates are listed in conf for every year covered, never computed here. Each
period gets its own calendar and the next period's (known in advance, so no leakage): the
label is the outcome of the next period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from features.periods import next_period, period_end


class CalendarConfigError(ValueError):
    """conf/calendar.yaml lacks the festival dates of a year the run covers."""


CALENDAR_SCHEMA = T.StructType(
    [
        T.StructField("period_start", T.DateType(), False),
        T.StructField("month_of_year", T.IntegerType(), False),
        T.StructField("festival_days", T.IntegerType(), False),
        T.StructField("is_harvest", T.BooleanType(), False),
        T.StructField("next_month_of_year", T.IntegerType(), False),
        T.StructField("next_festival_days", T.IntegerType(), False),
        T.StructField("next_is_harvest", T.BooleanType(), False),
    ]
)


def festival_windows(
    festivals: Mapping[int, Mapping[str, date]], days_before: int
) -> dict[int, tuple[date, date]]:
    """Per year: (first, last) day of the Spring Festival window, both included."""
    out = {}
    for year, d in festivals.items():
        sf, lantern = _as_date(d["spring_festival"]), _as_date(d["lantern"])
        out[int(year)] = (sf - timedelta(days=days_before), lantern)
    return out


def _as_date(v: date | str) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _overlap_days(p: date, grain: str, windows: dict[int, tuple[date, date]]) -> int:
    end = period_end(p, grain)  # exclusive
    years = {p.year, (end - timedelta(days=1)).year}
    missing = sorted(y for y in years if y not in windows)
    if missing:
        raise CalendarConfigError(
            f"conf/calendar.yaml has no festival dates for {', '.join(map(str, missing))}: "
            "expected a line '<year>: {spring_festival: YYYY-MM-DD, lantern: YYYY-MM-DD}'"
        )
    days = 0
    for y in years:
        first, last = windows[y]
        lo, hi = max(p, first), min(end - timedelta(days=1), last)
        days += max(0, (hi - lo).days + 1)
    return days


def _month(p: date, grain: str) -> int:
    # A week belongs to the month of its Thursday (ISO convention).
    return p.month if grain == "month" else (p + timedelta(days=3)).month


def calendar_rows(
    periods: Sequence[date],
    grain: str,
    festivals: Mapping[int, Mapping[str, date]],
    days_before: int,
    harvest_months: Sequence[int],
) -> list[tuple]:
    """Calendar values of each period and of the period after it."""
    windows = festival_windows(festivals, days_before)
    harvest = {int(m) for m in harvest_months}
    rows = []
    for p in periods:
        n = next_period(p, grain)
        rows.append(
            (
                p, _month(p, grain), _overlap_days(p, grain, windows), _month(p, grain) in harvest,
                _month(n, grain), _overlap_days(n, grain, windows), _month(n, grain) in harvest,
            )
        )
    return rows


def calendar_features(
    spark: SparkSession,
    periods: Sequence[date],
    grain: str,
    festivals: Mapping[int, Mapping[str, date]],
    days_before: int,
    harvest_months: Sequence[int],
) -> DataFrame:
    rows = calendar_rows(periods, grain, festivals, days_before, harvest_months)
    return spark.createDataFrame(rows, CALENDAR_SCHEMA)
