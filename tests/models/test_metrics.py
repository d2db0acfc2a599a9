"""Metrics on examples small enough to compute by hand."""

from __future__ import annotations

import math

import pytest

from models.metrics import (
    MetricInputError,
    brier,
    coverage_metrics,
    ece,
    flag_count,
    period_metrics,
    pr_auc,
    reliability_bins,
    roc_auc,
    top_k,
)

Y = [1, 0, 1, 0, 0]
P = [0.9, 0.8, 0.4, 0.3, 0.1]


def test_roc_auc_counts_pairs_won():
    # positives 0.9 and 0.4 against negatives 0.8, 0.3, 0.1: 3 + 2 of 6 pairs won
    assert roc_auc(Y, P) == pytest.approx(5 / 6)
    # a tie counts half: one positive, one negative, same score
    assert roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(roc_auc([0, 0], [0.1, 0.2]))


def test_pr_auc_is_mean_precision_at_each_positive():
    # positive at rank 1 (precision 1/1) and at rank 3 (precision 2/3)
    assert pr_auc(Y, P) == pytest.approx((1 + 2 / 3) / 2)


def test_brier_and_calibration():
    assert brier(Y, P) == pytest.approx((0.01 + 0.64 + 0.36 + 0.09 + 0.01) / 5)
    # two bins: [0, .5) holds .4 .3 .1 (mean .2667, observed 1/3); [.5, 1] holds .9 .8 (.85 vs .5)
    bins = reliability_bins(Y, P, bins=2)
    assert [(b, n) for b, n, _, _ in bins] == [(0, 3), (1, 2)]
    assert bins[0][2] == pytest.approx(0.8 / 3) and bins[0][3] == pytest.approx(1 / 3)
    assert ece(Y, P, bins=2) == pytest.approx((3 * (1 / 3 - 0.8 / 3) + 2 * 0.35) / 5)
    # ten bins: every row alone in its bin, so ECE is the mean absolute error
    assert ece(Y, P, bins=10) == pytest.approx((0.1 + 0.8 + 0.6 + 0.3 + 0.1) / 5)


SCORE = [5, 4, 3, 2, 1, 0, 0, 0, 0, 0]
ACTUAL = [2, 0, 6, 1, 0, 0, 3, 0, 0, 0]
AREA = [1, 1, 3, 1, 1, 1, 1, 1, 1, 1]  # total 12


def test_hit_rate_pai_pei_star_by_hand():
    m = coverage_metrics(SCORE, ACTUAL, AREA, 0.2)
    # k = 2 flagged (villages 0, 1): 2 of 12 incidents; area 2 of 12; best two hold 6 + 3
    assert m == pytest.approx({"flagged": 2, "hit_rate": 2 / 12, "pai": 1.0, "pei_star": 2 / 9})
    m = coverage_metrics(SCORE, ACTUAL, AREA, 0.3)
    # k = 3 (villages 0, 1, 2): 8 of 12; area 5 of 12; best three hold 6 + 3 + 2
    assert m == pytest.approx(
        {"flagged": 3, "hit_rate": 8 / 12, "pai": (8 / 12) / (5 / 12), "pei_star": 8 / 11}
    )
    # no area given: every village weighs the same
    assert coverage_metrics(SCORE, ACTUAL, None, 0.3)["pai"] == pytest.approx((8 / 12) / 0.3)


def test_flag_count_and_ties():
    assert flag_count(250, 0.10) == 25
    assert flag_count(250, 0.05) == 13  # 12.5 rounds half up
    assert flag_count(12, 0.10) == 1
    assert flag_count(3, 0.01) == 1
    assert list(top_k([1, 2, 2, 0], 2)) == [1, 2]  # equal scores keep input order
    with pytest.raises(MetricInputError):
        flag_count(10, 0.0)
    with pytest.raises(MetricInputError):
        coverage_metrics([1, 2], [1], None, 0.5)


def test_period_metrics_rows():
    rows = period_metrics(P, P, [3, 0, 2, 1, 0], Y, None, [0.2], bins=10)
    names = [(m, c) for m, c, _ in rows]
    assert names == [
        ("roc_auc", None), ("pr_auc", None), ("brier", None), ("ece", None),
        ("flagged", 0.2), ("hit_rate", 0.2), ("pai", 0.2), ("pei_star", 0.2),
    ]
    values = dict(((m, c), v) for m, c, v in rows)
    # k = 1: village 0 (3 of 6 incidents), also the best single village
    assert values[("hit_rate", 0.2)] == pytest.approx(0.5)
    assert values[("pei_star", 0.2)] == pytest.approx(1.0)
    assert values[("pai", 0.2)] == pytest.approx(0.5 / 0.2)
