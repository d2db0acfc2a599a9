"""Population features: the latest registry snapshot on or before each period (as-of join)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

POPULATION_COLUMNS = (
    "resident_pop", "households", "ageing_share", "left_behind_children_per_1000",
    "left_behind_elderly_per_1000", "migrant_out_share", "low_income_share",
    "per_capita_income_yuan", "pop_snapshot_date",
)


def _ratio(num: str, den: str, scale: float = 1.0) -> F.Column:
    return F.when(F.col(den) > 0, F.col(num) * F.lit(scale) / F.col(den))


def population_asof(
    population: DataFrame, spine: DataFrame, require_updated_before_end: bool
) -> DataFrame:
    """Per spine row (village_id, period_start, period_end, period_end_ts): latest snapshot.

    A snapshot counts for period t when its snapshot_date falls before t ends; with
    `require_updated_before_end` also only when its row was last updated before then (a
    later correction makes the village fall back to its previous snapshot until then).
    """
    keys = spine.select("village_id", "period_start", "period_end", "period_end_ts")
    on_or_before = F.col("snapshot_date") < F.col("period_end")
    known = F.col("updated_at") < F.col("period_end_ts")
    cond = on_or_before & known if require_updated_before_end else on_or_before
    latest_first = Window.partitionBy("village_id", "period_start").orderBy(
        F.col("snapshot_date").desc()
    )
    return (
        keys.join(population, on="village_id", how="inner")
        .filter(cond)
        .withColumn("_n", F.row_number().over(latest_first))
        .filter(F.col("_n") == 1)
        .select(
            "village_id",
            "period_start",
            F.col("resident_pop").cast("int").alias("resident_pop"),
            F.col("households").cast("int").alias("households"),
            _ratio("pop_60_plus", "resident_pop").alias("ageing_share"),
            _ratio("left_behind_children", "resident_pop", 1000.0).alias(
                "left_behind_children_per_1000"
            ),
            _ratio("left_behind_elderly", "resident_pop", 1000.0).alias(
                "left_behind_elderly_per_1000"
            ),
            _ratio("migrant_workers_out", "registered_pop").alias("migrant_out_share"),
            _ratio("low_income_households", "households").alias("low_income_share"),
            F.col("per_capita_income_yuan").cast("double").alias("per_capita_income_yuan"),
            F.col("snapshot_date").alias("pop_snapshot_date"),
        )
    )
