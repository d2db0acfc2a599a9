"""The optimizer against brute force on small cases, and every rule of check_plan."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from models.allocation import (
    AllocationConfigError,
    AllocationConstraintError,
    AllocationInfeasibleError,
    ResponseCurve,
    Rules,
    build_pools,
    check_plan,
    pwl_share,
    solve,
)

VILLAGES = pd.DataFrame({"village_id": ["V1", "V2", "V3"], "township_id": ["T1", "T1", "T2"]})


def small_rules(**kw) -> Rules:
    base = dict(
        capacity={"police": {"scope": "county", "hours": 4}, "volunteer": {"scope": "township", "hours": 2}},
        effectiveness={"police": 1.0, "volunteer": 0.5},
        curve=ResponseCurve(max_effect=0.5, h0_hours=2.0),
        floor_hours=1.0, cap_hours=3.0, step_hours=1.0, segment_hours=0.5, mip_gap=0.0,
    )
    base.update(kw)
    return Rules(**base)


def brute_force(villages: pd.DataFrame, harm: np.ndarray, rules: Rules, value) -> float:
    """Best value over every integer-step plan that meets every rule (exhaustive enumeration)."""
    pools = build_pools(villages, rules)
    pairs = []  # (village index, pool index)
    for p_idx, pool in enumerate(pools):
        key = {"county": "county_id", "township": "township_id", "village": "village_id"}[pool.scope]
        col = villages[key] if key in villages else pd.Series("county", index=villages.index)
        pairs += [(i, p_idx) for i in np.flatnonzero(col.astype(str).to_numpy() == pool.scope_id)]
    top = int(rules.cap_hours / rules.step_hours)
    best = -math.inf
    for steps in itertools.product(range(top + 1), repeat=len(pairs)):
        hours = np.array(steps, float) * rules.step_hours
        tot, eff, used = np.zeros(len(villages)), np.zeros(len(villages)), np.zeros(len(pools))
        for (i, p), h in zip(pairs, hours, strict=True):
            tot[i] += h
            eff[i] += h * rules.effectiveness[pools[p].actor_type]
            used[p] += h
        if (tot < rules.floor_hours - 1e-9).any() or (tot > rules.cap_hours + 1e-9).any():
            continue
        if any(used[p] > pools[p].hours + 1e-9 for p in range(len(pools))):
            continue
        best = max(best, value(eff))
    return best


def test_solver_matches_brute_force_when_the_curve_is_exact_at_every_plan():
    # Effective hours are multiples of 0.5 = segment width: the piecewise curve is exact there.
    rules = small_rules()
    harm = np.array([5.0, 1.0, 3.0])
    alloc = solve(VILLAGES, harm, rules)
    best = brute_force(VILLAGES, harm, rules, lambda e: float(rules.curve.prevented(harm, e).sum()))
    assert alloc.status == "optimal"
    assert alloc.prevented == pytest.approx(best, abs=1e-9)
    assert alloc.objective == pytest.approx(best, abs=1e-9)
    check_plan(alloc.pairs, VILLAGES, build_pools(VILLAGES, rules), rules)
    # By hand: police fill V1 (harm 5) to its cap, V3 (harm 3) takes its own township's
    # volunteers plus the last police hour, and T1's volunteers have only V2 left.
    # Value 5 g(3) + 3 g(2) + 1 g(1) = 1.9422 + 0.9482 + 0.1967 with g(e) = 0.5 (1 - exp(-e / 2)).
    p = alloc.pairs[alloc.pairs["hours"] > 0].set_index(["village_id", "actor_type"])["hours"]
    assert p.to_dict() == {("V1", "police"): 3.0, ("V2", "volunteer"): 2.0,
                           ("V3", "police"): 1.0, ("V3", "volunteer"): 2.0}
    assert alloc.prevented == pytest.approx(3.0871, abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_solver_matches_brute_force_on_random_small_cases(seed):
    rng = np.random.default_rng(seed)
    rules = small_rules(
        effectiveness={"police": 1.0, "volunteer": 0.7},
        capacity={"police": {"scope": "county", "hours": int(rng.integers(2, 6))},
                  "volunteer": {"scope": "township", "hours": int(rng.integers(1, 3))}},
        floor_hours=float(rng.integers(0, 2)),
    )
    harm = rng.gamma(1.0, 3.0, 3)
    alloc = solve(VILLAGES, harm, rules)
    pwl = brute_force(VILLAGES, harm, rules,
                      lambda e: float((harm * pwl_share(rules.curve, e, rules.segment_hours)).sum()))
    exact = brute_force(VILLAGES, harm, rules, lambda e: float(rules.curve.prevented(harm, e).sum()))
    assert alloc.objective == pytest.approx(pwl, abs=1e-7)  # optimal for what it maximises
    assert alloc.prevented >= exact - 1e-3 * harm.sum()  # and within the curve's approximation
    check_plan(alloc.pairs, VILLAGES, build_pools(VILLAGES, rules), rules)


def test_police_hours_go_where_local_teams_cannot_reach():
    # V3 has a big harm but no volunteers of its own township (T2 pool is 0 h); police cover it.
    rules = small_rules(
        capacity={"police": {"scope": "county", "hours": 3}, "volunteer": {"scope": "township", "hours": 3}},
        overrides={"volunteer": {"T2": 0}}, floor_hours=0.0,
    )
    alloc = solve(VILLAGES, np.array([4.0, 4.0, 4.0]), rules)
    p = alloc.pairs.set_index(["village_id", "actor_type"])["hours"]
    assert p[("V3", "police")] == 3.0 - p[("V1", "police")] - p[("V2", "police")]
    assert p[("V3", "volunteer")] == 0.0
    assert p[("V1", "volunteer")] + p[("V2", "volunteer")] == 3.0
    used = alloc.capacity_used.set_index(["actor_type", "scope_id"])["used_hours"]
    assert used[("police", "county")] == 3.0 and used[("volunteer", "T1")] == 3.0


def test_infeasible_floor_raises():
    rules = small_rules(capacity={"police": {"scope": "county", "hours": 2},
                                  "volunteer": {"scope": "township", "hours": 0}})
    with pytest.raises(AllocationInfeasibleError, match="floor"):
        solve(VILLAGES, np.array([1.0, 1.0, 1.0]), rules)


def test_local_only_actor_with_county_scope_is_refused():
    with pytest.raises(AllocationConfigError, match="own village or township"):
        small_rules(capacity={"volunteer": {"scope": "county", "hours": 5}})


def _plan(rows):
    return pd.DataFrame(rows, columns=["village_id", "actor_type", "scope_id", "hours"])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("V1", "police", "county", 3), ("V2", "police", "county", 2), ("V3", "volunteer", "T2", 1)],
         "police pool of county county: 5.0 h planned, capacity 4.0 h"),
        ([("V1", "police", "county", 1), ("V2", "police", "county", 1)], "1 villages below the floor"),
        ([("V1", "police", "county", 2), ("V1", "volunteer", "T1", 2), ("V2", "police", "county", 1),
          ("V3", "police", "county", 1)], "above the cap of 3.0 h"),
        ([("V1", "police", "county", 1), ("V2", "police", "county", 1), ("V3", "volunteer", "T1", 1)],
         "volunteer hours spent outside their own township"),
        ([("V1", "police", "county", 1.5), ("V2", "police", "county", 1), ("V3", "police", "county", 1)],
         "not in steps of 1.0 h"),
    ],
)
def test_check_plan_names_each_broken_rule(rows, message):
    rules = small_rules()
    with pytest.raises(AllocationConstraintError, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_plan(_plan(rows), VILLAGES, build_pools(VILLAGES, rules), rules)


def test_check_plan_accepts_a_valid_hand_plan():
    rules = small_rules()
    rows = [("V1", "police", "county", 2), ("V1", "volunteer", "T1", 1), ("V2", "volunteer", "T1", 1),
            ("V3", "police", "county", 2), ("V3", "volunteer", "T2", 1)]
    check_plan(_plan(rows), VILLAGES, build_pools(VILLAGES, rules), rules)


def test_rules_from_the_project_settings_are_valid():
    from conf import load_yaml

    rules = Rules.from_section(load_yaml("allocation.yaml"))
    assert rules.stop_minutes == 15 and set(rules.capacity) == set(rules.effectiveness)
    assert dataclasses.replace(rules, floor_hours=0.0).floor_hours == 0.0
