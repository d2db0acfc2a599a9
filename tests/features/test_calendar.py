"""Calendar: Spring Festival window days, harvest months, next period; dates listed in conf."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conf import load_yaml
from features.calendar import CalendarConfigError, calendar_rows

FESTIVALS = {2024: {"spring_festival": date(2024, 2, 10), "lantern": date(2024, 2, 24)}}


def test_monthly_calendar_by_hand():
    rows = calendar_rows(
        [date(2024, 1, 1), date(2024, 2, 1), date(2024, 9, 1)], "month", FESTIVALS, 15, [6, 9, 10]
    )
    # window 26 Jan .. 24 Feb: 6 days of January, 24 of February
    assert rows == [
        (date(2024, 1, 1), 1, 6, False, 2, 24, False),
        (date(2024, 2, 1), 2, 24, False, 3, 0, False),
        (date(2024, 9, 1), 9, 0, True, 10, 0, True),
    ]


def test_weekly_calendar_by_hand():
    rows = calendar_rows([date(2024, 2, 19)], "week", FESTIVALS, 15, [6])
    assert rows == [(date(2024, 2, 19), 2, 6, False, 2, 0, False)]


def test_a_year_missing_from_conf_is_a_clear_error():
    with pytest.raises(CalendarConfigError, match="no festival dates for 2025"):
        calendar_rows([date(2024, 12, 1)], "month", FESTIVALS, 15, [6])


def test_conf_lists_every_year_2015_to_2035():
    conf = load_yaml("calendar.yaml")
    festivals = conf["festivals"]
    assert sorted(festivals) == list(range(2015, 2036))
    for year, d in festivals.items():
        assert d["spring_festival"].year == year
        assert d["lantern"] - d["spring_festival"] == timedelta(days=14)
        assert date(year, 1, 20) <= d["spring_festival"] <= date(year, 2, 20)
