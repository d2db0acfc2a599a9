"""The monthly data-generating process of one shard (a group of independent townships).

Month by month: patrol sessions per village and actor (police partly follow last month's
recorded incidents), deterrence from the patrol dose, the true intensity per village and
category (structure x season x trend + near-repeat excitation from the village and its
neighbours), true counts, and who records them (patrol, citizens, video). Separate random
streams for crime, patrols and detection keep the true crime draws identical when only
patrol levels change and deterrence is off (a property the tests use).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from features.calendar import festival_dates
from synthetic.assets import active_counts

CATEGORIES = (
    "theft", "burglary", "livestock_theft", "crop_theft", "fraud", "telecom_fraud", "dispute",
    "assault", "domestic_violence", "gambling", "drugs", "public_order", "traffic", "fire", "other",
)
ACTORS = ("police", "auxiliary_police", "joint_defense", "volunteer", "security_company", "village_committee")
ACTOR_ORG = {"joint_defense": "joint_defense_team", "volunteer": "volunteer_patrol", "security_company": "security_company"}


@dataclass
class World:
    """Everything drawn for one shard, month by month (arrays are months x villages [x ...])."""

    month_starts: np.ndarray      # datetime64[D], months + 1 (the last is the end)
    lam: np.ndarray               # true expected count (months, villages, categories)
    true_n: np.ndarray            # true counts
    patrol_found: np.ndarray      # recorded, found by patrol
    reported: np.ndarray          # recorded otherwise
    sessions: np.ndarray          # patrol sessions (months, villages, actors)
    dose: np.ndarray              # effective patrol person-hours per 1000 residents (months, villages)
    cameras: np.ndarray           # working cameras on the 1st (months, villages)
    resident: np.ndarray          # resident population in force (months, villages)
    share_60: np.ndarray          # 60+ share in force (months, villages)


def month_starts(start: date, months: int) -> np.ndarray:
    base = np.datetime64(start.replace(day=1), "M")
    return (base + np.arange(months + 1)).astype("datetime64[D]")


def by_category(table: dict[str, Any], default: float | None = None) -> np.ndarray:
    """A per-category parameter table as an array in CATEGORIES order (`default` key or value)."""
    d = table.get("default", default)
    return np.array([float(table.get(c, d if d is not None else 0.0)) for c in CATEGORIES])


def spring_festival_factor(starts: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """(months, categories) multiplier: share of the festival window inside each month."""
    sf = p["spring_festival"]
    mult = by_category(sf["multiplier"], 1.0)
    out = np.ones((len(starts) - 1, len(CATEGORIES)))
    years = {int(str(s)[:4]) for s in starts}
    for y in sorted(years | {min(years) - 1, max(years) + 1}):
        d = np.datetime64(festival_dates(y)[0].isoformat(), "D")  # the lunar new year
        lo, hi = d - int(sf["days_before"]), d + int(sf["days_after"])
        length = int((hi - lo) / np.timedelta64(1, "D"))
        a = np.maximum(starts[:-1], lo)
        b = np.minimum(starts[1:], hi)
        overlap = np.clip((b - a) / np.timedelta64(1, "D"), 0, None) / length
        out *= 1 + overlap[:, None] * (mult - 1)[None, :]
    return out


def seasonal_factor(starts: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """(months, categories) calendar-month multipliers times the Spring Festival effect."""
    cal = np.ones((12, len(CATEGORIES)))
    for cat, by_month in (p["seasonality"] or {}).items():
        for month, mult in by_month.items():
            cal[int(month) - 1, CATEGORIES.index(cat)] = float(mult)
    months = starts[:-1].astype("datetime64[M]").astype(int) % 12
    return cal[months] * spring_festival_factor(starts, p)


def category_shares(v: pd.DataFrame, p: dict[str, Any], pop: dict[str, Any]) -> np.ndarray:
    """(villages, categories) category mix by village profile."""
    feats = {
        "plain": (v["terrain"] == "plain").to_numpy(float),
        "hill": (v["terrain"] == "hill").to_numpy(float),
        "mountain": (v["terrain"] == "mountain").to_numpy(float),
        "remoteness": v["remoteness"].to_numpy(),
        "seat": v["is_seat"].to_numpy(float),
        "gambling_spot": v["gambling_spot"].to_numpy(float),
        "market_village": v["market_village"].to_numpy(float),
        "vulnerability": v["vulnerability"].to_numpy(),
        "share_60": ((v["share_60"] - pop["share_60_mean"]) / pop["share_60_sd"]).to_numpy(),
        "left_behind": ((v["migrant_rate"] - pop["migrant_rate_mean"]) / pop["migrant_rate_sd"]).to_numpy(),
    }
    logw = np.log(by_category(p["category_share"]))[None, :].repeat(len(v), 0)
    for cat, coefs in (p["category_profile"] or {}).items():
        j = CATEGORIES.index(cat)
        for name, coef in coefs.items():
            logw[:, j] += float(coef) * feats[name]
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def structural_rate(v: pd.DataFrame, p: dict[str, Any]) -> np.ndarray:
    """Log-rate multiplier of each village from its structure (size enters monthly via population)."""
    c = p["coef"]
    return np.exp(
        c["vulnerability"] * v["vulnerability"].to_numpy()
        + c["remoteness"] * v["remoteness"].to_numpy()
        + c["seat"] * v["is_seat"].to_numpy()
        + c["gambling_spot"] * v["gambling_spot"].to_numpy()
        + c["market_village"] * v["market_village"].to_numpy()
        + v["village_effect"].to_numpy()
    )


def neighbour_matrix(v: pd.DataFrame, p: dict[str, Any]) -> sparse.csr_matrix:
    """Row-normalised weights exp(-d/scale) to villages of the same township within the radius."""
    ex = p["excitation"]
    blocks = []
    for _, g in v.groupby("township_index", sort=True):
        x, y = g["x_km"].to_numpy(), g["y_km"].to_numpy()
        d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        w = np.where((d <= ex["neighbour_radius_km"]) & (d > 0), np.exp(-d / ex["neighbour_scale_km"]), 0.0)
        s = w.sum(axis=1, keepdims=True)
        blocks.append(np.divide(w, s, out=np.zeros_like(w), where=s > 0))
    return sparse.block_diag(blocks, format="csr")


def active_orgs(orgs: pd.DataFrame, org_type: str, days: np.ndarray, n_v: int) -> np.ndarray:
    """(months, villages) True where an organization of the type is active on the 1st."""
    o = orgs[orgs["org_type"] == org_type]
    counts = active_counts(o["v"].to_numpy(), o["established_on"].to_numpy(), o["dissolved_on"].to_numpy(), days, n_v)
    return counts > 0


def simulate(
    v: pd.DataFrame,
    pop_years: pd.DataFrame,
    orgs: pd.DataFrame,
    res: pd.DataFrame,
    starts: np.ndarray,
    rngs: dict[str, np.random.Generator],
    params: dict[str, Any],
) -> World:
    """Run the shard month by month and return every drawn quantity."""
    ip, pp, popp = params["incidents"], params["patrols"], params["population"]
    n_m, n_v, n_c = len(starts) - 1, len(v), len(CATEGORIES)
    year_idx = np.arange(n_m) // 12
    resident = pop_years.pivot(index="year_index", columns="v", values="resident_pop").to_numpy(float)[year_idx]
    share_60 = pop_years.pivot(index="year_index", columns="v", values="share_60").to_numpy(float)[year_idx]

    shares = category_shares(v, ip, popp)
    base = ip["base_per_1000"] * structural_rate(v, ip)[:, None] * shares
    season = seasonal_factor(starts, ip)
    trend = np.exp(by_category(ip["trend_per_year"], 0.0)[None, :] * (np.arange(n_m) / 12.0)[:, None])
    telecom = CATEGORIES.index("telecom_fraud")
    elderly = (share_60 / popp["share_60_mean"]) ** ip["telecom_elderly_elasticity"]

    ex = ip["excitation"]
    a_self, a_nb, lag2 = by_category(ex["self"]), by_category(ex["neighbour"]), ex["lag2_decay"]
    w_nb = neighbour_matrix(v, ip)
    det, dt = ip["deterrence"], ip["detection"]
    p_max, p_rep = by_category(dt["patrol_max"]), by_category(dt["report"], 0.6)

    actors = pp["actors"]
    ph = np.array([actors[a]["hours"] * actors[a]["personnel"] for a in ACTORS])
    eff = np.array([actors[a]["effectiveness"] for a in ACTORS])
    month_days = starts[:-1]
    org_active = {a: active_orgs(orgs, t, month_days, n_v) for a, t in ACTOR_ORG.items()}
    cams = res[res["resource_type"] == "camera"]
    # working cameras: installed and not yet broken
    cameras = active_counts(cams["v"].to_numpy(), cams["installed_on"].to_numpy(), cams["broken_on"].to_numpy(),
                            month_days, n_v)

    town = v["township_index"].to_numpy()
    _, town = np.unique(town, return_inverse=True)
    town_villages = np.bincount(town).astype(float)

    lam = np.zeros((n_m, n_v, n_c), np.float32)
    true_n = np.zeros((n_m, n_v, n_c), np.int32)
    found = np.zeros_like(true_n)
    reported = np.zeros_like(true_n)
    sessions = np.zeros((n_m, n_v, len(ACTORS)), np.int32)
    dose = np.zeros((n_m, n_v))
    mult = float(pp["intensity_multiplier"])
    prev_rec = np.zeros(n_v)

    for m in range(n_m):
        pop_k = resident[m]
        means = np.zeros((n_v, len(ACTORS)))
        for j, a in enumerate(ACTORS):
            c = actors[a]
            if a in ("police", "auxiliary_police"):
                pop_w = pop_k / np.bincount(town, pop_k)[town]
                inc_w = (prev_rec + 0.5) / np.bincount(town, prev_rec + 0.5)[town]
                f = float(c["follow_incidents"])
                means[:, j] = c["sessions"] * town_villages[town] * ((1 - f) * pop_w + f * inc_w)
            elif a in ACTOR_ORG:
                means[:, j] = c["sessions"] * org_active[a][m]
            else:
                means[:, j] = c["sessions"]
        s = rngs["patrol"].poisson(means * mult)
        sessions[m] = s
        person_hours = (s * ph).sum(axis=1)
        dose[m] = (s * ph * eff).sum(axis=1) / (pop_k / 1000.0)
        deter = 1 - det["max_reduction"] * (1 - np.exp(-dose[m] / det["dose_scale"]))

        mu = base * (pop_k / 1000.0)[:, None] ** ip["size_elasticity"] * season[m] * trend[m]
        mu[:, telecom] *= elderly[m]
        n1 = true_n[m - 1] if m >= 1 else np.zeros((n_v, n_c))
        n2 = true_n[m - 2] if m >= 2 else np.zeros((n_v, n_c))
        excite = a_self * (n1 + lag2 * n2) + a_nb * (w_nb @ n1)
        lam[m] = deter[:, None] * (mu + excite)
        true_n[m] = rngs["crime"].poisson(lam[m])

        p_found = p_max[None, :] * (1 - np.exp(-person_hours / dt["patrol_hours_scale"]))[:, None]
        found[m] = rngs["detect"].binomial(true_n[m], p_found)
        reported[m] = rngs["detect"].binomial(true_n[m] - found[m], p_rep[None, :])
        prev_rec = (found[m] + reported[m]).sum(axis=1).astype(float)

    return World(starts, lam, true_n, found, reported, sessions, dose, cameras, resident, share_60)
