"""Township audit and the label-source comparison, on rows small enough to check by hand."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from pyspark.sql import types as T

from features.periods import next_period
from models.audit import (
    all_source_counts,
    compare_label_sources,
    flag_backtest,
    label_overlap,
    relabel,
    township_audit,
)
from models.classifiers import RiskModel

P = date(2021, 3, 1)


def test_flags_and_township_audit_by_hand(spark):
    schema = "village_id string, township_id string, period_start date, score double, actual_label boolean"
    rows = [  # 10 villages, flag share 0.2 -> the top 2 by score: v1 and v2 (tie with v3 broken by id)
        ("v1", "t1", P, 0.9, True), ("v2", "t1", P, 0.5, False), ("v3", "t2", P, 0.5, True),
        ("v4", "t2", P, 0.1, False), ("v5", "t2", P, 0.0, False), ("v6", "t2", P, 0.0, False),
        ("v7", "t2", P, 0.0, False), ("v8", "t2", P, 0.0, False), ("v9", "t1", P, 0.0, False),
        ("v10", "t1", P, 0.0, False),
    ]
    flagged = flag_backtest(spark.createDataFrame(rows, schema), 0.2)
    assert {r["village_id"] for r in flagged.filter("flagged").collect()} == {"v1", "v2"}
    audit = {r["township_id"]: r.asDict() for r in township_audit(flagged).collect()}
    # t1: v1 v2 v9 v10, 2 flagged, 1 actually high risk (v1, flagged): recall 1
    assert audit["t1"] == {
        "township_id": "t1", "period_start": P, "villages": 4, "villages_flagged": 2, "flag_rate": 0.5,
        "actual_high_risk_rate": 0.25, "recall": 1.0,
    }
    # t2: six villages, none flagged, v3 high risk and missed: recall 0
    assert audit["t2"]["flag_rate"] == 0.0 and audit["t2"]["recall"] == 0.0
    assert audit["t2"]["actual_high_risk_rate"] == pytest.approx(1 / 6)


def test_all_source_counts_weigh_severity_and_drop_false_alarms(spark):
    schema = T.StructType(
        [
            T.StructField("village_id", T.StringType()), T.StructField("reported_at", T.TimestampType()),
            T.StructField("severity", T.IntegerType()), T.StructField("source", T.StringType()),
            T.StructField("status", T.StringType()), T.StructField("is_false_alarm", T.BooleanType()),
        ]
    )
    rows = [
        ("a", datetime(2021, 3, 2, 10), 1, "citizen_call", "resolved", False),
        ("a", datetime(2021, 3, 9, 10), 3, "patrol_found", "open", False),
        ("a", datetime(2021, 3, 9, 11), 4, "citizen_call", "false_alarm", True),
        ("a", datetime(2021, 4, 1, 10), 2, "video", "open", False),
        ("b", datetime(2021, 3, 5, 10), 2, "other_source", "open", False),
    ]
    counts = all_source_counts(
        spark.createDataFrame(rows, schema), "month", {1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0},
        ["citizen_call", "patrol_found", "video"],
    )
    got = {(r["village_id"], r["period_start"]): r["weighted"] for r in counts.collect()}
    assert got == {("a", date(2021, 3, 1)): 5.0, ("a", date(2021, 4, 1)): 2.0}


def test_relabel_overlap_and_flag_comparison(panel):
    # all-source counts: v00 gets 50 in every period, so it becomes high risk everywhere
    periods = sorted(panel["period_start"].unique())
    counts = pd.DataFrame(
        [("v00", next_period(p, "month"), 50.0) for p in periods]
        + [("v19", next_period(p, "month"), 20.0) for p in periods],
        columns=["village_id", "period_start", "weighted"],
    )
    relabelled = relabel(panel, counts, lambda p: next_period(p, "month"), share=0.10)
    known = relabelled[relabelled["label_high_risk_next"].notna()]
    high = known[known["label_high_risk_next"].astype(bool)]
    assert set(high["village_id"]) == {"v00", "v19"} and len(high) == 2 * 17
    assert relabelled["label_weighted_next"].isna().sum() == 20  # last period stays unknown
    overlap = label_overlap(panel, relabelled)
    # per period, Jaccard of the citizen top-2 and {v00, v19}
    citizen = panel[panel["label_high_risk_next"].notna() & panel["label_high_risk_next"].astype(bool)]
    for p, g in citizen.groupby("period_start"):
        c = set(g["village_id"])
        exp = len(c & {"v00", "v19"}) / len(c | {"v00", "v19"})
        assert overlap.set_index("period_start").loc[p, "value"] == pytest.approx(exp)



def test_the_comparison_refits_the_champion_on_the_all_source_label(panel):
    """A learned champion (logistic on x_rate, a noisy view of each village's rate) flags the
    highest x_rate under citizen labels (the busiest villages are high risk); refit on all-source
    labels where the two quietest villages, v00 and v01, are the high-risk ones every period,
    the same model flags the lowest x_rate: the comparison really refits on the other label."""
    periods = sorted(panel["period_start"].unique())
    counts = pd.DataFrame(
        [(v, next_period(p, "month"), 50.0) for p in periods for v in ("v00", "v01")],
        columns=["village_id", "period_start", "weighted"],
    )
    relabelled = relabel(panel, counts, lambda p: next_period(p, "month"), share=0.10)

    def make():
        return RiskModel.classifier("logistic", "logistic", ["x_rate"], {"C": 1.0, "max_iter": 500})

    citizen_model = make().fit(panel, 3)
    rows = panel[panel["period_start"] == periods[-1]]
    cmp = compare_label_sources(citizen_model, make, relabelled, rows, 0.1, 3, 0)
    by_rate = list(rows.sort_values("x_rate")["village_id"])
    # ceil(20 x 0.1) = 2 flags under each label
    assert sorted(cmp.loc[cmp["flagged_citizen_label"], "village_id"]) == sorted(by_rate[-2:])
    assert sorted(cmp.loc[cmp["flagged_all_source_label"], "village_id"]) == sorted(by_rate[:2])
    assert list(cmp.columns) == ["village_id", "township_id", "probability_citizen_label", "flagged_citizen_label",
                                 "probability_all_source_label", "flagged_all_source_label"]


def test_relabel_keeps_the_label_rule_a_village_without_incidents_is_never_high_risk(panel):
    """Only v00 has all-source incidents: of the 2 places (ceil(20 x 0.10)), one stays empty
    rather than going to v01, the next village by id (features.labels.high_risk_flags)."""
    periods = sorted(panel["period_start"].unique())
    counts = pd.DataFrame([("v00", next_period(p, "month"), 3.0) for p in periods],
                          columns=["village_id", "period_start", "weighted"])
    relabelled = relabel(panel, counts, lambda p: next_period(p, "month"), share=0.10)
    known = relabelled[relabelled["label_high_risk_next"].notna()]
    assert set(known.loc[known["label_high_risk_next"].astype(bool), "village_id"]) == {"v00"}
    assert int(known["label_high_risk_next"].astype(bool).sum()) == len(periods) - 1  # one per known period
