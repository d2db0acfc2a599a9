"""Patrol allocation: spend each actor type's hours where they prevent the most expected harm.

The model (docs/allocation.md): village v with expected harm R_v (expected weighted incident
count) and effective hours E_v = sum_a w_a h_va (w_a = deterrence of an hour of actor type a
relative to a police hour) prevents R_v * max_effect * (1 - exp(-E_v / h0)). Hours come from
pools (actor type x county / township / village) that may only be spent in their scope; every
village gets at least a floor and at most a cap. The curve is concave, so its piecewise-linear
interpolation has decreasing slopes and the problem is a mixed-integer linear programme
(integer steps of hours) that HiGHS solves to optimality via scipy.optimize.milp.
"""

from __future__ import annotations

import math
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
    status: str


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
          pools: Sequence[Pool] | None = None) -> Allocation:
    """Optimal integer-step hours per village and actor type (scipy.optimize.milp, HiGHS)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    v = prepare_villages(villages)
    r = np.asarray(harm, float)
    if len(r) != len(v) or not np.all(np.isfinite(r)) or (r < 0).any():
        raise AllocationInputError("harm must hold one finite value >= 0 per village")
    pools = list(pools) if pools is not None else build_pools(v, rules)
    pr = _pairs(v, pools)
    n_v, n_p = len(v), len(pr)
    step = rules.step_hours
    w = pr["actor_type"].map(rules.effectiveness).to_numpy(float)
    max_steps = math.floor(rules.cap_hours / step + 1e-9)
    max_eff = rules.cap_hours * max(rules.effectiveness[a] for a in rules.capacity)
    widths, slopes = segment_slopes(rules.curve, max_eff, rules.segment_hours)
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
        raise AllocationInfeasibleError(
            f"no plan meets the rules ({res.message.strip()}): check that every village has a pool "
            f"and that the pools hold its floor of {rules.floor_hours} h"
        )
    hours = np.rint(res.x[:n_p]) * step
    return _assemble(v, r, pr, pools, hours, rules, "optimal" if res.status == 0 else "time_limit")


def _assemble(v: pd.DataFrame, r: np.ndarray, pr: pd.DataFrame, pools: Sequence[Pool],
              hours: np.ndarray, rules: Rules, status: str) -> Allocation:
    pairs = pd.DataFrame({
        "village_id": v["village_id"].to_numpy()[pr["v"].to_numpy(int)] if len(pr) else [],
        "township_id": v["township_id"].to_numpy()[pr["v"].to_numpy(int)] if len(pr) else [],
        "actor_type": pr["actor_type"].to_numpy(),
        "scope": [pools[p].scope for p in pr["pool"]],
        "scope_id": [pools[p].scope_id for p in pr["pool"]],
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
