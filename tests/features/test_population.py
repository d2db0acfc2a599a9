"""Population as-of join: latest snapshot before the period ends; corrections do not leak back."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F
from silver_rows import frame

from features.pit import target_periods
from features.population import population_asof


def _snapshot(day: str, resident: int, updated: str) -> dict:
    return {
        "village_id": "V1", "snapshot_date": day, "households": 300, "registered_pop": 1200,
        "resident_pop": resident, "pop_under_15": 150, "pop_15_59": 650, "pop_60_plus": 200,
        "left_behind_children": 50, "left_behind_elderly": 80, "migrant_workers_out": 240,
        "low_income_households": 30, "per_capita_income_yuan": 12000.0, "updated_at": updated,
    }


def test_latest_snapshot_known_before_the_period_ends(spark):
    population = frame(spark, "population", [
        _snapshot("2023-12-31", 1000, "2024-01-02 00:00:00"),
        # the February snapshot was corrected on 10 March: February falls back to December's
        _snapshot("2024-02-15", 800, "2024-03-10 00:00:00"),
    ])
    spine = spark.createDataFrame([("V1",)], "village_id STRING").crossJoin(
        target_periods(spark, [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)], "month")
    )
    cols = ["period_start", "resident_pop", F.round("ageing_share", 4),
            "left_behind_children_per_1000", "migrant_out_share", "low_income_share", "pop_snapshot_date"]
    strict = sorted(population_asof(population, spine, True).select(*cols).collect())
    assert [tuple(r) for r in strict] == [
        (date(2024, 1, 1), 1000, 0.2, 50.0, 0.2, 0.1, date(2023, 12, 31)),
        (date(2024, 2, 1), 1000, 0.2, 50.0, 0.2, 0.1, date(2023, 12, 31)),
        (date(2024, 3, 1), 800, 0.25, 62.5, 0.2, 0.1, date(2024, 2, 15)),
    ]
    loose = sorted(population_asof(population, spine, False).select("period_start", "resident_pop").collect())
    assert [tuple(r) for r in loose] == [
        (date(2024, 1, 1), 1000), (date(2024, 2, 1), 800), (date(2024, 3, 1), 800),
    ]
