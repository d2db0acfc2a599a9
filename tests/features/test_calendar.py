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


def test_weekly_harvest_goes_by_the_thursday():
    # Mon 30 Sep .. Sun 6 Oct 2024: 6 days in October (Thursday 3 Oct); Mon 26 Aug .. Sun 1 Sep:
    # 1 day in September (Thursday 29 Aug)
    assert [r[3] for r in calendar_rows([date(2024, 9, 30)], "week", 15, [10])] == [True]
    assert [r[3] for r in calendar_rows([date(2024, 8, 26)], "week", 15, [9])] == [False]
    assert [r[1] for r in calendar_rows([date(2024, 9, 30), date(2024, 8, 26)], "week", 15, [9])] == [10, 8]


def test_quarterly_calendar_by_hand():
    rows = calendar_rows([date(2024, 1, 1), date(2024, 4, 1), date(2024, 10, 1)], "quarter", 15, [6, 9, 10])
    # month of the middle day: Q1 2024 has 91 days, 1 Jan + 45 = 15 Feb; Q2 1 Apr + 45 = 16 May;
    # Q3 (92) 1 Jul + 45 = 15 Aug; Q4 (92) 1 Oct + 45 = 15 Nov; Q1 2025 (90) 1 Jan + 44 = 14 Feb.
    # The whole 2024 window (26 Jan .. 24 Feb, 30 days) is in Q1, 2025's (14 Jan .. 12 Feb) in
    # Q1 2025. Harvest: Q2 holds June, Q3 September, Q4 October; Q1 none.
    assert rows == [
        (date(2024, 1, 1), 2, 30, False, 5, 0, True),
        (date(2024, 4, 1), 5, 0, True, 8, 0, True),
        (date(2024, 10, 1), 11, 0, True, 2, 30, False),
    ]
    # harvest by days: January and February hold 60 of Q1 2024's 91 days (and whole months)
    assert calendar_rows([date(2024, 1, 1)], "quarter", 15, [1, 2])[0][3] is True


def test_yearly_calendar_by_hand():
    # middle day: 2024 has 366 days, 1 Jan + 182 = 1 July; 2025 (365) 1 Jan + 182 = 2 July
    assert calendar_rows([date(2024, 1, 1)], "year", 15, [6, 9, 10]) == [
        (date(2024, 1, 1), 7, 30, True, 7, 30, True)]
    assert calendar_rows([date(2024, 1, 1)], "year", 15, [])[0][3] is False
    # 40 days before: 2024's window runs 1 Jan .. 24 Feb (55 days) and 2025's starts on 20 Dec
    # 2024 (29 Jan 2025 - 40), so 2024 holds 55 + 12 days; 2025 holds 1 Jan .. 12 Feb (43)
    # and none of 2026's (17 Feb 2026 - 40 = 8 Jan 2026)
    assert calendar_rows([date(2024, 1, 1)], "year", 40, [6]) == [
        (date(2024, 1, 1), 7, 67, True, 7, 43, True)]


def test_a_window_reaching_into_december_counts_there():
    # 29 Jan 2025 - 40 days = 20 Dec 2024: December 2024 holds 12 days of 2025's window
    assert calendar_rows([date(2024, 12, 1)], "month", 40, [6]) == [
        (date(2024, 12, 1), 12, 12, False, 1, 31, False)]


def test_december_counts_next_year_window():
    # 2025's window starts 14 Jan 2025 (29 Jan - 15 days): December 2024 has none of it,
    # January 2025 has 18 days (14..31)
    assert calendar_rows([date(2024, 12, 1)], "month", 15, [6]) == [
        (date(2024, 12, 1), 12, 0, False, 1, 18, False)]


def test_a_year_the_lunar_calendar_does_not_cover_is_a_clear_error():
    with pytest.raises(CalendarConfigError, match="no lunar calendar for 2101"):
        calendar_rows([date(2101, 6, 1)], "month", 15, [6])
