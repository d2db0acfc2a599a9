"""Periods shared by features, labels, scores and plans: the conf `period` grain.

The grain is one of month (the default), week, quarter or year. A period is named by its
first day (`period_start`, a DATE): the 1st of the month; the Monday of an ISO week; 1 Jan,
1 Apr, 1 Jul or 1 Oct for a quarter; 1 Jan for a year. A run "as of" date D sees complete
periods only: the last complete period is the latest one that ends on or before D; the risk
list is for the period after it.

Every rule below goes through one integer numbering of the periods (`period_index`): months,
quarters or years since the year 0, or weeks since Monday 1970-01-05. A period's start is the
start of its index, the n-th period after p is the start of index(p) + n; the Spark columns
follow the same numbering.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F

from conf import ConfigError

GRAINS = ("month", "week", "quarter", "year")
SETTING = "period"
# Grains made of whole calendar months: months per period. A week is 7 days from a Monday.
MONTHS = {"month": 1, "quarter": 3, "year": 12}
EPOCH_MONDAY = date(1970, 1, 5)


class PeriodError(ConfigError):
    """The `period` setting holds a grain other than the supported ones."""


def check_grain(grain: str) -> str:
    """`grain` when it is a supported one, else a PeriodError naming the setting and the choices."""
    if grain in GRAINS:
        return grain
    raise PeriodError(
        f"setting '{SETTING}' is {grain!r}: expected one of {', '.join(GRAINS)} "
        f"(conf/base.yaml or the profile's file in conf/profiles/)"
    )


def periods_per_year(grain: str) -> int:
    """Periods in a year: the lag of "the same period last year" (12, 52, 4, 1)."""
    return 52 if check_grain(grain) == "week" else 12 // MONTHS[grain]


def period_index(d: date, grain: str) -> int:
    """Integer index of the period holding day d: consecutive periods have consecutive indexes."""
    if check_grain(grain) == "week":
        return (d - EPOCH_MONDAY).days // 7
    return (d.year * 12 + d.month - 1) // MONTHS[grain]


def period_of_index(i: int, grain: str) -> date:
    """Start of the period with index i (the inverse of `period_index` on period starts)."""
    if check_grain(grain) == "week":
        return EPOCH_MONDAY + timedelta(weeks=i)
    months = i * MONTHS[grain]
    return date(months // 12, months % 12 + 1, 1)


def period_start(d: date, grain: str) -> date:
    """First day of the period holding day d."""
    return period_of_index(period_index(d, grain), grain)


def next_period(p: date, grain: str, n: int = 1) -> date:
    """Start of the period n periods after (n < 0: before) the period holding p."""
    return period_of_index(period_index(p, grain) + n, grain)


def period_end(p: date, grain: str) -> date:
    """Exclusive end (first day of the next period)."""
    return next_period(p, grain, 1)


def period_days(p: date, grain: str) -> int:
    """Days in the period holding p (7; 28..31; 90..92; 365 or 366)."""
    return (period_end(p, grain) - period_start(p, grain)).days


def last_complete_period(as_of: date, grain: str) -> date:
    """Latest period whose (exclusive) end is on or before the as-of date."""
    return next_period(as_of, grain, -1)


def period_range(first: date, last: date, grain: str) -> list[date]:
    """Every period start from the period holding first to last, both included."""
    out, p = [], period_start(first, grain)
    while p <= last:
        out.append(p)
        p = next_period(p, grain)
    return out


def _col(c: Column | str) -> Column:
    return F.col(c) if isinstance(c, str) else c


def period_start_col(ts: Column | str, grain: str) -> Column:
    """Period start (DATE) of a timestamp or date column, in the session time zone."""
    # Spark's date_trunc units are the grains' names: week truncates to the Monday, quarter
    # to 1 Jan/Apr/Jul/Oct, year to 1 Jan.
    return F.to_date(F.date_trunc(check_grain(grain), _col(ts)))


def next_period_col(p: Column | str, grain: str) -> Column:
    """Start (DATE) of the period after the one holding the date column `p`."""
    start = period_start_col(p, grain)
    return F.date_add(start, 7) if grain == "week" else F.add_months(start, MONTHS[grain])


def period_index_col(p: Column | str, grain: str) -> Column:
    """`period_index` of a DATE column (any day of the period)."""
    check_grain(grain)  # before any Column is made: no Spark session needed to refuse a grain
    c = _col(p)
    if grain == "week":
        return F.floor(F.datediff(c, F.lit(EPOCH_MONDAY)) / 7).cast("int")
    months = F.year(c) * 12 + F.month(c) - 1
    return (months if MONTHS[grain] == 1 else F.floor(months / MONTHS[grain])).cast("int")
