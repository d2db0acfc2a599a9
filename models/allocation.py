"""Patrol allocation: spend each actor type's hours where they prevent the most expected harm.

The model (docs/allocation.md): village v with expected harm R_v (expected weighted incident
count) and effective hours E_v = sum_a w_a h_va (w_a = deterrence of an hour of actor type a
relative to a police hour) prevents R_v * max_effect * (1 - exp(-E_v / h0)). Hours come from
pools (actor type x county / township / village) that may only be spent in their scope; every
village gets at least a floor and at most a cap. The curve is concave, so its piecewise-linear
interpolation has decreasing slopes: an LP over the segments solves the problem with continuous
hours exactly and bounds the integer-step one; solve() rounds the LP plan to steps without
breaking a rule, improves it by exchange moves and reports the proven gap to that bound. The
mixed-integer programme (scipy.optimize.milp) stays available as the reference (method="milp").
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

ACTOR_TYPES = (
    "police", "auxiliary_police", "joint_defense", "volunteer", "security_company",
    "village_committee",
)
SCOPES = ("county", "township", "village")
METHODS = ("lp", "milp")
_TOL = 1e-6


class AllocationConfigError(ValueError):
    """The allocation settings (conf/allocation.yaml) hold a value of the wrong kind."""


class AllocationInputError(ValueError):
    """The villages or risk rows given to the optimizer are not what it expects."""


class AllocationInfeasibleError(ValueError):
    """No plan meets every rule (e.g. the floors need more hours than the pools hold)."""


class AllocationConstraintError(ValueError):
    """A plan breaks a rule: raised by check_plan, never silently ignored."""


@dataclass(frozen=True)
class ResponseCurve:
    """Share of expected harm prevented by E effective hours: max_effect * (1 - exp(-E / h0))."""

    max_effect: float
    h0_hours: float

    def share(self, effective_hours: Any) -> Any:
        return self.max_effect * (1.0 - np.exp(-np.asarray(effective_hours, float) / self.h0_hours))

    def prevented(self, harm: Any, effective_hours: Any) -> Any:
        return np.asarray(harm, float) * self.share(effective_hours)


@dataclass(frozen=True)
class Rules:
    """Capacity and rules of one plan, as plain values (built from conf/allocation.yaml)."""

    capacity: Mapping[str, Mapping[str, Any]]
    effectiveness: Mapping[str, float]
    curve: ResponseCurve
    floor_hours: float = 2.0
    cap_hours: float = 40.0
    step_hours: float = 0.5
    segment_hours: float = 0.5
    stop_minutes: float = 15.0
    local_only: tuple[str, ...] = ("joint_defense", "volunteer", "village_committee")
    overrides: Mapping[str, Mapping[str, float]] | None = None
    time_limit_seconds: float = 60.0
    mip_gap: float = 1e-4
    method: str = "lp"

    def __post_init__(self) -> None:
        for actor, spec in self.capacity.items():
            if actor not in ACTOR_TYPES:
                raise AllocationConfigError(f"capacity.{actor}: unknown actor type, expected one of {ACTOR_TYPES}")
            if spec.get("scope") not in SCOPES:
                raise AllocationConfigError(f"capacity.{actor}.scope must be one of {SCOPES}")
            if float(spec.get("hours", -1)) < 0:
                raise AllocationConfigError(f"capacity.{actor}.hours must be a number >= 0")
            if actor in self.local_only and spec["scope"] == "county":
                raise AllocationConfigError(
                    f"capacity.{actor}: {actor} may only work in its own village or township, "
                    "so its scope must be township or village, not county"
                )
            if float(self.effectiveness.get(actor, -1)) <= 0:
                raise AllocationConfigError(f"effectiveness.{actor} must be a number > 0")
        if not 0 <= self.floor_hours <= self.cap_hours:
            raise AllocationConfigError("floor_hours must be between 0 and cap_hours")
        for name in ("step_hours", "segment_hours", "stop_minutes"):
            if getattr(self, name) <= 0:
                raise AllocationConfigError(f"{name} must be > 0")
        if self.curve.h0_hours <= 0 or not 0 < self.curve.max_effect <= 1:
            raise AllocationConfigError("response.h0_hours must be > 0 and max_effect in (0, 1]")
        if self.method not in METHODS:
            raise AllocationConfigError(f"method must be one of {METHODS}, got {self.method!r}")

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Rules:
        """Rules from the `allocation` settings section (a plain mapping)."""
        try:
            response = section["response"]
            return cls(
                capacity={k: dict(v) for k, v in section["capacity"].items()},
                effectiveness={k: float(v) for k, v in section["effectiveness"].items()},
                curve=ResponseCurve(float(response["max_effect"]), float(response["h0_hours"])),
                floor_hours=float(section["floor_hours"]),
                cap_hours=float(section["cap_hours"]),
                step_hours=float(section["step_hours"]),
                segment_hours=float(section["segment_hours"]),
                stop_minutes=float(section["stop_minutes"]),
                local_only=tuple(section.get("local_only") or ()),
                overrides={k: dict(v) for k, v in (section.get("overrides") or {}).items()},
                time_limit_seconds=float(section.get("time_limit_seconds", 60)),
                mip_gap=float(section.get("mip_gap", 1e-4)),
                method=str(section.get("method", "lp")),
            )
        except (KeyError, TypeError) as exc:
            raise AllocationConfigError(f"allocation settings: missing or malformed {exc}") from None


@dataclass(frozen=True)
class Pool:
    actor_type: str
    scope: str
    scope_id: str
    hours: float


@dataclass
class Allocation:
    """The solved plan of one period."""

    pairs: pd.DataFrame  # village_id, township_id, actor_type, scope, scope_id, hours
    villages: pd.DataFrame  # village_id, township_id, harm, hours, effective_hours, prevented
    capacity_used: pd.DataFrame  # actor_type, scope, scope_id, capacity_hours, used_hours
    objective: float  # harm prevented under the piecewise-linear curve the solver sees
    prevented: float  # harm prevented under the exact curve
    status: str  # "optimal" (proven within mip_gap), "feasible" (rules hold, gap above) or "time_limit"
    bound: float = math.nan  # proven upper bound on the objective of any plan that meets the rules
    gap: float = math.nan  # (bound - objective) / bound: how far from the best plan at most
    seconds: float = 0.0  # wall time of solve()
    method: str = ""  # "lp" or "milp"


def _scope_key(scope: str) -> str:
    return {"county": "county_id", "township": "township_id", "village": "village_id"}[scope]


def prepare_villages(villages: pd.DataFrame) -> pd.DataFrame:
    """village_id, township_id, county_id (filled with 'county' when absent) as strings."""
    missing = {"village_id", "township_id"} - set(villages.columns)
    if missing:
        raise AllocationInputError(f"villages need columns village_id and township_id; missing {sorted(missing)}")
    out = villages.copy()
    if "county_id" not in out.columns:
        out["county_id"] = "county"
    out["county_id"] = out["county_id"].fillna("county")
    if out["village_id"].isna().any() or out["village_id"].duplicated().any():
        raise AllocationInputError("villages must have one row per non-null village_id")
    for c in ("village_id", "township_id", "county_id"):
        out[c] = out[c].astype(str)
    return out.reset_index(drop=True)


def build_pools(villages: pd.DataFrame, rules: Rules) -> list[Pool]:
    """One pool per actor type and scope unit present among the villages (overrides applied)."""
    v = prepare_villages(villages)
    pools: list[Pool] = []
    for actor in ACTOR_TYPES:
        spec = rules.capacity.get(actor)
        if spec is None:
            continue
        over = (rules.overrides or {}).get(actor, {})
        for unit in sorted(v[_scope_key(spec["scope"])].unique()):
            pools.append(Pool(actor, spec["scope"], unit, float(over.get(unit, spec["hours"]))))
    return pools


def _pairs(v: pd.DataFrame, pools: Sequence[Pool]) -> pd.DataFrame:
    """Every (village, pool) the pool's scope allows, with the actor's type; sorted by pool, then village."""
    frames = []
    for scope in SCOPES:
        own = [(p_idx, pool.scope_id, pool.actor_type) for p_idx, pool in enumerate(pools) if pool.scope == scope]
        if not own:
            continue
        units = pd.DataFrame(own, columns=["pool", "unit", "actor_type"])
        where = pd.DataFrame({"v": np.arange(len(v)), "unit": v[_scope_key(scope)].to_numpy()})
        frames.append(where.merge(units, on="unit")[["v", "pool", "actor_type"]])
    if not frames:
        return pd.DataFrame({"v": pd.Series(dtype=int), "pool": pd.Series(dtype=int),
                             "actor_type": pd.Series(dtype=object)})
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["pool", "v"], kind="stable").reset_index(drop=True).astype({"v": int, "pool": int})


def segment_slopes(curve: ResponseCurve, max_effective: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Widths and slopes of the piecewise-linear interpolation of the curve's share on [0, max]."""
    n = max(1, math.ceil(max_effective / width - 1e-9))
    knots = np.minimum(np.arange(n + 1) * width, max_effective)
    widths = np.diff(knots)
    slopes = np.diff(curve.share(knots)) / np.where(widths > 0, widths, 1.0)
    return widths, slopes


def pwl_share(curve: ResponseCurve, effective: Any, width: float) -> np.ndarray:
    """The piecewise-linear share (what the solver maximises) at given effective hours."""
    e = np.asarray(effective, float)
    knots = np.arange(0, math.floor(e.max(initial=0) / width) + 2) * width
    return np.interp(e, knots, curve.share(knots))


def solve(villages: pd.DataFrame, harm: Sequence[float], rules: Rules,
          pools: Sequence[Pool] | None = None, method: str | None = None) -> Allocation:
    """Integer-step hours per village and actor type that prevent the most harm, with a proven bound.

    method "lp" (the default, `rules.method`): the LP over the curve's segments for each
    independent part of the county, a vertex rounding that keeps every rule, and exchange moves;
    `bound` is a Lagrangian upper bound on the best integer plan. method "milp": the
    mixed-integer programme (scipy.optimize.milp, HiGHS), kept as the reference.
    """
    started = time.perf_counter()
    method = method or rules.method
    if method not in METHODS:
        raise AllocationConfigError(f"allocation method must be one of {METHODS}, got {method!r}")
    v = prepare_villages(villages)
    r = np.asarray(harm, float)
    if len(r) != len(v) or not np.all(np.isfinite(r)) or (r < 0).any():
        raise AllocationInputError("harm must hold one finite value >= 0 per village")
    pools = list(pools) if pools is not None else build_pools(v, rules)
    pr = _pairs(v, pools)
    if method == "milp":
        hours, status, bound = _solve_milp(v, r, pr, pools, rules)
    else:
        hours, bound = _solve_lp(v, r, pr, pools, rules)
        status = ""
    alloc = _assemble(v, r, pr, pools, hours, rules, status)
    alloc.bound = max(float(bound), alloc.objective)
    alloc.gap = (alloc.bound - alloc.objective) / alloc.bound if alloc.bound > 0 else 0.0
    if method == "lp":
        alloc.status = "optimal" if alloc.gap <= rules.mip_gap + _GAP_TOL else "feasible"
    alloc.method = method
    alloc.seconds = time.perf_counter() - started
    return alloc


def _infeasible(message: str, rules: Rules) -> AllocationInfeasibleError:
    return AllocationInfeasibleError(
        f"no plan meets the rules ({message.strip()}): check that every village has a pool "
        f"and that the pools hold its floor of {rules.floor_hours} h"
    )


def _solve_milp(v: pd.DataFrame, r: np.ndarray, pr: pd.DataFrame, pools: Sequence[Pool],
                rules: Rules) -> tuple[np.ndarray, str, float]:
    """The reference: integer steps and segment variables in one MILP (HiGHS), hours, status, bound."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    n_v, n_p = len(v), len(pr)
    step = rules.step_hours
    w = pr["actor_type"].map(rules.effectiveness).to_numpy(float)
    max_steps = math.floor(rules.cap_hours / step + 1e-9)
    widths, slopes = segment_slopes(rules.curve, _max_effective(rules), rules.segment_hours)
    k = len(widths)
    # Variables: n (integer steps per pair), then y (effective hours per village and segment).
    c = np.concatenate([np.zeros(n_p), -(r[:, None] * slopes[None, :]).ravel()])
    y_index = n_p + np.arange(n_v * k).reshape(n_v, k)
    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(row_cols: np.ndarray, row_vals: np.ndarray, lower: float, upper: float) -> None:
        rows.extend([len(lo)] * len(row_cols))
        cols.extend(row_cols.tolist())
        vals.extend(np.broadcast_to(row_vals, row_cols.shape).tolist())
        lo.append(lower)
        hi.append(upper)

    by_village = pr.groupby("v").groups
    for i in range(n_v):
        idx = np.asarray(by_village.get(i, []), int)
        # sum_k y_ik <= sum_a w_a h_ia : effective hours are bought with hours.
        add(np.concatenate([y_index[i], idx]), np.concatenate([np.ones(k), -w[idx] * step]), -np.inf, 0.0)
        add(idx, np.full(len(idx), step), rules.floor_hours, rules.cap_hours)
    for p_idx, members in pr.groupby("pool").groups.items():
        add(np.asarray(members, int), np.full(len(members), step), -np.inf, pools[p_idx].hours)
    a = coo_matrix((vals, (rows, cols)), shape=(len(lo), n_p + n_v * k)).tocsr()
    res = milp(
        c,
        constraints=LinearConstraint(a, lo, hi),
        integrality=np.concatenate([np.ones(n_p), np.zeros(n_v * k)]),
        bounds=Bounds(np.zeros(n_p + n_v * k), np.concatenate([np.full(n_p, max_steps), np.tile(widths, n_v)])),
        options={"time_limit": rules.time_limit_seconds, "mip_rel_gap": rules.mip_gap},
    )
    if res.x is None:
        raise _infeasible(res.message, rules)
    bound = -float(res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else math.inf
    return np.rint(res.x[:n_p]) * step, "optimal" if res.status == 0 else "time_limit", bound


# --- The LP method -----------------------------------------------------------------------------
#
# Work in integer steps: n_j steps on pair j (village v(j), pool p(j)), each worth e_j = w_a * step
# effective hours. A pool holds N_p = floor(hours / step) steps, a village takes between F and C
# steps. The objective of a plan is sum_v R_v g(E_v), g the piecewise-linear share with knots
# every segment_hours (pwl_share), E_v = sum_j e_j n_j.
#
# 1. LP. With n continuous, y_vk in [0, width] and sum_k y_vk <= E_v, maximising
#    sum_v R_v sum_k slope_k y_vk is exactly max sum_v R_v g(E_v) (slopes decrease, so a maximiser
#    fills the segments in order). Its optimum is an upper bound on every integer plan. The
#    villages split into independent parts (no pool reaches two parts: one county each with the
#    usual scopes); parts are solved in batches of about _BATCH_VILLAGES villages.
# 2. Rounding. The pool and village rows form the incidence matrix of a bipartite graph
#    (pools x villages: every pair is in one pool row and one village row), so the matrix is
#    totally unimodular and, with integral bounds, every vertex of
#    {floor(n*) <= n <= ceil(n*), pools, floors, caps} is integral. That box holds the LP plan n*,
#    so it is not empty, and a simplex vertex of it is an integer plan that meets every rule.
# 3. Exchange moves, each applied only when it raises the objective: a pool's spare step to a
#    village; a step of one pool from one village to another; two villages trading a step of two
#    actor types (or one village trading for a type with spare hours). Totals, floors, caps and
#    pools are kept by every move.
# 4. Bound. For pool prices lam_p >= 0 and village prices a_v, b_v >= 0 (cap, floor), every plan
#    is worth at most  sum_p lam_p N_p + sum_v [a_v C - b_v F + max_E (R_v g(E) - rho_v E)],
#    rho_v = min_j (lam_p(j) + a_v - b_v) / e_j  (weak duality). With the LP's duals this is the
#    LP optimum; it is computed here from the prices, independent of the LP's primal tolerances.
#
# The integer plan is not always optimal: hours of different effectiveness in one concave curve
# make the integer problem a knapsack-like one, and the LP bound can be strictly above the best
# integer plan (docs/allocation.md has a three-village example). `gap` is the proven distance.

_BATCH_VILLAGES = 400
_GAP_TOL = 1e-9


def _max_effective(rules: Rules) -> float:
    return rules.cap_hours * max((rules.effectiveness[a] for a in rules.capacity), default=1.0)


def _grid(rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Knots every segment_hours from 0 past the largest effective hours, and g at them (as pwl_share)."""
    width = rules.segment_hours
    n = max(1, math.ceil(_max_effective(rules) / width - 1e-9))
    knots = np.arange(n + 1) * width
    return knots, rules.curve.share(knots)


def _steps(rules: Rules, pools: Sequence[Pool]) -> tuple[np.ndarray, int, int]:
    s = rules.step_hours
    pool_steps = np.array([math.floor(p.hours / s + 1e-9) for p in pools], dtype=np.int64)
    return pool_steps, math.floor(rules.cap_hours / s + 1e-9), math.ceil(rules.floor_hours / s - 1e-9)


def _batches(n_v: int, pv: np.ndarray, pp: np.ndarray, n_pools: int) -> list[np.ndarray]:
    """Villages grouped into independent parts (connected by pools), packed into batches."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    size = n_v + n_pools
    graph = coo_matrix((np.ones(len(pv)), (pv, n_v + pp)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    order = np.argsort(label[:n_v], kind="stable")
    parts = np.split(order, np.flatnonzero(np.diff(label[:n_v][order])) + 1)
    out, current = [], []
    for part in parts:
        if current and sum(map(len, current)) + len(part) > _BATCH_VILLAGES:
            out.append(np.sort(np.concatenate(current)))
            current = []
        current.append(part)
    if current:
        out.append(np.sort(np.concatenate(current)))
    return out


def _solve_lp(v: pd.DataFrame, r: np.ndarray, pr: pd.DataFrame, pools: Sequence[Pool],
              rules: Rules) -> tuple[np.ndarray, float]:
    n_v = len(v)
    pv, pp = pr["v"].to_numpy(np.int64), pr["pool"].to_numpy(np.int64)
    e = pr["actor_type"].map(rules.effectiveness).to_numpy(float) * rules.step_hours
    pool_steps, cap_s, floor_s = _steps(rules, pools)
    knots, share = _grid(rules)
    n = np.zeros(len(pr), dtype=np.int64)
    lam, alpha, beta = np.zeros(len(pools)), np.zeros(n_v), np.zeros(n_v)
    for villages in _batches(n_v, pv, pp, len(pools)):
        in_batch = np.zeros(n_v, bool)
        in_batch[villages] = True
        pairs = np.flatnonzero(in_batch[pv])
        batch_pools = np.unique(pp[pairs])
        x, duals = _relaxation(villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s, floor_s,
                               knots, share, rules)
        n[pairs] = _round(x, villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s, floor_s,
                          knots, share)
        lam[batch_pools], alpha[villages], beta[villages] = duals
    n = _improve(n, pv, pp, e, r, pool_steps, cap_s, floor_s, knots, share,
                 pr["actor_type"].to_numpy())
    return n * rules.step_hours, _dual_bound(lam, alpha, beta, pv, pp, e, r, pool_steps, cap_s, floor_s,
                                             knots, share)


def _local(index: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -1, dtype=np.int64)
    out[index] = np.arange(len(index))
    return out


def _rows(pairs: np.ndarray, villages: np.ndarray, batch_pools: np.ndarray, pv: np.ndarray,
          pp: np.ndarray, n_v: int, n_pools: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Local pool and village row of each pair of a batch."""
    lp_ = _local(batch_pools, n_pools)[pp[pairs]]
    lv = _local(villages, n_v)[pv[pairs]]
    return lp_, lv, len(batch_pools), len(villages)


_COARSE = 8  # first pass: segments of 8 x segment_hours, to place each village's window
_WINDOW = 6  # second pass: this many fine segments either side of the first pass's effective hours


def _relaxation(villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s, floor_s, knots, share,
                rules):
    """LP over the segments for one batch: steps per pair and the duals (pools, caps, floors).

    Solved on a few segments per village: first on a coarse grid, then with the fine segments of
    a window around each village's effective hours and two tangent pieces outside it. Tangents
    lie above a concave curve, so that LP's curve is never below the true one and equals it on
    the window; when every village ends inside its window the LP plan is optimal for the true
    curve too (otherwise the windows move and it is solved again).
    """
    k = len(knots) - 1
    slopes = np.diff(share) / np.diff(knots)
    n_vil = len(villages)
    coarse = np.r_[np.arange(0, k, _COARSE), k]
    c_slope = np.diff(share[coarse]) / np.diff(knots[coarse])
    x, duals, eff, _ = _lp_pieces(villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s, floor_s,
                                  np.repeat(np.arange(n_vil), len(c_slope)), np.tile(c_slope, n_vil),
                                  np.tile(np.diff(knots[coarse]), n_vil), np.zeros(n_vil), rules)
    at = np.clip(np.searchsorted(knots, eff, side="right") - 1, 0, k - 1)
    lo, hi = np.maximum(at - _WINDOW, 0), np.minimum(at + _WINDOW, k - 1)
    for _ in range(k):
        below, above = lo > 0, hi < k - 1
        count = below + (hi - lo + 1) + above
        piece_v = np.repeat(np.arange(n_vil), count)
        offset = np.arange(len(piece_v)) - np.repeat(np.cumsum(count) - count, count)
        seg = np.repeat(lo - below, count) + offset  # the segment whose slope each piece takes
        width = knots[seg + 1] - knots[seg]
        first, last = offset == 0, offset == np.repeat(count - 1, count)
        width[first & np.repeat(below, count)] = knots[lo[below]]  # tangent of segment lo-1 from 0
        width[last & np.repeat(above, count)] = knots[k] - knots[hi[above] + 1]  # of hi+1 to the end
        const = np.where(below, share[lo] - slopes[np.maximum(lo - 1, 0)] * knots[lo], 0.0)
        x, duals, eff, _ = _lp_pieces(villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s,
                                      floor_s, piece_v, slopes[seg], width, const, rules)
        at = np.clip(np.searchsorted(knots, eff, side="right") - 1, 0, k - 1)
        outside = (at < lo - 1) | (at > hi + 1)
        if not outside.any():
            return x, duals
        lo = np.where(outside, np.minimum(lo, np.maximum(at - _WINDOW, 0)), lo)
        hi = np.where(outside, np.maximum(hi, np.minimum(at + _WINDOW, k - 1)), hi)
    raise RuntimeError("allocation LP: the segment windows did not settle")


def _lp_pieces(villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s, floor_s,
               piece_v, piece_slope, piece_width, const, rules):
    """max sum_v R_v (const_v + sum of its pieces' slope x y) over steps, pieces filled in order."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    lp_, lv, n_pool, n_vil = _rows(pairs, villages, batch_pools, pv, pp, len(r), len(pool_steps))
    m, q = len(pairs), len(piece_v)
    cols = np.arange(m)
    # rows: pools, caps, floors (negated), effective hours (sum of y_v - sum_j e_j n_j <= 0)
    r_idx = np.concatenate([lp_, n_pool + lv, n_pool + n_vil + lv, n_pool + 2 * n_vil + lv,
                            n_pool + 2 * n_vil + piece_v])
    c_idx = np.concatenate([cols, cols, cols, cols, m + np.arange(q)])
    vals = np.concatenate([np.ones(m), np.ones(m), -np.ones(m), -e[pairs], np.ones(q)])
    a = coo_matrix((vals, (r_idx, c_idx)), shape=(n_pool + 3 * n_vil, m + q)).tocsc()
    b = np.concatenate([pool_steps[batch_pools], np.full(n_vil, cap_s), np.full(n_vil, -floor_s),
                        np.zeros(n_vil)]).astype(float)
    c = np.concatenate([np.zeros(m), -r[villages][piece_v] * piece_slope])
    bounds = np.column_stack([np.zeros(m + q), np.concatenate([np.full(m, np.inf), piece_width])])
    res = linprog(c, A_ub=a, b_ub=b, bounds=bounds, method="highs-ds")
    if res.status == 2:
        raise _infeasible(res.message, rules)
    if res.status != 0:
        raise RuntimeError(f"allocation LP failed: {res.message}")
    dual = np.maximum(-res.ineqlin.marginals, 0.0)
    x = res.x[:m]
    eff = np.bincount(lv, weights=e[pairs] * x, minlength=n_vil)
    value = -res.fun + float(r[villages] @ const)
    return x, (dual[:n_pool], dual[n_pool:n_pool + n_vil], dual[n_pool + n_vil:n_pool + 2 * n_vil]), eff, value


def _round(x, villages, pairs, batch_pools, pv, pp, e, r, pool_steps, cap_s, floor_s, knots, share):
    """An integral vertex of {floor(x) <= n <= ceil(x), pools, floors, caps} (totally unimodular)."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    lp_, lv, n_pool, n_vil = _rows(pairs, villages, batch_pools, pv, pp, len(r), len(pool_steps))
    m = len(pairs)
    lo = np.floor(x + 1e-7)
    hi = np.maximum(np.ceil(x - 1e-7), lo)
    if np.array_equal(lo, hi):
        return lo.astype(np.int64)
    # Linear guide: the value of a step at the LP plan (mean slope around each village's E).
    eff = np.bincount(lv, weights=e[pairs] * x, minlength=n_vil)
    half = (knots[1] - knots[0]) / 2
    slope = (np.interp(eff + half, knots, share) - np.interp(np.maximum(eff - half, 0), knots, share)) \
        / np.maximum(eff + half - np.maximum(eff - half, 0), 1e-12)
    c = -(e[pairs] * (r[villages] * slope)[lv])
    cols = np.arange(m)
    a = coo_matrix((np.concatenate([np.ones(m), np.ones(m), -np.ones(m)]),
                    (np.concatenate([lp_, n_pool + lv, n_pool + n_vil + lv]), np.tile(cols, 3))),
                   shape=(n_pool + 2 * n_vil, m)).tocsc()
    b = np.concatenate([pool_steps[batch_pools], np.full(n_vil, cap_s), np.full(n_vil, -floor_s)]).astype(float)
    res = linprog(c, A_ub=a, b_ub=b, bounds=np.column_stack([lo, hi]), method="highs-ds")
    if res.status != 0:  # only if the LP plan sat outside the rules by more than its tolerance
        res = linprog(c, A_ub=a, b_ub=b, bounds=(0, None), method="highs-ds")
    out = np.rint(res.x) if res.x is not None else None
    if out is None or np.abs(res.x - out).max() > 1e-6:
        raise RuntimeError("allocation rounding did not return an integral vertex")
    return out.astype(np.int64)


def _dual_bound(lam, alpha, beta, pv, pp, e, r, pool_steps, cap_s, floor_s, knots, share) -> float:
    """Weak-duality upper bound on every plan (any prices >= 0 give one; see the notes above)."""
    q_min = np.full(len(r), np.inf)
    np.minimum.at(q_min, pv, lam[pp] + alpha[pv])
    beta = np.minimum(beta, np.where(np.isfinite(q_min), q_min, 0.0))  # keeps every pair's price >= 0
    rho = np.full(len(r), np.inf)
    np.minimum.at(rho, pv, (lam[pp] + alpha[pv] - beta[pv]) / e)
    rho = np.maximum(rho, 0.0)
    finite = np.isfinite(rho)
    best = np.zeros(len(r))
    if finite.any():
        vals = r[finite, None] * share[None, :] - rho[finite, None] * knots[None, :]
        best[finite] = vals.max(axis=1)
    return float(lam @ pool_steps + alpha.sum() * cap_s - beta.sum() * floor_s + best.sum())


def _best(keys: np.ndarray, vals: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of the (up to) k largest finite values of each key, as (n_keys, k); -1 where none.

    keys are group numbers 0..n_keys-1 (n_keys = keys.max() + 1).
    """
    n_keys = int(keys.max()) + 1 if len(keys) else 0
    out = np.full((n_keys, k), -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(vals))
    if not len(ok):
        return out
    order = ok[np.lexsort((-vals[ok], keys[ok]))]
    ks = keys[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    rank = np.arange(len(ks)) - np.repeat(starts, np.diff(np.r_[starts, len(ks)]))
    keep = rank < k
    out[ks[keep], rank[keep]] = order[keep]
    return out


def _improve(n, pv, pp, e, r, pool_steps, cap_s, floor_s, knots, share, actor, per_group=8):
    """Exchange moves on an integer plan until none raises the objective (every rule is kept).

    Moves: a pool's spare step to a village; a step of a pool from one village to another of its
    scope; two villages of the same two pools trading a step of one type for a step of the other;
    a village trading a step for one of a more effective type that has spare steps. Candidates
    are scored together, then applied one by one after checking them again on the current plan.
    Only pools and groups with a village changed since they were last looked at are scored.
    """
    n = n.copy()
    n_v, n_pools = len(r), len(pool_steps)
    eff = np.bincount(pv, weights=e * n, minlength=n_v)
    tot = np.bincount(pv, weights=n, minlength=n_v).astype(np.int64)
    used = np.bincount(pp, weights=n, minlength=n_pools).astype(np.int64)
    tol = 1e-12 * (1.0 + r.sum())
    fresh_moves, fresh_trades = np.ones(n_v, bool), np.ones(n_v, bool)  # changed since last looked at

    def gain(i, d):
        return r[i] * (np.interp(eff[i] + d, knots, share) - np.interp(eff[i], knots, share))

    def touch(i) -> None:
        fresh_moves[i] = fresh_trades[i] = True

    tables = []  # per actor type: the pair of each village (-1 if none) and the type's e
    for a in np.unique(actor):
        idx = np.flatnonzero(actor == a)
        table = np.full(n_v, -1, dtype=np.int64)
        table[pv[idx]] = idx
        tables.append((table, float(e[idx[0]])))

    def pool_moves() -> int:
        active = np.zeros(n_pools, bool)
        active[pp[fresh_moves[pv]]] = True
        fresh_moves[:] = False
        sel = np.flatnonzero(active[pp])
        if not len(sel):
            return 0
        i_v = pv[sel]
        _, key = np.unique(pp[sel], return_inverse=True)
        room = np.where(tot[i_v] < cap_s, gain(i_v, e[sel]), -np.inf)
        give = np.where((n[sel] >= 1) & (tot[i_v] > floor_s), gain(i_v, -e[sel]), -np.inf)
        spare = used[pp[sel]] < pool_steps[pp[sel]]
        fill = _best(key, np.where(spare, room, -np.inf))[:, 0]
        fill = fill[fill >= 0]
        to = _best(key, room, per_group).ravel()
        frm = _best(key, give, per_group).ravel()
        ok = (to >= 0) & (frm >= 0)
        to, frm = to[ok], frm[ok]
        score = np.concatenate([room[fill], room[to] + give[frm]])
        dst = sel[np.concatenate([fill, to])]
        src = np.concatenate([np.full(len(fill), -1), sel[frm]])
        keep = score > tol
        score, dst, src = score[keep], dst[keep], src[keep]
        fresh_moves[pv[dst]] = True  # a pool with a good move is looked at again next round
        done, touched = 0, np.zeros(n_v, bool)
        for x in np.argsort(-score):
            i, j = dst[x], src[x]
            vi = pv[i]
            if touched[vi] or tot[vi] >= cap_s:
                continue
            if j < 0:
                if used[pp[i]] >= pool_steps[pp[i]] or gain(vi, e[i]) <= tol:
                    continue
                used[pp[i]] += 1
            else:
                vj = pv[j]
                if vj == vi or touched[vj] or n[j] < 1 or tot[vj] <= floor_s:
                    continue
                if gain(vi, e[i]) + gain(vj, -e[j]) <= tol:
                    continue
                n[j] -= 1
                tot[vj] -= 1
                eff[vj] -= e[j]
                touched[vj] = True
            n[i] += 1
            tot[vi] += 1
            eff[vi] += e[i]
            touched[vi] = True
            done += 1
        touch(touched)
        return done

    def trades() -> int:
        parts = []
        for ta, ea in tables:
            for tb, eb in tables:
                if eb <= ea + 1e-12:
                    continue
                vs = np.flatnonzero((ta >= 0) & (tb >= 0))
                if not len(vs):
                    continue
                ja, jb, d = ta[vs], tb[vs], eb - ea
                # a village gives a step of a for one of b from b's spare steps
                spare = np.flatnonzero((used[pp[jb]] < pool_steps[pp[jb]]) & (n[ja] >= 1))
                up = gain(vs[spare], d)
                ok = up > tol
                parts.append((up[ok], ja[spare][ok], jb[spare][ok], np.full(ok.sum(), -1), np.full(ok.sum(), -1)))
                # two villages of the same pools of a and b trade a step of a for a step of b
                group = pp[ja] * (n_pools + 1) + pp[jb]
                live = np.isin(group, np.unique(group[fresh_trades[vs]]))
                if not live.any():
                    continue
                vs, ja, jb = vs[live], ja[live], jb[live]
                _, key = np.unique(group[live], return_inverse=True)
                up = np.where(n[ja] >= 1, gain(vs, d), -np.inf)  # gives a, gets b
                down = np.where(n[jb] >= 1, gain(vs, -d), -np.inf)  # gives b, gets a
                x = _best(key, up, per_group).ravel()
                y = _best(key, down, per_group).ravel()
                ok = (x >= 0) & (y >= 0) & (x != y)
                x, y = x[ok], y[ok]
                total = up[x] + down[y]
                ok = total > tol
                parts.append((total[ok], ja[x[ok]], jb[x[ok]], ja[y[ok]], jb[y[ok]]))
        fresh_trades[:] = False
        if not parts:
            return 0
        score, a1, b1, a2, b2 = (np.concatenate(c) for c in zip(*parts, strict=True))
        fresh_trades[pv[a1]] = True  # looked at again next time
        done, touched = 0, np.zeros(n_v, bool)
        for x in np.argsort(-score):
            i, j = a1[x], b1[x]
            v1, d = pv[i], e[j] - e[i]
            if touched[v1] or n[i] < 1:
                continue
            if a2[x] < 0:
                if used[pp[j]] >= pool_steps[pp[j]] or gain(v1, d) <= tol:
                    continue
                used[pp[j]] += 1
                used[pp[i]] -= 1
            else:
                v2 = pv[a2[x]]
                if touched[v2] or n[b2[x]] < 1 or gain(v1, d) + gain(v2, -d) <= tol:
                    continue
                n[a2[x]] += 1
                n[b2[x]] -= 1
                eff[v2] -= d
                touched[v2] = True
            n[i] -= 1
            n[j] += 1
            eff[v1] += d
            touched[v1] = True
            done += 1
        touch(touched)
        return done

    while pool_moves() or trades():
        pass
    return n


def _assemble(v: pd.DataFrame, r: np.ndarray, pr: pd.DataFrame, pools: Sequence[Pool],
              hours: np.ndarray, rules: Rules, status: str) -> Allocation:
    pairs = pd.DataFrame({
        "village_id": v["village_id"].to_numpy()[pr["v"].to_numpy(int)] if len(pr) else [],
        "township_id": v["township_id"].to_numpy()[pr["v"].to_numpy(int)] if len(pr) else [],
        "actor_type": pr["actor_type"].to_numpy(),
        "scope": np.array([p.scope for p in pools] or [""], dtype=object)[pr["pool"].to_numpy(int)],
        "scope_id": np.array([p.scope_id for p in pools] or [""], dtype=object)[pr["pool"].to_numpy(int)],
        "hours": hours,
    })
    eff = pairs["hours"] * pairs["actor_type"].map(rules.effectiveness)
    tot = pairs.groupby("village_id")["hours"].sum()
    eff_v = eff.groupby(pairs["village_id"]).sum()
    vill = v[["village_id", "township_id"]].assign(
        harm=r,
        hours=v["village_id"].map(tot).fillna(0.0).to_numpy(),
        effective_hours=v["village_id"].map(eff_v).fillna(0.0).to_numpy(),
    )
    vill["prevented"] = rules.curve.prevented(vill["harm"], vill["effective_hours"])
    objective = float((r * pwl_share(rules.curve, vill["effective_hours"], rules.segment_hours)).sum())
    used = pairs.groupby(["actor_type", "scope", "scope_id"])["hours"].sum()
    used = used.to_dict()
    cap = pd.DataFrame(
        [(p.actor_type, p.scope, p.scope_id, p.hours, float(used.get((p.actor_type, p.scope, p.scope_id), 0.0)))
         for p in pools],
        columns=["actor_type", "scope", "scope_id", "capacity_hours", "used_hours"],
    )
    return Allocation(pairs, vill, cap, objective, float(vill["prevented"].sum()), status)


def check_plan(pairs: pd.DataFrame, villages: pd.DataFrame, pools: Sequence[Pool], rules: Rules) -> None:
    """Raise AllocationConstraintError listing every broken rule of a plan (hours per village and actor)."""
    v = prepare_villages(villages).set_index("village_id")
    problems: list[str] = []
    unknown = set(pairs["village_id"]) - set(v.index)
    if unknown:
        problems.append(f"hours for unknown villages {sorted(unknown)[:5]}")
    if (pairs["hours"] < -_TOL).any():
        problems.append("negative hours")
    off_step = np.abs(pairs["hours"] / rules.step_hours - np.rint(pairs["hours"] / rules.step_hours)) > _TOL
    if off_step.any():
        problems.append(f"{int(off_step.sum())} rows not in steps of {rules.step_hours} h")
    known = pairs[pairs["village_id"].isin(v.index) & (pairs["hours"] > _TOL)]
    for actor, spec in rules.capacity.items():
        rows = known[known["actor_type"] == actor]
        unit = v.loc[rows["village_id"], _scope_key(spec["scope"])].to_numpy() if spec["scope"] != "village" \
            else rows["village_id"].to_numpy()
        if "scope_id" in rows.columns and (unit != rows["scope_id"].to_numpy()).any():
            problems.append(f"{actor} hours spent outside their own {spec['scope']}")
    strangers = set(known["actor_type"]) - set(rules.capacity)
    if strangers:
        problems.append(f"hours of actor types without capacity: {sorted(strangers)}")
    totals = known.groupby("village_id")["hours"].sum().reindex(v.index, fill_value=0.0)
    low = totals[totals < rules.floor_hours - _TOL]
    high = totals[totals > rules.cap_hours + _TOL]
    if len(low):
        problems.append(f"{len(low)} villages below the floor of {rules.floor_hours} h (e.g. {low.index[0]})")
    if len(high):
        problems.append(f"{len(high)} villages above the cap of {rules.cap_hours} h (e.g. {high.index[0]})")
    by_pool = ["actor_type", "scope_id"] if "scope_id" in known.columns else ["actor_type"]
    planned = known.groupby(by_pool)["hours"].sum().to_dict()
    for pool in pools:
        hours = planned.get((pool.actor_type, pool.scope_id) if len(by_pool) == 2 else pool.actor_type, 0.0)
        if hours > pool.hours + _TOL:
            problems.append(
                f"{pool.actor_type} pool of {pool.scope} {pool.scope_id}: {hours:.1f} h "
                f"planned, capacity {pool.hours:.1f} h"
            )
    if problems:
        raise AllocationConstraintError("patrol plan breaks its rules: " + "; ".join(problems))
