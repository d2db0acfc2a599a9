"""Patrol dosage by hand: hours by actor, shares, nights, a late correction hidden until known."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F
from silver_rows import frame

from features.patrol import patrol_dosage, patrol_rates
from features.pit import target_periods

UNITS = ["police", "auxiliary_police", "joint_defense", "volunteer"]


def _patrol(pid: str, unit: str, start: str, end: str, hours: float, night: bool, updated: str | None = None):
    return {"patrol_id": pid, "unit_id": "U", "unit_type": unit, "village_id": "V1", "started_at": start,
            "ended_at": end, "duration_hours": hours, "personnel": 2, "mode": "foot",
            "is_night": night, "updated_at": updated or end}


def test_patrol_dosage_by_hand(spark):
    patrols = frame(spark, "patrols", [
        _patrol("P1", "police", "2024-01-10 09:00:00", "2024-01-10 12:00:00", 3.0, False),
        _patrol("P2", "volunteer", "2024-02-05 21:00:00", "2024-02-06 01:00:00", 4.0, True),
        _patrol("P3", "joint_defense", "2024-02-06 02:00:00", "2024-02-06 04:00:00", 2.0, True),
        # recorded (corrected) on 2 March: unknown when February ended
        _patrol("P4", "auxiliary_police", "2024-02-20 22:00:00", "2024-02-20 23:00:00", 1.0, True,
                updated="2024-03-02 00:00:00"),
    ])
    targets = target_periods(spark, [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)], "month")
    dosage = patrol_dosage(patrols, targets, "month", [1, 3], UNITS, ["police", "auxiliary_police"],
                           ["joint_defense"], require_updated_before_end=True)
    out = patrol_rates(dosage.withColumn("resident_pop", F.lit(500)), [1, 3], UNITS)
    got = sorted(out.select(
        "period_start", "patrol_hours_1", "patrol_hours_3", "patrol_sessions_1", "patrol_sessions_3",
        "patrol_hours_volunteer_1", "patrol_hours_auxiliary_police_3", F.round("non_police_share_3", 4),
        F.round("joint_patrol_share_3", 4), "patrol_actor_types_3", "patrol_nights_1",
        "patrol_hours_per_1000_3", "police_hours_per_1000_3",
    ).collect())
    assert [tuple(r) for r in got] == [
        (date(2024, 1, 1), 3.0, 3.0, 1, 1, 0.0, 0.0, 0.0, 0.0, 1, 0, 6.0, 6.0),
        # P2 and P3 patrol the same night (5 to 6 February)
        (date(2024, 2, 1), 6.0, 9.0, 2, 3, 4.0, 0.0, 0.6667, 0.2222, 3, 1, 18.0, 6.0),
        (date(2024, 3, 1), 0.0, 10.0, 0, 4, 0.0, 1.0, 0.6, 0.2, 4, 0, 20.0, 8.0),
    ]
