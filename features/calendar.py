"""Calendar features: month, Spring Festival window, harvest season (conf/calendar.yaml).

Every rule holds for any period length (week, month, quarter, year): the month of a period
is the month of its middle day, its festival days are its days inside the windows, and it is
in the harvest season when it holds a whole harvest month or mostly harvest-month days.

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


def _days(p: date, grain: str) -> tuple[date, date]:
    """(first, last) day of the period starting at p, both included."""
    return p, period_end(p, grain) - timedelta(days=1)


def _window_years(p: date, grain: str, days_before: int) -> range:
    """The years whose Spring Festival window may overlap the period: the window of year y
    ends in y (the Lantern Festival) and starts `days_before` days before a day of y, so it
    reaches back into December of y - 1 at most."""
    first, last = _days(p, grain)
    return range(first.year, (last + timedelta(days=days_before)).year + 1)


def _overlap_days(p: date, grain: str, windows: dict[int, tuple[date, date]], days_before: int) -> int:
    """Days of the period inside the Spring Festival windows, for a period of any length."""
    first, last = _days(p, grain)
    days = 0
    for y in _window_years(p, grain, days_before):
        lo, hi = max(first, windows[y][0]), min(last, windows[y][1])
        days += max(0, (hi - lo).days + 1)
    return days


def _month(p: date, grain: str) -> int:
    """Month of the period's middle day: the month itself; a week's Thursday (the ISO
    convention); 2, 5, 8 or 11 for a quarter; July for a year."""
    first, last = _days(p, grain)
    return (first + timedelta(days=(last - first).days // 2)).month


def _is_harvest(p: date, grain: str, harvest: set[int]) -> bool:
    """The period holds a whole harvest month, or its days in harvest months are at least half
    of its days: a month in a harvest month; a week whose Thursday is in one; a quarter or year
    holding one."""
    first, last = _days(p, grain)
    days, whole, m = 0, False, first.replace(day=1)
    while m <= last:
        following = next_period(m, "month")
        lo, hi = max(first, m), min(last, following - timedelta(days=1))
        if m.month in harvest:
            days += (hi - lo).days + 1
            whole = whole or (lo == m and hi == following - timedelta(days=1))
        m = following
    return whole or 2 * days >= (last - first).days + 1


def calendar_rows(
    periods: Sequence[date],
    grain: str,
    days_before: int,
    harvest_months: Sequence[int],
) -> list[tuple]:
    """Calendar values of each period and of the period after it."""
    years = {y for p in periods for q in (p, next_period(p, grain))
             for y in _window_years(q, grain, days_before)}
    windows = festival_windows(years, days_before)
    harvest = {int(m) for m in harvest_months}
    rows = []
    for p in periods:
        n = next_period(p, grain)
        rows.append(
            (
                p, _month(p, grain), _overlap_days(p, grain, windows, days_before), _is_harvest(p, grain, harvest),
                _month(n, grain), _overlap_days(n, grain, windows, days_before), _is_harvest(n, grain, harvest),
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
