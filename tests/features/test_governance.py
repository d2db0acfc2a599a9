"""Governance index: mid-rank percentiles within a period, weighted sub-scores, clear errors."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from features.governance import GovernanceConfigError, governance_index, percentile_score

P, Q = date(2024, 1, 1), date(2024, 2, 1)


def test_percentile_score_by_hand(spark):
    df = spark.createDataFrame(
        [("A", P, 10.0), ("B", P, 20.0), ("C", P, 20.0), ("D", P, None), ("E", P, 40.0), ("F", Q, 7.0)],
        "village_id STRING, period_start DATE, x DOUBLE",
    )
    out = df.select("village_id", percentile_score(F.col("x")).alias("hi"),
                    percentile_score(F.col("x"), lower_is_better=True).alias("lo"))
    got = {r[0]: (r[1], r[2]) for r in out.collect()}
    # four values: below + (equal - 1) / 2 over n - 1; a lone value scores 50
    assert got == {"A": (0.0, 100.0), "B": (50.0, 50.0), "C": (50.0, 50.0), "D": (None, None),
                   "E": (100.0, 0.0), "F": (50.0, 50.0)}


def test_float_noise_is_a_tie(spark):
    # 0.1 + 0.2 is 0.30000000000000004 and 12.599999999999998 is 12.6 summed in another
    # order: each pair must tie, as equal values do, wherever the sum was computed.
    assert 0.1 + 0.2 != 0.3
    df = spark.createDataFrame(
        [("A", P, 0.1 + 0.2), ("B", P, 0.3), ("C", P, 0.1), ("D", P, 0.5),
         ("E", Q, 12.6), ("F", Q, 12.599999999999998), ("G", Q, 13.0)],
        "village_id STRING, period_start DATE, x DOUBLE",
    )
    out = df.select("village_id", percentile_score(F.col("x")).alias("hi"),
                    percentile_score(F.col("x"), lower_is_better=True).alias("lo"))
    got = {r[0]: (r[1], r[2]) for r in out.collect()}
    # P, four values: C below none; A and B one below, tied: (1 + 1/2) / 3; D three below.
    # Q, three values: E and F none below, tied: (0 + 1/2) / 2; G two below.
    assert got == {"A": (50.0, 50.0), "B": (50.0, 50.0), "C": (0.0, 100.0), "D": (100.0, 0.0),
                   "E": (25.0, 75.0), "F": (25.0, 75.0), "G": (100.0, 0.0)}


def test_sub_scores_and_capacity_by_hand(spark):
    df = spark.createDataFrame(
        [("V1", "T1", P, 1.0, 5.0, 10.0, 1.0, None), ("V2", "T1", P, 2.0, 5.0, 20.0, 0.0, None)],
        "village_id STRING, township_id STRING, period_start DATE, a DOUBLE, b DOUBLE, c DOUBLE, "
        "d DOUBLE, e DOUBLE",
    )
    subs = {
        "subject": {"a": {"weight": 1.0}},
        "organization": {"b": {"weight": 1.0}},
        "resource": {"c": {"weight": 1.0, "direction": "lower"}, "d": {"weight": 3.0}},
        "mechanism": {"e": {"weight": 1.0}},
    }
    weights = {"subject": 0.5, "organization": 0.25, "resource": 0.25, "mechanism": 0.0}
    got = {r[0]: tuple(r[3:]) for r in governance_index(df, weights, subs).collect()}
    # mechanism has no value: left out of the capacity index
    assert got == {"V1": (0.0, 50.0, 100.0, None, 37.5), "V2": (100.0, 50.0, 0.0, None, 62.5)}
    with pytest.raises(GovernanceConfigError, match="not feature columns"):
        governance_index(df, weights, subs | {"mechanism": {"zzz": {"weight": 1.0}}})
