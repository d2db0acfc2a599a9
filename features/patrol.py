"""Patrol dosage: hours and sessions by actor type, co-governance share, nights covered.

A patrol belongs to the period its started_at falls in; it counts for period t when it was
recorded (updated_at, which defaults to ended_at) before t ended.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.pit import explode_to_targets, timestamp_period_index, visible_at_end


def patrol_columns(windows: Sequence[int], unit_types: Sequence[str]) -> list[str]:
    recent = max(windows)
    cols: list[str] = []
    for w in windows:
        cols += [f"patrol_hours_{u}_{w}" for u in unit_types]
        cols += [f"patrol_hours_{w}", f"patrol_sessions_{w}"]
    return cols + [
        f"non_police_share_{recent}", f"joint_patrol_share_{recent}",
        f"patrol_actor_types_{recent}", "patrol_nights_1",
        f"patrol_hours_per_1000_{recent}", f"police_hours_per_1000_{recent}",
    ]


def patrol_dosage(
    patrols: DataFrame,
    targets: DataFrame,
    grain: str,
    windows: Sequence[int],
    unit_types: Sequence[str],
    police_types: Sequence[str],
    joint_types: Sequence[str],
    require_updated_before_end: bool,
) -> DataFrame:
    """Per village and target period: patrol hours and sessions over the recent windows."""
    recent = max(windows)
    seen = (
        patrols.withColumn("pidx", timestamp_period_index("started_at", grain))
        .withColumn("known_from", F.coalesce(F.col("updated_at"), F.col("ended_at")))
        .transform(lambda df: explode_to_targets(df, "pidx", recent - 1, targets))
    )
    if require_updated_before_end:
        seen = seen.filter(visible_at_end("known_from"))
    hours = F.col("duration_hours").cast("double")

    def h(w: int, cond: Column | None = None) -> Column:
        c = F.col("lag") < w
        return F.sum(F.when(c if cond is None else c & cond, hours).otherwise(0.0))

    is_police = F.col("unit_type").isin(*police_types)
    is_joint = F.col("unit_type").isin(*joint_types)
    # A night runs from 20:00 to 06:00: shifting by 12 hours puts it on one calendar day.
    night_of = F.to_date(F.col("started_at") - F.expr("INTERVAL 12 HOURS"))
    aggs: list[Column] = []
    for w in windows:
        aggs += [h(w, F.col("unit_type") == u).alias(f"patrol_hours_{u}_{w}") for u in unit_types]
        aggs += [
            h(w).alias(f"patrol_hours_{w}"),
            F.sum(F.when(F.col("lag") < w, 1).otherwise(0)).alias(f"patrol_sessions_{w}"),
        ]
    aggs += [
        h(recent, is_police).alias("_police_hours"),
        (h(recent, ~is_police) / F.when(h(recent) > 0, h(recent))).alias(f"non_police_share_{recent}"),
        (h(recent, is_joint) / F.when(h(recent) > 0, h(recent))).alias(f"joint_patrol_share_{recent}"),
        F.count_distinct(F.when(F.col("lag") < recent, F.col("unit_type"))).alias(
            f"patrol_actor_types_{recent}"
        ),
        F.count_distinct(
            F.when((F.col("lag") == 0) & F.col("is_night"), night_of)
        ).alias("patrol_nights_1"),
    ]
    return seen.groupBy("village_id", "period_start").agg(*aggs)


def patrol_rates(df: DataFrame, windows: Sequence[int], unit_types: Sequence[str]) -> DataFrame:
    """Zero-fill village-periods without patrols and add the per-1,000-resident rates."""
    recent = max(windows)
    zero = [c for c in patrol_columns(windows, unit_types) if "share" not in c and "per_1000" not in c]
    filled = df.withColumns({c: F.coalesce(F.col(c), F.lit(0)) for c in [*zero, "_police_hours"]})
    has_pop = F.col("resident_pop") > 0
    return filled.withColumns(
        {
            f"patrol_hours_per_1000_{recent}": F.when(
                has_pop, F.col(f"patrol_hours_{recent}") * 1000.0 / F.col("resident_pop")
            ),
            f"police_hours_per_1000_{recent}": F.when(
                has_pop, F.col("_police_hours") * 1000.0 / F.col("resident_pop")
            ),
        }
    ).drop("_police_hours")
