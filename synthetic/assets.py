"""Population snapshots, organizations and physical resources of a shard's villages.

Each is drawn once per shard before the monthly simulation, which reads them (active
organizations drive patrols and response times; working cameras drive video detection).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

ORG_TYPES = (
    "joint_defense_team", "volunteer_patrol", "mediation_committee",
    "security_company", "grid_workers", "police_post",
)
DAY = np.timedelta64(1, "D")


def population_by_year(v: pd.DataFrame, years: int, rng: np.random.Generator, p: dict[str, Any]) -> pd.DataFrame:
    """Yearly household-registry statistics with slow drift (one row per village and year)."""
    d, noise = p["drift_per_year"], float(p["drift_noise"])
    rows = []
    n = len(v)
    for k in range(years):
        eps = rng.normal(0, noise, (4, n))
        resident = v["resident_pop"].to_numpy() * (1 + d["resident"]) ** k * np.exp(eps[0])
        share_60 = np.clip(v["share_60"].to_numpy() + d["share_60"] * k + eps[1] * 0.3, 0.1, 0.5)
        migrant = np.clip(v["migrant_rate"].to_numpy() + d["migrant_rate"] * k, 0.02, 0.7)
        low_inc = np.clip(v["low_income_rate"].to_numpy() + d["low_income"] * k, 0.0, 0.4)
        income = v["income_yuan"].to_numpy() * (1 + d["income"]) ** k * np.exp(eps[2])
        resident = np.maximum(np.round(resident), 20).astype(int)
        registered = np.round(resident / (1 - migrant)).astype(int)
        u15 = np.round(resident * v["share_under_15"].to_numpy()).astype(int)
        p60 = np.round(resident * share_60).astype(int)
        p1559 = resident - u15 - p60
        households = np.maximum(np.round(registered / p["household_size"]), 1).astype(int)
        rows.append(
            pd.DataFrame(
                {
                    "v": np.arange(n),
                    "year_index": k,
                    "households": households,
                    "registered_pop": registered,
                    "resident_pop": resident,
                    "pop_under_15": u15,
                    "pop_15_59": p1559,
                    "pop_60_plus": p60,
                    "left_behind_children": np.round(u15 * np.minimum(1, 2 * p["left_behind_children_rate"] * migrant)).astype(int),
                    "left_behind_elderly": np.round(p60 * np.minimum(1, 2 * p["left_behind_elderly_rate"] * migrant)).astype(int),
                    "migrant_workers_out": registered - resident,
                    "low_income_households": np.round(households * low_inc).astype(int),
                    "per_capita_income_yuan": np.round(income, 0),
                    "share_60": share_60,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _days_between(rng: np.random.Generator, lo: np.datetime64, hi: np.datetime64, n: int) -> np.ndarray:
    span = max(int((hi - lo) / DAY), 1)
    return lo + rng.integers(0, span, n) * DAY


def organizations(
    v: pd.DataFrame, start: np.datetime64, end: np.datetime64, rng: np.random.Generator, p: dict[str, Any]
) -> pd.DataFrame:
    """Mass-prevention and professional security organizations: presence by village strength."""
    frames = []
    n = len(v)
    strength = v["org_strength"].to_numpy()
    before = start - int(365 * p["years_before_start"]) * DAY
    for t, org_type in enumerate(ORG_TYPES):
        c = p["types"][org_type]
        logit = c["logit"] + c["strength"] * strength
        logit = logit + c.get("seat", 0) * v["is_seat"].to_numpy() + c.get("market_village", 0) * v["market_village"].to_numpy()
        present = rng.random(n) < 1 / (1 + np.exp(-logit))
        if org_type == "police_post":
            present = v["has_police_post"].to_numpy().copy()
        idx = np.flatnonzero(present)
        k = len(idx)
        early = rng.random(k) < p["established_before_start"]
        established = np.where(early, _days_between(rng, before, start, k), _days_between(rng, start, end, k))
        if org_type == "police_post":
            established = _days_between(rng, before, start, k)
        life_years = rng.exponential(1 / p["dissolve_per_year"], k)
        dissolved = established + (life_years * 365).astype(int) * DAY
        dissolved = np.where((dissolved < end) & (org_type != "police_post"), dissolved, np.datetime64("NaT"))
        members = np.maximum(1, rng.poisson(c["members"], k))
        trained_p = np.clip(c["trained"] + p["strength_trained_effect"] * strength[idx], 0, 1)
        frames.append(
            pd.DataFrame(
                {
                    "v": idx,
                    "org_type": org_type,
                    "org_id": [f"O{v['village_id'].iat[i]}{t + 1:02d}" for i in idx],
                    "members": members,
                    "trained_members": rng.binomial(members, trained_p),
                    "established_on": established.astype("datetime64[D]"),
                    "dissolved_on": dissolved.astype("datetime64[D]"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(["v", "org_type"], kind="stable").reset_index(drop=True)


def resources(
    v: pd.DataFrame, start: np.datetime64, end: np.datetime64, years: int, rng: np.random.Generator, p: dict[str, Any]
) -> pd.DataFrame:
    """Cameras installed over time (some break, some broken ones removed), alarm points, lights, police."""
    n = len(v)
    pop = v["resident_pop"].to_numpy() / 1000.0
    seat_mult = np.where(v["is_seat"].to_numpy(), p["camera_seat_multiplier"], 1.0)
    before = start - int(365 * p["years_before_start"]) * DAY
    parts = []

    def add(vidx: np.ndarray, rtype: str, installed: np.ndarray) -> None:
        parts.append(pd.DataFrame({"v": vidx, "resource_type": rtype, "installed_on": installed.astype("datetime64[D]")}))

    k0 = rng.poisson(p["cameras_initial_per_1000"] * pop * seat_mult)
    vi = np.repeat(np.arange(n), k0)
    add(vi, "camera", _days_between(rng, before, start, len(vi)))
    for y in range(years):
        ky = rng.poisson(p["cameras_per_1000_per_year"] * pop * seat_mult)
        vi = np.repeat(np.arange(n), ky)
        lo = start + 365 * y * DAY
        add(vi, "camera", _days_between(rng, lo, min(lo + 365 * DAY, end), len(vi)))
    ka = rng.poisson(p["alarm_points_per_village"], n)
    vi = np.repeat(np.arange(n), ka)
    add(vi, "alarm_point", _days_between(rng, before, end, len(vi)))
    kl = rng.poisson(p["street_lights_per_1000"] * pop)
    vi = np.repeat(np.arange(n), kl)
    add(vi, "street_light", _days_between(rng, before, end, len(vi)))
    police_start = start - 3650 * DAY
    add(np.flatnonzero(v["is_seat"].to_numpy()), "police_station", np.full(int(v["is_seat"].sum()), police_start))
    posts = np.flatnonzero(v["has_police_post"].to_numpy())
    add(posts, "police_post", _days_between(rng, before, start, len(posts)))

    r = pd.concat(parts, ignore_index=True).sort_values(["v", "installed_on", "resource_type"], kind="stable")
    r = r.reset_index(drop=True)
    m = len(r)
    breaks = r["resource_type"].isin(["camera", "street_light", "alarm_point"]).to_numpy()
    life = (rng.exponential(1 / p["camera_failure_per_year"], m) * 365).astype(int) * DAY
    broken_on = r["installed_on"].to_numpy() + life
    broken_on = np.where(breaks & (broken_on < end), broken_on, np.datetime64("NaT"))
    removed = (~np.isnat(broken_on)) & (rng.random(m) < p["broken_removed_share"])
    removed_on = np.where(removed, broken_on + int(p["removal_delay_days"]) * DAY, np.datetime64("NaT"))
    removed_on = np.where(removed_on < end, removed_on, np.datetime64("NaT"))
    r["broken_on"] = broken_on.astype("datetime64[D]")
    r["removed_on"] = removed_on.astype("datetime64[D]")
    r["seq"] = r.groupby("v").cumcount() + 1
    r["resource_id"] = ["R" + v["village_id"].iat[i] + f"{s:04d}" for i, s in zip(r["v"], r["seq"], strict=True)]
    r["has_coords"] = rng.random(m) >= p["coords_missing_share"]
    r["dx"], r["dy"] = rng.normal(0, 0.4, m), rng.normal(0, 0.4, m)
    return r


def active_counts(
    v_idx: np.ndarray, start_on: np.ndarray, end_on: np.ndarray, month_starts: np.ndarray, n_villages: int
) -> np.ndarray:
    """(months, villages) count of items active on the first day of each month."""
    out = np.zeros((len(month_starts), n_villages))
    for m, d in enumerate(month_starts):
        alive = (start_on <= d) & (np.isnat(end_on) | (end_on > d))
        out[m] = np.bincount(v_idx[alive], minlength=n_villages)
    return out
