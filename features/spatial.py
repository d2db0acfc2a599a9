"""Near-repeat and spill-over: neighbours' recent incidents and the spatial lag of rates."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lon1: Column, lat1: Column, lon2: Column, lat2: Column) -> Column:
    """Great-circle distance in km between two WGS84 points (built-ins only)."""
    p1, p2 = F.radians(lat1), F.radians(lat2)
    dlat, dlon = p2 - p1, F.radians(lon2) - F.radians(lon1)
    a = F.pow(F.sin(dlat / 2), 2) + F.cos(p1) * F.cos(p2) * F.pow(F.sin(dlon / 2), 2)
    return F.lit(2 * EARTH_RADIUS_KM) * F.asin(F.least(F.lit(1.0), F.sqrt(a)))


def neighbour_pairs(villages: DataFrame, k: int, max_km: float, min_km: float) -> DataFrame:
    """The k nearest other villages within max_km, weights 1/max(d, min_km) summing to 1.

    Ties in distance are broken by the neighbour's village_id. Villages with no neighbour
    within max_km get no rows (their spill-over features are null).
    """
    a = villages.select(
        F.col("village_id"), F.col("longitude").alias("lon"), F.col("latitude").alias("lat")
    )
    b = villages.select(
        F.col("village_id").alias("nbr_id"),
        F.col("longitude").alias("nlon"),
        F.col("latitude").alias("nlat"),
    )
    is_other = F.col("village_id") != F.col("nbr_id")
    nearest_first = Window.partitionBy("village_id").orderBy("distance_km", "nbr_id")
    all_nbrs = Window.partitionBy("village_id").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    return (
        a.crossJoin(b)
        .filter(is_other)
        .withColumn("distance_km", haversine_km(F.col("lon"), F.col("lat"), F.col("nlon"), F.col("nlat")))
        .filter(F.col("distance_km") <= max_km)
        .withColumn("_rank", F.row_number().over(nearest_first))
        .filter(F.col("_rank") <= k)
        .withColumn("_w", 1.0 / F.greatest(F.col("distance_km"), F.lit(float(min_km))))
        .withColumn("weight", F.col("_w") / F.sum("_w").over(all_nbrs))
        .select("village_id", "nbr_id", "distance_km", "weight")
    )


def spillover(base: DataFrame, pairs: DataFrame, columns: Mapping[str, str]) -> DataFrame:
    """Distance-weighted mean over neighbours of base columns, per village and period.

    `columns` maps output name -> column of `base` (keyed by village_id, period_start).
    A neighbour's null value is left out and the remaining weights renormalised.
    """
    nbr = base.select(
        F.col("village_id").alias("nbr_id"), "period_start",
        *[F.col(src).alias(f"_v_{out}") for out, src in columns.items()],
    )
    joined = pairs.join(nbr, on="nbr_id", how="inner")
    aggs: list[Column] = []
    for out in columns:
        v = F.col(f"_v_{out}")
        aggs.append(
            (F.sum(F.col("weight") * v) / F.sum(F.when(v.isNotNull(), F.col("weight")))).alias(out)
        )
    aggs.append(F.count(F.lit(1)).alias("nbr_count"))
    return joined.groupBy("village_id", "period_start").agg(*aggs)
