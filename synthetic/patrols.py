"""Patrol sessions drawn from the simulated world: shifts, crews, modes, distances, checkpoints."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthetic.assets import ORG_TYPES
from synthetic.process import ACTOR_ORG, ACTORS, World

SECOND = np.timedelta64(1, "s")
UNIT_CODE = {"police": "PS", "auxiliary_police": "FJ"}


def build_patrols(w: World, v: pd.DataFrame, rng: np.random.Generator, params: dict[str, Any]) -> pd.DataFrame:
    """One row per patrol session: shift by actor, crew, mode, distance, optional checkpoints."""
    pp = params["patrols"]
    m, vi, a = np.nonzero(w.sessions)
    k = w.sessions[m, vi, a]
    m, vi, a = np.repeat(m, k), np.repeat(vi, k), np.repeat(a, k)
    n = len(m)
    cfg = [pp["actors"][x] for x in ACTORS]
    col = lambda key: np.array([c[key] for c in cfg], float)[a]  # noqa: E731 - per-actor column
    night = rng.random(n) < col("night_share")
    shift = lambda key, k: np.array([c[key][k] for c in cfg])[a]  # noqa: E731
    lo = np.where(night, shift("night_start", 0), shift("day_start", 0))
    hi = np.where(night, shift("night_start", 1), shift("day_start", 1))
    start_min = (lo * 60 + rng.random(n) * (hi - lo + 1) * 60).astype(int) // 5 * 5
    days = ((w.month_starts[m + 1] - w.month_starts[m]) / np.timedelta64(1, "D")).astype(int)
    day = (rng.random(n) * days).astype(int)
    started = w.month_starts[m].astype("datetime64[s]") + day * np.timedelta64(1, "D") + start_min * 60 * SECOND
    hours = np.clip(np.exp(np.log(col("hours")) + rng.normal(0, pp["hours_sd"], n)), 0.5, col("max_hours"))
    seconds = (hours * 3600).astype(int) // 60 * 60
    ended = started + seconds * SECOND
    personnel = 1 + rng.poisson(col("personnel") - 1)

    modes = np.empty(n, dtype=object)
    for j, c in enumerate(cfg):
        sel = a == j
        names, probs = list(c["mode"]), np.array(list(c["mode"].values()), float)
        modes[sel] = np.array(names)[rng.choice(len(names), int(sel.sum()), p=probs / probs.sum())]
    speed = pd.Series(modes, dtype=object).map(pp["speed_kmh"]).to_numpy(float)
    lo_m, hi_m = pp["moving_share"]
    dist = np.round(speed * seconds / 3600 * rng.uniform(lo_m, hi_m, n), 1)
    dist = np.where(rng.random(n) < pp["distance_missing_share"], np.nan, dist)

    ids = v["village_id"].to_numpy()
    towns = v["township_id"].to_numpy()
    unit = np.empty(n, dtype=object)
    for j, x in enumerate(ACTORS):
        sel = a == j
        if x in UNIT_CODE:
            u = 1 + rng.integers(0, int(pp["actors"][x]["units_per_station"]), int(sel.sum()))
            unit[sel] = [f"{t}{UNIT_CODE[x]}{k:02d}" for t, k in zip(towns[vi[sel]], u, strict=True)]
        elif x in ACTOR_ORG:
            t = ORG_TYPES.index(ACTOR_ORG[x]) + 1
            unit[sel] = [f"O{i}{t:02d}" for i in ids[vi[sel]]]
        else:
            unit[sel] = ["C" + i for i in ids[vi[sel]]]

    df = pd.DataFrame({
        "m": m, "v": vi, "unit_id": unit, "unit_type": np.array(ACTORS)[a], "village_id": ids[vi],
        "started_at": started, "ended_at": ended, "personnel": personnel, "mode": modes, "distance_km": dist,
    })
    df = df.sort_values(["m", "v", "started_at", "unit_type"], kind="stable").reset_index(drop=True)
    yyyymm = np.char.replace(w.month_starts.astype("datetime64[M]").astype(str), "-", "")
    seq = df.groupby(["m", "v"]).cumcount().to_numpy() + 1
    df["patrol_id"] = [f"P{i}{ym}{s:04d}" for i, ym, s in zip(df["village_id"], yyyymm[df["m"]], seq, strict=True)]
    df["checkpoints"] = _checkpoints(df, v, rng, pp)
    return df


def _checkpoints(df: pd.DataFrame, v: pd.DataFrame, rng: np.random.Generator, pp: dict[str, Any]) -> np.ndarray:
    """JSON text of a few {lon, lat, at} points near the village for sessions whose app records them
    (the string 'null' otherwise)."""
    share = np.array([pp["actors"][x]["checkpoints_share"] for x in ACTORS])
    actor = pd.Categorical(df["unit_type"], categories=ACTORS).codes
    has = np.flatnonzero(rng.random(len(df)) < share[actor])
    out = np.full(len(df), "null", dtype=object)
    if len(has) == 0:
        return out
    lo, hi = pp["checkpoints"]
    k = rng.integers(lo, hi + 1, len(has))
    sess = np.repeat(has, k)
    frac = rng.random(len(sess))
    order = np.lexsort((frac, sess))
    sess, frac = sess[order], frac[order]
    st, en = df["started_at"].to_numpy()[sess], df["ended_at"].to_numpy()[sess]
    at = st + ((en - st) / SECOND * frac).astype(int) * SECOND
    vi = df["v"].to_numpy()[sess]
    spread = pp["checkpoint_spread_km"] / 111.0
    lon = np.char.mod("%.6f", v["longitude"].to_numpy()[vi] + rng.normal(0, spread, len(sess)))
    lat = np.char.mod("%.6f", v["latitude"].to_numpy()[vi] + rng.normal(0, spread, len(sess)))
    at_s = np.datetime_as_string(at.astype("datetime64[s]"), unit="s")
    offset = pp["timestamp_offset"]
    points = [f'{{"lon":{a},"lat":{b},"at":"{c}{offset}"}}' for a, b, c in zip(lon.tolist(), lat.tolist(), at_s.tolist(), strict=True)]
    bounds = np.cumsum(k)[:-1]
    for i, group in zip(has, np.split(np.array(points, dtype=object), bounds), strict=True):
        out[i] = "[" + ",".join(group) + "]"
    return out
