"""Which periods an incremental run recomputes (pure Python)."""

from __future__ import annotations

from datetime import date, timedelta

from features.incremental import periods_to_compute

M = [date(2024, m, 1) for m in range(1, 7)]
REACH = {"incidents": 1, "patrols": 2, "survey": None}


def test_incident_change_reaches_its_window_and_the_previous_label():
    # yearly periods, reach 1: the change of 2020 reaches 2020 and 2021, and the label of 2019
    years = [date(2019 + i, 1, 1) for i in range(6)]
    assert periods_to_compute([("incidents", date(2020, 2, 17))], years, years, REACH, "year") == years[0:3]


def test_an_incident_change_reaches_a_year_of_periods_whatever_the_reach_says():
    # monthly reach 1 still recomputes 12 months ("same month last year" of each), and on a
    # weekly grain the settings' 12 become 52 weeks: week 3 reaches weeks 3 .. 55 (and week 2's label)
    assert periods_to_compute([("incidents", date(2024, 2, 17))], M, M, REACH, "month") == M
    weeks = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(80)]
    got = periods_to_compute([("incidents", weeks[3])], weeks, weeks, {"incidents": 12}, "week")
    assert got == weeks[2:56]


def test_reach_per_source_and_unbounded_sources():
    changes = [("patrols", date(2024, 4, 1)), ("survey", date(2024, 6, 1))]
    assert periods_to_compute(changes, M, M, REACH, "month") == M[3:6]
    assert periods_to_compute([("organizations", date(2024, 5, 1))], M, M, REACH, "month") == M[4:6]


def test_new_periods_and_the_previous_last_label():
    assert periods_to_compute([], M[:4], M, REACH, "month") == M[3:6]
    assert periods_to_compute([], M, M, REACH, "month") == []
