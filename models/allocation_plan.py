"""From a solved allocation to plan rows in plain words, the backtest comparison, and Spark frames.

Pure pandas functions (plan_rows, baseline_pairs, compare_strategies, champion_model, plan_period);
jobs/allocate.py reads the tables and writes the frames (over Arrow, models.panel.spark_frame).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from models.allocation import (
    Allocation,
    AllocationInputError,
    Pool,
    Rules,
    build_pools,
    check_plan,
    prepare_villages,
    solve,
)

ACTOR_LABELS = {
    "police": "police officers",
    "auxiliary_police": "auxiliary police",
    "joint_defense": "the joint-defense team",
    "volunteer": "volunteer patrols",
    "security_company": "the security company",
    "village_committee": "the village committee",
}
ACTOR_LABELS_ZH = {
    "police": "民警",
    "auxiliary_police": "辅警",
    "joint_defense": "联防队",
    "volunteer": "志愿者巡逻队",
    "security_company": "保安公司",
    "village_committee": "村委会",
}
SCOPE_WORDS_ZH = {"township": "乡镇", "village": "村"}
STRATEGIES = ("optimized", "proportional", "equal")
log = logging.getLogger("rural-risk")


def stops_for(hours: float, stop_minutes: float) -> int:
    """Number of short stops (Koper: 10-15 minutes each) that fill the planned hours."""
    return int(round(hours * 60.0 / stop_minutes))


def _reason(row: Mapping[str, Any], n: int, rules: Rules, language: str = "en") -> str:
    """Why the village gets these hours, in plain words of `language` (zh or en)."""
    if language == "zh":
        return _reason_zh(row, n, rules)
    label = ACTOR_LABELS.get(row["actor_type"], row["actor_type"])
    harm = f"expected harm {row['harm']:.1f} weighted incidents (rank {int(row['rank'])} of {n})"
    if row["village_hours"] <= rules.floor_hours + 1e-9:
        return (f"Visibility floor: {harm} is low, so {row['village_hours']:g} h in total "
                f"keep a patrol seen here; {label} are the closest hands.")
    text = (f"{harm.capitalize()}; the {row['village_hours']:g} h planned here prevent about "
            f"{row['prevented']:.2f} of it.")
    if row["actor_type"] == "police":
        text += " Police hours go where one more hour prevents the most harm."
    elif row["scope"] != "county":
        text += f" {label.capitalize()} work only in their own {row['scope']}."
    if row["village_hours"] >= rules.cap_hours - 1e-9:
        text += f" Reaches the cap of {rules.cap_hours:g} h per village."
    return text


def _reason_zh(row: Mapping[str, Any], n: int, rules: Rules) -> str:
    label = ACTOR_LABELS_ZH.get(row["actor_type"], row["actor_type"])
    harm = f"预计危害{row['harm']:.1f}起加权案件（{n}个村中第{int(row['rank'])}位）"
    if row["village_hours"] <= rules.floor_hours + 1e-9:
        return f"见警底线：{harm}，危害较低，共安排{row['village_hours']:g}小时，让这里看得见巡逻；{label}离得最近。"
    text = f"{harm}；此处安排的{row['village_hours']:g}小时约可减少其中{row['prevented']:.2f}起。"
    if row["actor_type"] == "police":
        text += "警力小时投向多一小时能减少危害最多的地方。"
    elif row["scope"] != "county":
        text += f"{label}只在本{SCOPE_WORDS_ZH.get(row['scope'], row['scope'])}工作。"
    if row["village_hours"] >= rules.cap_hours - 1e-9:
        text += f"已达每村{rules.cap_hours:g}小时的上限。"
    return text


def plan_rows(alloc: Allocation, risk: pd.DataFrame, period_start: date, run_id: str,
              rules: Rules, language: str = "en") -> pd.DataFrame:
    """gold.patrol_plan rows: village_id, period_start, actor_type, hours, stops, reason, run_id."""
    pairs = alloc.pairs[alloc.pairs["hours"] > 1e-9]
    v = alloc.villages.rename(columns={"hours": "village_hours"})
    ranks = risk.set_index(risk["village_id"].astype(str))["rank"]
    df = pairs.merge(v[["village_id", "harm", "village_hours", "prevented"]], on="village_id", how="left")
    df["rank"] = df["village_id"].map(ranks).fillna(len(v)).astype(int)
    out = pd.DataFrame({
        "village_id": df["village_id"],
        "period_start": period_start,
        "actor_type": df["actor_type"],
        "hours": df["hours"].astype(float),
        "stops": [stops_for(h, rules.stop_minutes) for h in df["hours"]],
        "reason": [_reason(r, len(v), rules, language) for r in df.to_dict(orient="records")],
        "run_id": run_id,
    })
    return out.sort_values(["village_id", "actor_type"]).reset_index(drop=True)


def baseline_pairs(villages: pd.DataFrame, harm: Sequence[float], rules: Rules, how: str,
                   pools: Sequence[Pool] | None = None) -> pd.DataFrame:
    """Hours of each pool spread over the villages in its scope: proportional to harm, or equal.

    The comparison plans spend the same pools within the same scopes; they know no floor or cap.
    """
    if how not in ("proportional", "equal"):
        raise AllocationInputError(f"baseline must be 'proportional' or 'equal', got {how!r}")
    v = prepare_villages(villages)
    r = pd.Series(np.asarray(harm, float), index=v["village_id"])
    pools = list(pools) if pools is not None else build_pools(v, rules)
    key = {"county": "county_id", "township": "township_id", "village": "village_id"}
    rows = []
    for pool in pools:
        members = v.loc[v[key[pool.scope]] == pool.scope_id, "village_id"]
        weight = r.reindex(members).to_numpy() if how == "proportional" else np.ones(len(members))
        if weight.sum() <= 0:
            weight = np.ones(len(members))
        share = pool.hours * weight / weight.sum()
        rows += [(vid, pool.actor_type, h) for vid, h in zip(members, share, strict=True)]
    return pd.DataFrame(rows, columns=["village_id", "actor_type", "hours"])


def prevented_by(pairs: pd.DataFrame, harm: pd.Series, rules: Rules) -> float:
    """Harm prevented under the exact curve by a plan (hours per village and actor type)."""
    eff = (pairs["hours"] * pairs["actor_type"].map(rules.effectiveness)).groupby(pairs["village_id"]).sum()
    eff = eff.reindex(harm.index, fill_value=0.0)
    return float(rules.curve.prevented(harm.to_numpy(), eff.to_numpy()).sum())


def compare_strategies(pred: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Per backtest period: harm prevented (actual counts) by the optimized, proportional and equal plans.

    pred: village_id, township_id, (county_id), period_start, harm (the model's expected harm,
    what a planner would have had), actual_weighted (what happened).

    The optimized rows also carry the optimizer's proven gap and solve time (`gap`,
    `solve_seconds`; not columns of gold.allocation_backtest), and each period's are logged.
    """
    rows = []
    for period, g in pred.groupby("period_start", sort=True):
        v = prepare_villages(g)
        harm = np.clip(g["harm"].fillna(0.0).to_numpy(float), 0, None)
        actual = pd.Series(g["actual_weighted"].fillna(0.0).to_numpy(float), index=v["village_id"])
        expected = pd.Series(harm, index=v["village_id"])
        pools = build_pools(v, rules)
        alloc = solve(v, harm, rules, pools)
        log.info("backtest plan for %s: %d villages, solved in %.2f s (%s), gap %.1e (%s)",
                 period, len(v), alloc.seconds, alloc.method, alloc.gap, alloc.status)
        plans = {"optimized": alloc.pairs}
        for how in ("proportional", "equal"):
            plans[how] = baseline_pairs(v, harm, rules, how, pools)
        for name, pairs in plans.items():
            solved = name == "optimized"
            rows.append((period, name, float(pairs["hours"].sum()), prevented_by(pairs, expected, rules),
                         prevented_by(pairs, actual, rules), float(actual.sum()),
                         alloc.gap if solved else np.nan, alloc.seconds if solved else np.nan))
    return pd.DataFrame(rows, columns=["period_start", "strategy", "hours", "expected_prevented",
                                       "actual_prevented", "actual_weighted_total", "gap", "solve_seconds"])


def named_model(models: Sequence[str], model_version: str | None) -> str | None:
    """The backtest model named in model_version (the longest name it holds), else None."""
    names = sorted({str(m) for m in models})
    if not model_version:
        return None
    hits = [m for m in names if model_version == m or model_version.startswith(m) or m in model_version]
    return max(hits, key=len) if hits else None


def champion_model(models: Sequence[str], model_version: str | None,
                   metrics: pd.DataFrame | None = None) -> str | None:
    """The backtest model behind the scores: named in model_version, else best mean PEI*."""
    names = sorted({str(m) for m in models})
    if not names:
        return None
    named = named_model(names, model_version)
    if named is not None:
        return named
    if metrics is not None and len(metrics):
        pei = metrics[(metrics["metric"] == "pei_star") & metrics["model"].isin(names)]
        if len(pei) and pei["value"].notna().any():
            return str(pei.groupby("model")["value"].mean().idxmax())
    return names[0]



def plan_period(risk: pd.DataFrame, villages: pd.DataFrame | None, period_start: date, run_id: str,
                rules: Rules, language: str = "en") -> tuple[pd.DataFrame, pd.DataFrame, Allocation]:
    """Solve and check the plan of one period from its gold.village_risk rows (village_id,
    township_id, probability, expected_weighted_count, rank) and silver.villages (county_id).

    The Allocation returned carries the solve time, the proven bound and the gap of the plan.
    """
    r = risk[["village_id", "township_id", "probability", "expected_weighted_count", "rank"]]
    if r.empty:
        raise AllocationInputError(f"gold.village_risk has no rows for period {period_start}")
    if villages is not None and "county_id" in villages.columns:
        r = r.merge(villages[["village_id", "county_id"]], on="village_id", how="left")
    r = r.sort_values("village_id").reset_index(drop=True)
    harm = r["expected_weighted_count"].fillna(r["probability"]).fillna(0.0).clip(lower=0).to_numpy()
    v = prepare_villages(r)
    pools = build_pools(v, rules)
    alloc = solve(v, harm, rules, pools)
    check_plan(alloc.pairs, v, pools, rules)
    plan = plan_rows(alloc, r, period_start, run_id, rules, language)
    cap = alloc.capacity_used.assign(period_start=period_start, run_id=run_id)
    return plan, cap, alloc
