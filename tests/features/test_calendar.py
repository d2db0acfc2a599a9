"""Calendar: Spring Festival window days from the lunar calendar, harvest months, next period."""

from __future__ import annotations

from datetime import date

import pytest

from conf import load_yaml
from features.calendar import CalendarConfigError, calendar_rows, festival_dates


def test_festival_dates_from_the_lunar_calendar():
    # lunar 1/1 and 1/15, checked against published calendars
    assert festival_dates(2024) == (date(2024, 2, 10), date(2024, 2, 24))
    assert festival_dates(2025) == (date(2025, 1, 29), date(2025, 2, 12))
    assert festival_dates(2023) == (date(2023, 1, 22), date(2023, 2, 5))
    assert festival_dates(2033) == (date(2033, 1, 31), date(2033, 2, 14))
    assert "festivals" not in load_yaml("calendar.yaml")  # no typed table to keep up to date


def test_monthly_calendar_by_hand():
    rows = calendar_rows([date(2024, 1, 1), date(2024, 2, 1), date(2024, 9, 1)], "month", 15, [6, 9, 10])
    # window 26 Jan .. 24 Feb 2024: 6 days of January, 24 of February
    assert rows == [
        (date(2024, 1, 1), 1, 6, False, 2, 24, False),
        (date(2024, 2, 1), 2, 24, False, 3, 0, False),
        (date(2024, 9, 1), 9, 0, True, 10, 0, True),
    ]


def test_weekly_calendar_by_hand():
    rows = calendar_rows([date(2024, 2, 19)], "week", 15, [6])
    assert rows == [(date(2024, 2, 19), 2, 6, False, 2, 0, False)]


def test_december_counts_next_year_window():
    # 2025's window starts 14 Jan 2025 (29 Jan - 15 days): December 2024 has none of it,
    # January 2025 has 18 days (14..31)
    assert calendar_rows([date(2024, 12, 1)], "month", 15, [6]) == [
        (date(2024, 12, 1), 12, 0, False, 1, 18, False)]


def test_a_year_the_lunar_calendar_does_not_cover_is_a_clear_error():
    with pytest.raises(CalendarConfigError, match="no lunar calendar for 2101"):
        calendar_rows([date(2101, 6, 1)], "month", 15, [6])
