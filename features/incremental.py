"""Which periods an incremental run recomputes, from the changes ingestion recorded.

A change of source s in period p reaches the features of p .. p + reach[s] (windows, "same
period last year": for incidents at least a year of periods whatever reach says, neighbours and township rates of the same periods; reach null = every
later period, e.g. a population snapshot or an organization). Incident changes also reach
the label of p - 1 (the outcome of p). New periods (after the table's last one) are computed,
and so is the previous last period, whose label was null until its next period completed.
Every village of a reached period is recomputed: neighbours, township rates, percentiles and
the top-share label all mix villages of the same period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from features.periods import next_period, period_start, periods_per_year

LABEL_SOURCES = ("incidents",)


def periods_to_compute(
    changes: Iterable[tuple[str, date]],
    existing: Iterable[date],
    all_periods: list[date],
    reach: Mapping[str, int | None],
    grain: str,
) -> list[date]:
    """Sorted periods of `all_periods` to recompute. Unknown sources reach every later period."""
    in_range = set(all_periods)
    last = max(all_periods)
    have = set(existing)
    out: set[date] = {p for p in all_periods if p not in have}
    previous_last = max((p for p in have if p in in_range), default=None)
    if previous_last is not None and previous_last < last:
        out.add(previous_last)
    for source, changed in changes:
        p = period_start(changed, grain)
        n = reach.get(source) if source in reach else None
        if source in LABEL_SOURCES and n is not None:
            # "the same period last year" reads a year back: 52 weeks on a weekly grain, more
            # than the 12 the monthly settings give
            n = max(int(n), periods_per_year(grain))
        stop = last if n is None else min(last, next_period(p, grain, int(n)))
        if source in LABEL_SOURCES:
            out.add(next_period(p, grain, -1))
        q = p
        while q <= stop:
            out.add(q)
            q = next_period(q, grain)
    return sorted(out & in_range)
