"""Periods (month by default, week by configuration) shared by features, labels, scores and plans.

A period is named by its first day (`period_start`, a DATE): the 1st of the month, or the
Monday of an ISO week. A run "as of" date D sees complete periods only: the last complete
period is the latest one that ends on or before D; the risk list is for the period after it.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F

GRAINS = ("month", "week")


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"period grain '{grain}' is not supported: expected one of {GRAINS}")
    return grain


def period_start(d: date, grain: str) -> date:
    """First day of the period holding day d."""
    check_grain(grain)
    if grain == "month":
        return d.replace(day=1)
    return d - timedelta(days=d.weekday())


def next_period(p: date, grain: str, n: int = 1) -> date:
    """Start of the period n periods after (n < 0: before) the period starting at p."""
    check_grain(grain)
    if grain == "week":
        return p + timedelta(weeks=n)
    months = p.year * 12 + (p.month - 1) + n
    return date(months // 12, months % 12 + 1, 1)


def period_end(p: date, grain: str) -> date:
    """Exclusive end (first day of the next period)."""
    return next_period(p, grain, 1)


def last_complete_period(as_of: date, grain: str) -> date:
    """Latest period whose (exclusive) end is on or before the as-of date."""
    return next_period(period_start(as_of, grain), grain, -1)


def period_range(first: date, last: date, grain: str) -> list[date]:
    """Every period start from first to last, both included."""
    out, p = [], period_start(first, grain)
    while p <= last:
        out.append(p)
        p = next_period(p, grain)
    return out


def next_period_col(p: Column | str, grain: str) -> Column:
    """Start (DATE) of the period after the one starting at the date column `p`."""
    check_grain(grain)
    c = F.col(p) if isinstance(p, str) else p
    return F.add_months(c, 1) if grain == "month" else F.date_add(c, 7)


def period_start_col(ts: Column | str, grain: str) -> Column:
    """Period start (DATE) of a timestamp or date column, in the session time zone."""
    check_grain(grain)
    unit = "month" if grain == "month" else "week"
    return F.to_date(F.date_trunc(unit, F.col(ts) if isinstance(ts, str) else ts))
