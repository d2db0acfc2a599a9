"""The optimizer against brute force and the MILP on small cases, its bound, and every rule of check_plan."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest

import models.allocation as allocation
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


@pytest.mark.parametrize("method", ["lp", "milp"])
def test_solver_matches_brute_force_when_the_curve_is_exact_at_every_plan(method):
    # Effective hours are multiples of 0.5 = segment width: the piecewise curve is exact there.
    rules = small_rules()
    harm = np.array([5.0, 1.0, 3.0])
    alloc = solve(VILLAGES, harm, rules, method=method)
    best = brute_force(VILLAGES, harm, rules, lambda e: float(rules.curve.prevented(harm, e).sum()))
    assert alloc.status == "optimal" and alloc.method == method
    # The LP's bound meets this plan: proven optimal, gap 0.
    assert alloc.bound == pytest.approx(best, abs=1e-9) and alloc.gap == pytest.approx(0.0, abs=1e-9)
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
    pwl = brute_force(VILLAGES, harm, rules,
                      lambda e: float((harm * pwl_share(rules.curve, e, rules.segment_hours)).sum()))
    exact = brute_force(VILLAGES, harm, rules, lambda e: float(rules.curve.prevented(harm, e).sum()))
    milp = solve(VILLAGES, harm, rules, method="milp")
    assert milp.objective == pytest.approx(pwl, abs=1e-7)  # the reference: optimal for what it maximises
    assert milp.prevented >= exact - 1e-3 * harm.sum()  # and within the curve's approximation
    lp = solve(VILLAGES, harm, rules)
    # The LP method's bound is a true bound and its gap is what separates the plan from it.
    assert lp.objective <= pwl + 1e-9 <= lp.bound + 2e-9
    assert lp.objective == pytest.approx(lp.bound * (1 - lp.gap), abs=1e-9)
    for alloc in (milp, lp):
        check_plan(alloc.pairs, VILLAGES, build_pools(VILLAGES, rules), rules)


def random_case(seed: int) -> tuple[pd.DataFrame, np.ndarray, Rules]:
    """3-8 villages in 1-3 townships of 1-2 counties; county, township and village pools of four
    actor types with four different weights; step 0.5 h (effective steps 0.5, 0.35, 0.25, 0.15 h
    against 0.5 h segments), a floor and a cap."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    town = rng.integers(0, int(rng.integers(1, 4)), n)
    villages = pd.DataFrame({"village_id": [f"V{i}" for i in range(n)], "township_id": [f"T{t}" for t in town],
                             "county_id": [f"C{t % int(rng.integers(1, 3))}" for t in town]})
    rules = Rules(
        capacity={"police": {"scope": "county", "hours": float(rng.integers(1, 8))},
                  "auxiliary_police": {"scope": "county", "hours": float(rng.integers(0, 8))},
                  "joint_defense": {"scope": "township", "hours": float(rng.integers(0, 4))},
                  "village_committee": {"scope": "village", "hours": float(rng.integers(0, 3))}},
        effectiveness={"police": 1.0, "auxiliary_police": 0.7, "joint_defense": 0.5, "village_committee": 0.3},
        curve=ResponseCurve(max_effect=0.3, h0_hours=3.0),
        floor_hours=float(rng.integers(0, 2)), cap_hours=float(rng.integers(2, 6)),
        step_hours=0.5, segment_hours=0.5, mip_gap=0.0,
    )
    return villages, rng.gamma(1.0, 3.0, n), rules


@pytest.mark.parametrize("seed", range(12))
def test_lp_method_against_the_milp_on_random_small_cases(seed):
    villages, harm, rules = random_case(seed)
    try:
        milp = solve(villages, harm, rules, method="milp")  # mip_gap 0: the integer optimum
    except AllocationInfeasibleError:
        with pytest.raises(AllocationInfeasibleError, match="floor"):
            solve(villages, harm, rules)
        return
    lp = solve(villages, harm, rules)
    check_plan(lp.pairs, villages, build_pools(villages, rules), rules)
    assert milp.status == "optimal"
    assert lp.objective <= milp.objective + 1e-9  # no plan beats the optimum ...
    assert lp.bound >= milp.objective - 1e-9  # ... and the bound is above it
    assert lp.gap >= (milp.objective - lp.objective) / lp.bound - 1e-12  # the gap never understates
    if lp.status == "optimal":  # proven (gap 0 at mip_gap 0): then it is the optimum
        assert lp.objective == pytest.approx(milp.objective, abs=1e-6)


def test_lp_method_equals_the_milp_on_most_random_small_cases():
    # Not on all of them (the method is not exact, see the next test): of these 40 seeded cases
    # 39 have a plan; it finds the MILP's optimum in 34 and is at most 0.1% below it in the
    # others (measured when written; a weaker result fails).
    same, worst = 0, 0.0
    for seed in range(40):
        villages, harm, rules = random_case(seed)
        try:
            milp = solve(villages, harm, rules, method="milp")
        except AllocationInfeasibleError:
            continue
        lp = solve(villages, harm, rules)
        same += abs(lp.objective - milp.objective) <= 1e-6
        worst = max(worst, (milp.objective - lp.objective) / milp.objective)
    assert same >= 34 and worst <= 0.001


def test_a_whole_step_cannot_be_split_so_the_lp_bound_is_above_the_best_plan():
    # One police hour (steps of 1 h), segments of 0.5 h, harm 1.2 and 1.0, g(e) = 0.5 (1 - exp(-2e)).
    # g's slope drops from 0.63 to 0.23 at 0.5 h, so the LP gives each village half an hour:
    # (1.2 + 1.0) g(0.5) = 0.6953. A plan gives the hour to one village: 1.2 g(1) = 0.5188 (V1)
    # or 1.0 g(1) = 0.4323 (V2). Best plan V1, proven gap 1 - 0.5188 / 0.6953 = 25.4%.
    villages = pd.DataFrame({"village_id": ["V1", "V2"], "township_id": ["T1", "T1"]})
    rules = Rules(capacity={"police": {"scope": "county", "hours": 1}}, effectiveness={"police": 1.0},
                  curve=ResponseCurve(max_effect=0.5, h0_hours=0.5), floor_hours=0.0, cap_hours=1.0,
                  step_hours=1.0, segment_hours=0.5, mip_gap=0.0)
    g = lambda e: 0.5 * (1 - math.exp(-2 * e))  # noqa: E731
    lp = solve(villages, [1.2, 1.0], rules)
    milp = solve(villages, [1.2, 1.0], rules, method="milp")
    for alloc in (lp, milp):
        p = alloc.pairs.set_index("village_id")["hours"]
        assert p.to_dict() == {"V1": 1.0, "V2": 0.0}
        assert alloc.objective == pytest.approx(1.2 * g(1), abs=1e-12)
    assert lp.bound == pytest.approx(2.2 * g(0.5), abs=1e-9)
    assert lp.gap == pytest.approx(1 - 1.2 * g(1) / (2.2 * g(0.5)), abs=1e-9)
    assert lp.status == "feasible"  # proven within 25.4%, not within mip_gap 0


def test_bound_holds_for_any_prices():
    # Weak duality: every choice of prices >= 0 bounds every plan that meets the rules.
    villages, harm, rules = random_case(3)
    best = solve(villages, harm, rules, method="milp").objective
    v = allocation.prepare_villages(villages)
    pools = build_pools(v, rules)
    pr = allocation._pairs(v, pools)
    e = pr["actor_type"].map(rules.effectiveness).to_numpy() * rules.step_hours
    steps, cap, floor = allocation._steps(rules, pools)
    knots, share = allocation._grid(rules)
    rng = np.random.default_rng(0)
    for scale in (0.0, 0.01, 0.1, 1.0):
        lam, alpha, beta = (rng.uniform(0, scale, k) for k in (len(pools), len(v), len(v)))
        bound = allocation._dual_bound(lam, alpha, beta, pr["v"].to_numpy(), pr["pool"].to_numpy(), e,
                                       harm, steps, cap, floor, knots, share)
        assert bound >= best - 1e-9


def test_parts_batches_and_windows_do_not_change_the_plan(monkeypatch):
    # Three counties solved in one LP, one LP each, and with segment windows that must move.
    rng = np.random.default_rng(5)
    villages = pd.DataFrame({"village_id": [f"V{i:03d}" for i in range(240)],
                             "township_id": [f"T{i // 20}" for i in range(240)],
                             "county_id": [f"C{i // 80}" for i in range(240)]})
    harm = rng.gamma(0.8, 1.5, 240)
    from conf import load_yaml

    rules = Rules.from_section(load_yaml("allocation.yaml"))
    base = solve(villages, harm, rules)
    check_plan(base.pairs, villages, build_pools(villages, rules), rules)
    per_county = sum(solve(g, harm[g.index], rules).objective for _, g in villages.groupby("county_id"))
    assert base.objective == pytest.approx(per_county, rel=1e-12)
    monkeypatch.setattr(allocation, "_BATCH_VILLAGES", 80)
    monkeypatch.setattr(allocation, "_WINDOW", 0)
    monkeypatch.setattr(allocation, "_COARSE", 40)
    solved = []
    real = allocation._lp_pieces
    monkeypatch.setattr(allocation, "_lp_pieces", lambda *a: solved.append(1) or real(*a))
    small = solve(villages, harm, rules)
    assert len(solved) > 2 * 3  # some windows moved: more than two LPs per county
    assert small.bound == pytest.approx(base.bound, rel=1e-7)
    assert small.gap <= 1e-4 and base.gap <= 1e-4


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

    section = load_yaml("allocation.yaml")
    rules = Rules.from_section(section)
    assert rules.stop_minutes == 15 and set(rules.capacity) == set(rules.effectiveness)
    assert (rules.floor_hours, rules.cap_hours, rules.mip_gap) == (
        section["floor_hours"], section["cap_hours"], section["mip_gap"])
    assert rules.method == "lp"
    # A derived rule set is checked like the one from the settings: no floor above the cap,
    # no unknown method.
    with pytest.raises(AllocationConfigError, match="floor_hours"):
        dataclasses.replace(rules, floor_hours=rules.cap_hours + 1)
    with pytest.raises(AllocationConfigError, match="method"):
        dataclasses.replace(rules, method="greedy")
