"""Which periods an incremental run recomputes (pure Python)."""

from __future__ import annotations

from datetime import date

from features.incremental import periods_to_compute

M = [date(2024, m, 1) for m in range(1, 7)]
REACH = {"incidents": 1, "patrols": 2, "survey": None}


def test_incident_change_reaches_its_window_and_the_previous_label():
    assert periods_to_compute([("incidents", date(2024, 2, 17))], M, M, REACH, "month") == M[0:3]


def test_reach_per_source_and_unbounded_sources():
    changes = [("patrols", date(2024, 4, 1)), ("survey", date(2024, 6, 1))]
    assert periods_to_compute(changes, M, M, REACH, "month") == M[3:6]
    assert periods_to_compute([("organizations", date(2024, 5, 1))], M, M, REACH, "month") == M[4:6]


def test_new_periods_and_the_previous_last_label():
    assert periods_to_compute([], M[:4], M, REACH, "month") == M[3:6]
    assert periods_to_compute([], M, M, REACH, "month") == []
