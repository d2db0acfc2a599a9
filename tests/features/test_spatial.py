"""Neighbours: k nearest within a distance, inverse-distance weights, weighted spill-over."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F

from features.spatial import neighbour_pairs, spillover


def test_neighbours_and_spillover_by_hand(spark):
    # On the equator 0.01 degree of longitude is 1.112 km; V4 lies 111 km away.
    villages = spark.createDataFrame(
        [("V1", 0.0, 0.0), ("V2", 0.01, 0.0), ("V3", 0.03, 0.0), ("V4", 1.0, 0.0)],
        "village_id STRING, longitude DOUBLE, latitude DOUBLE",
    )
    pairs = neighbour_pairs(villages, k=2, max_km=5.0, min_km=0.5).cache()
    got_pairs = {
        (r[0], r[1]): (r[2], r[3])
        for r in pairs.select("village_id", "nbr_id", F.round("distance_km", 3), F.round("weight", 4)).collect()
    }
    # weights 1/d normalised: V1 sees V2 at d and V3 at 3d -> 3/4, 1/4
    assert got_pairs == {
        ("V1", "V2"): (1.112, 0.75), ("V1", "V3"): (3.336, 0.25),
        ("V2", "V1"): (1.112, 0.6667), ("V2", "V3"): (2.224, 0.3333),
        ("V3", "V2"): (2.224, 0.6), ("V3", "V1"): (3.336, 0.4),
    }
    base = spark.createDataFrame(
        [("V1", 4, 1.0), ("V2", 0, None), ("V3", 8, 2.0), ("V4", 10, 0.0)],
        "village_id STRING, x INT, y DOUBLE",
    ).withColumn("period_start", F.lit(date(2024, 1, 1)))
    out = spillover(base, pairs, {"nbr_x": "x", "nbr_y": "y"})
    got = {r[0]: (r[1], r[2], r[3]) for r in out.select(
        "village_id", F.round("nbr_x", 4), F.round("nbr_y", 4), "nbr_count").collect()}
    # V2's y is null: V1's and V3's other weights are renormalised
    assert got == {"V1": (2.0, 2.0, 2), "V2": (5.3333, 1.3333, 2), "V3": (1.6, 1.0, 2)}
    pairs.unpersist()
