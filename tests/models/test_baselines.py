"""History signals behind the baselines, computed by hand on three villages and four months."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import types as T

from models.baselines import (
    NEIGHBOUR_SCHEMA,
    baseline_specs,
    with_history_features,
)

SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType()),
        T.StructField("township_id", T.StringType()),
        T.StructField("period_start", T.DateType()),
        T.StructField("label_weighted_next", T.DoubleType()),
        T.StructField("label_high_risk_next", T.BooleanType()),
    ]
)
MONTHS = [date(2021, m, 1) for m in (1, 2, 3, 4)]
# label of month m = weighted count of month m+1; the last month has no label yet
LABELS = {"A": [2.0, 4.0, 0.0, None], "B": [1.0, 0.0, 3.0, None], "C": [5.0, 5.0, 5.0, None]}


def test_history_features_by_hand(spark):
    rows = [
        (v, "t1", p, lab, None if lab is None else lab > 2)
        for v, labels in LABELS.items()
        for p, lab in zip(MONTHS, labels, strict=True)
    ]
    features = spark.createDataFrame(rows, SCHEMA)
    neighbours = spark.createDataFrame([("A", "B", 1.0), ("B", "A", 1.0)], NEIGHBOUR_SCHEMA)
    out = with_history_features(
        features, neighbours, "month", windows=[2], ewm_alpha=0.5, decay=0.5, lags=2
    )
    got = {
        (r["village_id"], r["period_start"].month): (
            r["hist_prev"], r["hist_ma2"], r["hist_ewm"], r["hist_own_decayed"], r["hist_nb_decayed"]
        )
        for r in out.collect()
    }
    # A's counts: Feb 2, Mar 4, Apr 0 (January's is unknown); B's: Feb 1, Mar 0, Apr 3
    expected_a = {
        1: (0.0, None, None, 0.0, 0.0),
        2: (2.0, 2.0, 2.0, 2.0, 1.0),
        3: (4.0, 3.0, (4 + 0.5 * 2) / 1.5, 4 + 0.5 * 2, 0 + 0.5 * 1),
        4: (0.0, 2.0, (0 + 0.5 * 4 + 0.25 * 2) / 1.75, 0 + 0.5 * 4 + 0.25 * 2, 3 + 0 + 0.25 * 1),
    }
    for month, exp in expected_a.items():
        assert got[("A", month)] == pytest.approx(exp), month
    assert got[("B", 4)][3:] == pytest.approx((3.25, 2.5))  # B's neighbour is A
    assert got[("C", 4)] == pytest.approx((5.0, 5.0, 5.0, 5 + 2.5 + 1.25, 0.0))  # no neighbours
    assert len(got) == 12


def test_baseline_specs_names_and_weights():
    specs = {s.name: s.weights for s in baseline_specs([3, 6], neighbour_weight=0.4)}
    assert specs == {
        "baseline_prev": (("hist_prev", 1.0),),
        "baseline_ma3": (("hist_ma3", 1.0),),
        "baseline_ma6": (("hist_ma6", 1.0),),
        "baseline_ewm": (("hist_ewm", 1.0),),
        "baseline_hotspot": (("hist_own_decayed", 1.0), ("hist_nb_decayed", 0.4)),
    }


@pytest.mark.parametrize(("grain", "periods"), [
    ("quarter", [date(2020, 10, 1), date(2021, 1, 1), date(2021, 7, 1)]),
    ("year", [date(2019, 1, 1), date(2020, 1, 1), date(2022, 1, 1)]),
])
def test_history_windows_count_quarters_and_years(spark, grain, periods):
    # One village, rows for periods p0, p1 and p3 (p2 missing): the count of p1 is p0's label (2),
    # of p2 p1's label (4, but p2 has no row), of p3 p2's label (unknown).
    rows = [("A", "t1", p, lab, None) for p, lab in zip(periods, (2.0, 4.0, None), strict=True)]
    out = with_history_features(
        spark.createDataFrame(rows, SCHEMA), spark.createDataFrame([], NEIGHBOUR_SCHEMA), grain,
        windows=[3], ewm_alpha=0.5, decay=0.5, lags=2,
    )
    got = {r["period_start"]: (r["hist_prev"], r["hist_ma3"], r["hist_ewm"], r["hist_own_decayed"])
           for r in out.collect()}
    # p3's window of 3 periods is p1..p3: p1's count 2 only; decayed 0.5**2 * 2 = 0.5; the EWM
    # normalises by the same weight: 0.5 / 0.25 = 2. p0 (3 periods back) is outside.
    assert got == {
        periods[0]: (0.0, None, None, 0.0),
        periods[1]: (2.0, 2.0, 2.0, 2.0),
        periods[2]: (0.0, 2.0, 2.0, 0.5),
    }
