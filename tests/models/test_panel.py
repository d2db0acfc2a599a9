"""The training panel's neighbours are the spill-over features' own (features.spatial)."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import types as T

from features.spatial import EARTH_RADIUS_KM
from models.panel import neighbours_frame


def test_the_hotspot_baseline_spreads_over_the_features_neighbours(spark):
    villages = spark.createDataFrame(
        [("A", 110.0, 30.0), ("B", 110.01, 30.0), ("C", 110.5, 30.0), ("D", 110.0, 30.02), ("E", None, None)],
        "village_id string, longitude double, latitude double",
    )
    nb = neighbours_frame(spark, villages, {"k": 2, "max_km": 5.0, "min_km": 0.5}).toPandas()
    assert list(nb.columns) == ["village_id", "neighbour_id", "weight"]
    a = nb[nb["village_id"] == "A"].set_index("neighbour_id")["weight"].to_dict()
    # great-circle distances by hand: A-B 0.01 deg of longitude at 30 N, A-D 0.02 deg of latitude
    d_ab = 2 * EARTH_RADIUS_KM * math.asin(math.cos(math.radians(30)) * math.sin(math.radians(0.005)))
    d_ad = EARTH_RADIUS_KM * math.radians(0.02)
    assert d_ab == pytest.approx(0.963, abs=1e-3) and d_ad == pytest.approx(2.224, abs=1e-3)
    w_b, w_d = 1 / d_ab, 1 / d_ad
    assert a == pytest.approx({"B": w_b / (w_b + w_d), "D": w_d / (w_b + w_d)}, rel=1e-9)
    assert not {"C", "E"} & set(nb["village_id"])  # C is 48 km from all; E has no coordinates
    assert nb.groupby("village_id")["weight"].sum().to_dict() == pytest.approx({"A": 1.0, "B": 1.0, "D": 1.0})


def test_neighbours_frame_by_hand(spark):
    # Three villages on a parallel, 0.01 degrees of longitude apart (about 0.964 km each).
    villages = spark.createDataFrame(
        [("v0", 110.00, 30.0), ("v1", 110.01, 30.0), ("v2", 110.02, 30.0)],
        "village_id string, longitude double, latitude double",
    )
    nb = neighbours_frame(spark, villages, {"k": 2, "max_km": 1.5, "min_km": 0.5})
    assert [(f.name, f.dataType) for f in nb.schema.fields] == [
        ("village_id", T.StringType()), ("neighbour_id", T.StringType()), ("weight", T.DoubleType()),
    ]
    got = {(r["village_id"], r["neighbour_id"]): r["weight"] for r in nb.collect()}
    # v0 and v2 are 1.93 km apart, beyond 1.5 km: one neighbour each; v1 has two at equal distance.
    assert got == pytest.approx({("v0", "v1"): 1.0, ("v2", "v1"): 1.0, ("v1", "v0"): 0.5, ("v1", "v2"): 0.5})
    assert neighbours_frame(spark, None, {"k": 2, "max_km": 1.5, "min_km": 0.5}).count() == 0
