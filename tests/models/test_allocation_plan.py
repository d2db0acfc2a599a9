"""Plan rows in plain words, the comparison plans and the champion lookup (pure pandas)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.allocation import ResponseCurve, Rules, solve
from models.allocation_plan import (
    baseline_pairs,
    champion_model,
    compare_strategies,
    plan_rows,
    stops_for,
)

VILLAGES = pd.DataFrame({"village_id": ["V1", "V2", "V3"], "township_id": ["T1", "T1", "T2"]})
RULES = Rules(
    capacity={"police": {"scope": "county", "hours": 4}, "volunteer": {"scope": "township", "hours": 2}},
    effectiveness={"police": 1.0, "volunteer": 0.5},
    curve=ResponseCurve(max_effect=0.5, h0_hours=2.0),
    floor_hours=1.0, cap_hours=3.0, step_hours=1.0, segment_hours=0.5, mip_gap=0.0,
)


def g(e: float) -> float:
    return 0.5 * (1 - math.exp(-e / 2))


def test_stops_are_planned_hours_in_quarter_hour_stops():
    assert [stops_for(h, 15) for h in (0.5, 1.0, 2.5)] == [2, 4, 10]


def test_plan_rows_carry_hours_stops_and_plain_reasons():
    alloc = solve(VILLAGES, np.array([5.0, 0.1, 3.0]), RULES)
    risk = pd.DataFrame({"village_id": ["V1", "V2", "V3"], "rank": [1, 3, 2]})
    plan = plan_rows(alloc, risk, date(2024, 5, 1), "r1", RULES)
    got = plan[["village_id", "actor_type", "hours", "stops"]].to_records(index=False).tolist()
    assert got == [("V1", "police", 3.0, 12), ("V2", "volunteer", 2.0, 8),
                   ("V3", "police", 1.0, 4), ("V3", "volunteer", 2.0, 8)]
    assert set(plan["period_start"]) == {date(2024, 5, 1)} and set(plan["run_id"]) == {"r1"}
    reasons = dict(zip(zip(plan["village_id"], plan["actor_type"], strict=True), plan["reason"], strict=True))
    assert reasons[("V1", "police")].startswith("Expected harm 5.0 weighted incidents (rank 1 of 3)")
    assert "Reaches the cap of 3 h" in reasons[("V1", "police")]
    assert "Volunteer patrols work only in their own township" in reasons[("V3", "volunteer")]
    assert "rank 3 of 3" in reasons[("V2", "volunteer")]


def test_baselines_spread_each_pool_within_its_scope():
    harm = [3.0, 1.0, 2.0]
    prop = baseline_pairs(VILLAGES, harm, RULES, "proportional").set_index(["village_id", "actor_type"])["hours"]
    assert prop.to_dict() == pytest.approx({
        ("V1", "police"): 2.0, ("V2", "police"): 4 / 6, ("V3", "police"): 4 / 3,
        ("V1", "volunteer"): 1.5, ("V2", "volunteer"): 0.5, ("V3", "volunteer"): 2.0,
    })
    equal = baseline_pairs(VILLAGES, harm, RULES, "equal").set_index(["village_id", "actor_type"])["hours"]
    assert equal[("V2", "police")] == pytest.approx(4 / 3) and equal[("V1", "volunteer")] == 1.0


def test_compare_strategies_scores_each_plan_on_what_happened():
    pred = pd.DataFrame({
        "village_id": ["V1", "V2", "V3"], "township_id": ["T1", "T1", "T2"],
        "period_start": [date(2024, 1, 1)] * 3, "harm": [5.0, 1.0, 3.0],
        "actual_weighted": [4.0, 0.0, 2.0],
    })
    comp = compare_strategies(pred, RULES).set_index("strategy")
    # equal: police 4/3 h each; volunteers 1 h to V1 and V2, 2 h to V3.
    e1, e3 = 4 / 3 + 0.5, 4 / 3 + 1.0
    assert comp.loc["equal", "actual_prevented"] == pytest.approx(4 * g(e1) + 2 * g(e3))
    # optimized (the hand case of test_allocation): V1 eff 3, V3 eff 2.
    assert comp.loc["optimized", "actual_prevented"] == pytest.approx(4 * g(3) + 2 * g(2))
    assert comp.loc["optimized", "expected_prevented"] == pytest.approx(5 * g(3) + 1 * g(1) + 3 * g(2))
    assert comp["hours"].to_dict() == pytest.approx({"optimized": 8.0, "proportional": 8.0, "equal": 8.0})
    assert set(comp["actual_weighted_total"]) == {6.0}
    # The optimizer's proven gap (0: the LP bound meets this plan) and solve time ride along
    # on the optimized row only; they are not columns of gold.allocation_backtest.
    assert comp.loc["optimized", "gap"] == pytest.approx(0.0, abs=1e-9)
    assert comp.loc["optimized", "solve_seconds"] > 0
    assert comp.loc[["proportional", "equal"], ["gap", "solve_seconds"]].isna().all().all()
    from store.schemas import ALLOCATION_BACKTEST_SCHEMA

    assert {"gap", "solve_seconds"}.isdisjoint(f.name for f in ALLOCATION_BACKTEST_SCHEMA.fields)


def test_champion_is_named_by_the_model_version_else_best_pei():
    assert champion_model(["logit", "gbm"], "gbm-v3") == "gbm"
    metrics = pd.DataFrame({"model": ["logit", "gbm", "logit"], "metric": ["pei_star"] * 3,
                            "value": [0.6, 0.5, 0.7]})
    assert champion_model(["logit", "gbm"], "unknown", metrics) == "logit"
    assert champion_model([], None) is None


def test_plan_reasons_in_chinese():
    """The same plan with language zh; prevented by hand: V1 5 x g(3 h x 1.0) = 1.94,
    V2 0.1 x g(2 h x 0.5) = 0.02, V3 3 x g(1 h x 1.0 + 2 h x 0.5) = 0.95."""
    alloc = solve(VILLAGES, np.array([5.0, 0.1, 3.0]), RULES)
    risk = pd.DataFrame({"village_id": ["V1", "V2", "V3"], "rank": [1, 3, 2]})
    plan = plan_rows(alloc, risk, date(2024, 5, 1), "r1", RULES, "zh")
    reasons = dict(zip(zip(plan["village_id"], plan["actor_type"], strict=True), plan["reason"], strict=True))
    assert reasons[("V1", "police")] == (
        "预计危害5.0起加权案件（3个村中第1位）；此处安排的3小时约可减少其中1.94起。"
        "警力小时投向多一小时能减少危害最多的地方。已达每村3小时的上限。")
    assert reasons[("V2", "volunteer")] == (
        "预计危害0.1起加权案件（3个村中第3位）；此处安排的2小时约可减少其中0.02起。志愿者巡逻队只在本乡镇工作。")
    assert reasons[("V3", "volunteer")].endswith("约可减少其中0.95起。志愿者巡逻队只在本乡镇工作。已达每村3小时的上限。")
