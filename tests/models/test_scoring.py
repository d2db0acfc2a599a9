"""Ranks and flags of the risk table, by hand: ties, nulls, one window partition per period."""

from __future__ import annotations

import random
from datetime import date

from models.scoring import SCORED_SCHEMA, rank_and_flag

P1, P2 = date(2021, 3, 1), date(2021, 4, 1)

# village_id, probability, score: rank 1 = highest probability, then score, then village_id.
ROWS = [
    ("v1", 0.9, 5.0),
    ("v2", 0.9, 7.0),   # same probability as v1, higher score: before v1
    ("v3", 0.5, 3.0),
    ("v4", 0.5, 3.0),   # same probability and score as v3: after v3 (village_id)
    ("v5", None, 9.0),  # no probability: after every village with one, whatever its score
    ("v6", 0.7, 1.0),
    ("v7", 0.5, 4.0),   # ties v3 and v4 on probability, higher score: before them
    ("v8", None, None),
]
EXPECTED_RANK = {"v2": 1, "v1": 2, "v6": 3, "v7": 4, "v3": 5, "v4": 6, "v5": 7, "v8": 8}


def _scored(spark, periods=(P1,)):
    rows = [
        (v, "t1" if v < "v5" else "t2", p, s, prob, None if s is None else s / 10, ["r"])
        for p in periods for v, prob, s in ROWS
    ]
    random.Random(4).shuffle(rows)  # no help from the input order
    return spark.createDataFrame(rows, SCORED_SCHEMA).repartition(3)


def test_rank_and_flag_by_hand_with_ties_and_nulls(spark):
    ranked = rank_and_flag(_scored(spark), flag_share=0.4, n_villages=8)  # k = round(3.2) = 3
    got = {r["village_id"]: (r["rank"], r["flagged"]) for r in ranked.collect()}
    assert got == {v: (k, k <= 3) for v, k in EXPECTED_RANK.items()}
    assert dict(ranked.dtypes)["rank"] == "int" and dict(ranked.dtypes)["flagged"] == "boolean"
    # The window is partitioned by the period: no single-partition exchange in the plan
    # (the one behind Spark's "No Partition Defined for Window operation" warning).
    plan = ranked._jdf.queryExecution().executedPlan().toString()
    assert "SinglePartition" not in plan and "hashpartitioning(period_start" in plan


def test_rank_and_flag_ranks_each_period_on_its_own(spark):
    ranked = rank_and_flag(_scored(spark, (P1, P2)), flag_share=0.1, n_villages=8)  # k = 1
    got = {(r["period_start"], r["village_id"]): (r["rank"], r["flagged"]) for r in ranked.collect()}
    assert got == {(p, v): (k, k == 1) for p in (P1, P2) for v, k in EXPECTED_RANK.items()}


def test_rank_and_flag_without_a_count_flags_each_periods_own_share(spark):
    # P1 has all 8 villages (k = round(0.4 * 8) = 3); P2 only v1..v5 (k = round(0.4 * 5) = 2).
    rows = [r for r in _scored(spark, (P1, P2)).collect() if r["period_start"] == P1 or r["village_id"] <= "v5"]
    ranked = rank_and_flag(spark.createDataFrame(rows, SCORED_SCHEMA).repartition(3), flag_share=0.4)
    got = {(r["period_start"], r["village_id"]): (r["rank"], r["flagged"]) for r in ranked.collect()}
    p2_rank = {"v2": 1, "v1": 2, "v3": 3, "v4": 4, "v5": 5}
    expected = {(P1, v): (k, k <= 3) for v, k in EXPECTED_RANK.items()}
    expected |= {(P2, v): (k, k <= 2) for v, k in p2_rank.items()}
    assert got == expected
