"""Calendar features: month, Spring Festival window, harvest season (conf/calendar.yaml).

The lunar festival dates come from the Chinese lunar calendar of `borax` (1900-2100): the
Spring Festival is the 1st day of the 1st lunar month, the Lantern Festival the 15th. Each
period gets its own calendar and the next period's (known in advance, so no leakage): the
label is the outcome of the next period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from features.periods import next_period, period_end


class CalendarConfigError(ValueError):
    """A period outside the years the lunar calendar covers."""


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


def festival_dates(year: int) -> tuple[date, date]:
    """(Spring Festival, Lantern Festival) of a Gregorian year: lunar 1/1 and 1/15."""
    from borax.calendars.lunardate import LunarDate

    try:
        return LunarDate(year, 1, 1).to_solar_date(), LunarDate(year, 1, 15).to_solar_date()
    except (ValueError, KeyError, IndexError) as exc:
        raise CalendarConfigError(
            f"no lunar calendar for {year}: the Spring Festival dates come from borax, which "
            f"covers 1900-2100 ({exc})"
        ) from exc


def festival_windows(years: Iterable[int], days_before: int) -> dict[int, tuple[date, date]]:
    """Per year: (first, last) day of the Spring Festival window, both included."""
    out = {}
    for year in sorted(set(years)):
        sf, lantern = festival_dates(int(year))
        out[int(year)] = (sf - timedelta(days=days_before), lantern)
    return out


def _overlap_days(p: date, grain: str, windows: dict[int, tuple[date, date]]) -> int:
    end = period_end(p, grain)  # exclusive
    years = {p.year, (end - timedelta(days=1)).year}
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
    days_before: int,
    harvest_months: Sequence[int],
) -> list[tuple]:
    """Calendar values of each period and of the period after it."""
    years = {y for p in periods for q in (p, next_period(p, grain))
             for y in (q.year, (period_end(q, grain) - timedelta(days=1)).year)}
    windows = festival_windows(years, days_before)
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
    days_before: int,
    harvest_months: Sequence[int],
) -> DataFrame:
    rows = calendar_rows(periods, grain, days_before, harvest_months)
    return spark.createDataFrame(rows, CALENDAR_SCHEMA)
