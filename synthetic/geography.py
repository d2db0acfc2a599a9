"""County geography and village structure: townships, villages around seats, terrain,
police stations and posts, base population, vulnerability and organization strength.

Deterministic from (seed, number of villages, parameters) and cheap (30 000 villages in well
under a second), so every shard (and every Spark task) rebuilds it instead of shipping it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TERRAINS = ("plain", "hill", "mountain")
KM_PER_DEG_LAT = 111.0


@dataclass(frozen=True)
class County:
    """The generated area: one row per village with its true attributes, and shard of each township."""

    villages: pd.DataFrame
    n_shards: int
    survey_plan: dict[int, dict[str, int]]  # wave year offset -> village_id -> responses


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent, reproducible random stream for one component of the simulation."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *key]))


def _names(rng: np.random.Generator, chars: str, n: int, suffix: str | list[str]) -> np.ndarray:
    pool = np.array(list(chars))
    a, b = rng.choice(pool, n), rng.choice(pool, n)
    suffixes = np.array(suffix if isinstance(suffix, list) else [suffix])
    return np.char.add(np.char.add(a, b), rng.choice(suffixes, n))


def _township_sizes(rng: np.random.Generator, n_villages: int, g: dict[str, Any]) -> np.ndarray:
    n_town = max(1, round(n_villages / g["villages_per_township"]))
    weights = rng.dirichlet(np.full(n_town, float(g["township_size_concentration"])))
    return 1 + rng.multinomial(n_villages - n_town, weights)


def _place_villages(rng: np.random.Generator, size: int, radius: float, min_sep: float) -> np.ndarray:
    """Offsets (km) of a township's villages from its seat; the seat is first, at (0, 0)."""
    pts = [(0.0, 0.0)]
    while len(pts) < size:
        for _ in range(50):
            r = rng.gamma(2.0, radius / 2.0)
            a = rng.uniform(0, 2 * math.pi)
            x, y = r * math.cos(a), r * math.sin(a)
            if all((x - px) ** 2 + (y - py) ** 2 >= min_sep**2 for px, py in pts):
                break
        pts.append((x, y))
    return np.array(pts)


def _elevation(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
    """A smooth random field: a few random plane waves of the configured length scale."""
    z = np.zeros_like(x)
    for _ in range(6):
        ang, phase = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
        k = 2 * math.pi / (scale * rng.uniform(0.7, 1.5))
        z += np.sin(k * (x * math.cos(ang) + y * math.sin(ang)) + phase)
    return z


def _z(a: np.ndarray) -> np.ndarray:
    sd = a.std()
    return (a - a.mean()) / sd if sd > 0 else np.zeros_like(a)


def build_county(seed: int, n_villages: int, params: dict[str, Any]) -> County:
    """Lay out townships and villages and draw every static (start-of-simulation) attribute."""
    g, pop, st = params["geography"], params["population"], params["structure"]
    rng = rng_for(seed, 0)
    sizes = _township_sizes(rng, n_villages, g)
    n_town = len(sizes)
    side = math.ceil(math.sqrt(n_town))
    spacing = float(g["township_spacing_km"])
    tx = (np.arange(n_town) % side) * spacing + rng.normal(0, g["township_jitter_km"], n_town)
    ty = (np.arange(n_town) // side) * spacing + rng.normal(0, g["township_jitter_km"], n_town)
    tx, ty = tx - tx.mean(), ty - ty.mean()

    town = np.repeat(np.arange(n_town), sizes)
    offsets = np.vstack(
        [_place_villages(rng, int(s), g["village_radius_km"], g["village_min_separation_km"]) for s in sizes]
    )
    x, y = tx[town] + offsets[:, 0], ty[town] + offsets[:, 1]
    seq = np.concatenate([np.arange(1, s + 1) for s in sizes])
    is_seat = seq == 1
    dist_seat = np.hypot(offsets[:, 0], offsets[:, 1])

    # Terrain from a smooth field plus distance from the seat (remote villages sit higher).
    elev = _elevation(rng, x, y, g["terrain_field_scale_km"]) + 0.25 * dist_seat
    shares = g["terrain_shares"]
    q1 = np.quantile(elev, shares["plain"])
    q2 = np.quantile(elev, shares["plain"] + shares["hill"])
    terrain = np.where(elev <= q1, "plain", np.where(elev <= q2, "hill", "mountain"))
    terrain_idx = np.where(elev <= q1, 0, np.where(elev <= q2, 1, 2))
    winding = np.array([g["road_winding"][t] for t in TERRAINS])[terrain_idx]

    # Police: a station at every seat; posts in some other villages (more likely far away).
    p_post = g["police_post_probability"] + g["police_post_remote_bonus"] * dist_seat / 5.0
    has_post = (~is_seat) & (rng.random(n_villages) < np.clip(p_post, 0, 0.9))
    road_km = np.empty(n_villages)
    start = 0
    for s in sizes:
        sl = slice(start, start + s)
        px, py = offsets[sl, 0], offsets[sl, 1]
        police = is_seat[sl] | has_post[sl]
        d = np.hypot(px[:, None] - px[police][None, :], py[:, None] - py[police][None, :]).min(axis=1)
        road_km[sl] = np.maximum(d * winding[sl], g["seat_road_km"])
        start += s
    remote = _z(np.log1p(road_km) + 0.5 * np.log1p(dist_seat))

    area_med = np.array([g["area_km2"][t] for t in TERRAINS])[terrain_idx]
    area = area_med * np.exp(rng.normal(0, g["area_sd"], n_villages))

    resident = pop["resident_median"] * np.exp(rng.normal(0, pop["resident_sd"], n_villages))
    resident *= np.where(is_seat, pop["seat_multiplier"], 1.0)
    resident *= np.where(terrain == "mountain", pop["mountain_multiplier"], 1.0)
    share_60 = np.clip(
        rng.normal(pop["share_60_mean"], pop["share_60_sd"], n_villages) + pop["share_60_remote"] * remote,
        *pop["share_60_range"],
    )
    share_u15 = np.clip(rng.normal(pop["share_under_15_mean"], pop["share_under_15_sd"], n_villages), 0.06, 0.3)
    migrant = np.clip(
        rng.normal(pop["migrant_rate_mean"], pop["migrant_rate_sd"], n_villages) + pop["migrant_rate_remote"] * remote,
        0.02, 0.6,
    )
    low_income = np.clip(
        rng.normal(pop["low_income_mean"], pop["low_income_sd"], n_villages) + pop["low_income_remote"] * remote,
        0.0, 0.4,
    )
    income = pop["income_median_yuan"] * np.exp(
        rng.normal(0, pop["income_sd"], n_villages) + pop["income_remote"] * remote
    )
    vulnerability = _z(_z(share_60) + _z(migrant) + _z(low_income) - _z(np.log(income)))
    strength = (
        rng.normal(0, st["org_strength_sd"], n_villages)
        + st["org_strength_seat"] * is_seat + st["org_strength_remote"] * remote
    )
    p_gamb = g["gambling_spot_probability"] * np.exp(-dist_seat / g["gambling_spot_decay_km"])
    gambling = rng.random(n_villages) < p_gamb
    market = is_seat | (rng.random(n_villages) < g["market_village_probability"])
    effect = rng.normal(0, st["village_effect_sd"], n_villages)

    # Admin codes: county = province(2) city(2) county(2); township(3); village(3).
    per_county = int(g["townships_per_county"])
    county_no = np.arange(n_town) // per_county
    city = 1 + county_no // int(g["counties_per_city"])
    cty = 1 + county_no % int(g["counties_per_city"])
    county_ids = np.array([f"{g['province_code']}{c:02d}{k:02d}" for c, k in zip(city, cty, strict=True)])
    town_seq = 1 + np.arange(n_town) % per_county
    township_ids = np.char.add(county_ids, np.array([f"{t:03d}" for t in town_seq]))
    pn = params["place_names"]
    names_rng = rng_for(seed, 0, 1)
    county_names = _names(names_rng, pn["chars"], int(county_no.max()) + 1, pn["county_suffix"])
    town_names = _names(names_rng, pn["chars"], n_town, pn["township_suffix"])
    village_names = _names(names_rng, pn["chars"], n_villages, pn["village_suffix"])

    lat0 = float(g["center_lat"])
    km_per_deg_lon = KM_PER_DEG_LAT * math.cos(math.radians(lat0))
    villages = pd.DataFrame(
        {
            "village_id": np.char.add(township_ids[town], np.array([f"{s:03d}" for s in seq])),
            "village_name": village_names,
            "township_id": township_ids[town],
            "township_name": town_names[town],
            "county_id": county_ids[town],
            "county_name": county_names[county_no[town]],
            "longitude": np.round(g["center_lon"] + x / km_per_deg_lon, 6),
            "latitude": np.round(lat0 + y / KM_PER_DEG_LAT, 6),
            "x_km": x,
            "y_km": y,
            "area_km2": np.round(area, 2),
            "terrain": terrain,
            "is_seat": is_seat,
            "has_police_post": has_post,
            "road_km_police": np.round(road_km, 2),
            "dist_seat_km": np.round(dist_seat, 2),
            "remoteness": remote,
            "resident_pop": np.round(resident).astype(int),
            "share_60": share_60,
            "share_under_15": share_u15,
            "migrant_rate": migrant,
            "low_income_rate": low_income,
            "income_yuan": income,
            "vulnerability": vulnerability,
            "org_strength": strength,
            "gambling_spot": gambling,
            "market_village": market,
            "village_effect": effect,
            "township_index": town,
            "shard": town // int(params["engine"]["shard_townships"]),
        }
    )
    n_shards = int(villages["shard"].max()) + 1
    return County(villages=villages, n_shards=n_shards, survey_plan={})


def plan_survey(county: County, seed: int, years: int, params: dict[str, Any]) -> County:
    """County-wide survey sample: each yearly wave spreads its questionnaires over sampled villages."""
    sv = params["survey"]
    rng = rng_for(seed, 0, 2)
    ids = county.villages["village_id"].to_numpy()
    plan: dict[int, dict[str, int]] = {}
    for wave in range(years):
        k = min(int(sv["villages_per_wave"]), len(ids))
        chosen = np.sort(rng.choice(len(ids), k, replace=False))
        n = rng.multinomial(int(sv["responses_per_wave"]), np.full(k, 1.0 / k))
        plan[wave] = {str(ids[i]): int(c) for i, c in zip(chosen, n, strict=True) if c > 0}
    return County(villages=county.villages, n_shards=county.n_shards, survey_plan=plan)
