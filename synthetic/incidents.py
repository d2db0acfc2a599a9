"""Incident records from the simulated counts: one row per version, with timestamps, source,
severity, response time, location, planted reporter data, narrative, corrections and false alarms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthetic.personal import people
from synthetic.process import CATEGORIES, World, by_category

MINUTE = np.timedelta64(1, "m")
SECOND = np.timedelta64(1, "s")

EVENTS = {
    "theft": "家中财物被盗", "burglary": "有人夜间入室盗窃", "livestock_theft": "圈里的牛羊被人偷走",
    "crop_theft": "地里的庄稼被人偷收", "fraud": "被人以投资为名骗走钱款", "telecom_fraud": "接到冒充公检法的电话被骗转账",
    "dispute": "与邻居因宅基地发生纠纷", "assault": "被人殴打受伤", "domestic_violence": "遭受家庭暴力",
    "gambling": "有人聚众赌博", "drugs": "发现有人吸毒", "public_order": "有人酒后滋事扰乱秩序",
    "traffic": "路口发生交通事故", "fire": "柴草堆起火", "other": "有可疑人员出没",
}


def _times_in_month(rng: np.random.Generator, starts: np.ndarray, m: np.ndarray, night: np.ndarray) -> np.ndarray:
    """Local timestamps inside month m; night ones between 20:00 and 06:00."""
    days = ((starts[m + 1] - starts[m]) / np.timedelta64(1, "D")).astype(int)
    day = (rng.random(len(m)) * days).astype(int)
    hour = np.where(night, (20 + rng.integers(0, 10, len(m))) % 24, 6 + rng.integers(0, 14, len(m)))
    secs = hour * 3600 + rng.integers(0, 3600, len(m))
    t = starts[m].astype("datetime64[s]") + day * np.timedelta64(1, "D") + secs * SECOND
    # a night hour after midnight on the last day would leave the month: move it a day back
    return np.where(t >= starts[m + 1], t - np.timedelta64(1, "D"), t)


def _events(w: World, rng: np.random.Generator, p: dict[str, Any]) -> pd.DataFrame:
    """One row per recorded true incident or false alarm: month, village, category, source."""
    dt = p["detection"]
    parts = []
    for counts, source in ((w.patrol_found, "patrol_found"), (w.reported, "reported")):
        m, vi, c = np.nonzero(counts)
        k = counts[m, vi, c]
        parts.append(pd.DataFrame({"m": np.repeat(m, k), "v": np.repeat(vi, k), "c": np.repeat(c, k), "source": source}))
    fa = p["false_alarm"]
    n_fa = rng.poisson(fa["per_1000_month"] * w.resident / 1000.0)
    m, vi = np.nonzero(n_fa)
    k = n_fa[m, vi]
    cats = np.array([CATEGORIES.index(c) for c in fa["categories"]])
    probs = np.array(list(fa["categories"].values()), float)
    fa_rows = pd.DataFrame({"m": np.repeat(m, k), "v": np.repeat(vi, k), "source": "false_alarm"})
    fa_rows["c"] = cats[rng.choice(len(cats), len(fa_rows), p=probs / probs.sum())]
    ev = pd.concat([*parts, fa_rows], ignore_index=True)

    # Who recorded a reported incident: video (more with working cameras), walk-in, referral, call.
    rep = ev["source"].to_numpy() != "patrol_found"
    u = rng.random(len(ev))
    cams = w.cameras[ev["m"].to_numpy(), ev["v"].to_numpy()]
    p_video = dt["video_max"] * (1 - np.exp(-cams / dt["video_camera_scale"]))
    p_walk = by_category(dt["walk_in_share"])[ev["c"].to_numpy()]
    is_fa = ev["source"].to_numpy() == "false_alarm"
    src = np.where(u < p_video, "video",
                   np.where(u < p_video + p_walk, "walk_in",
                            np.where(u < p_video + p_walk + dt["referral_share"], "referral", "citizen_call")))
    src = np.where(is_fa, "citizen_call", src)
    ev["false_alarm"] = is_fa
    ev["source"] = np.where(rep, src, "patrol_found")
    return ev


def _reporters(ev: pd.DataFrame, v: pd.DataFrame, rng: np.random.Generator, start_year: int,
               params: dict[str, Any]) -> pd.DataFrame:
    """Reporter of each citizen-reported row from the village's pool; repeat reporters are common."""
    rp = params["incidents"]["reporters"]
    pool = np.maximum(5, np.round(rp["pool_per_1000"] * v["resident_pop"].to_numpy() / 1000)).astype(int)
    n_eld = np.round(pool * v["share_60"].to_numpy()).astype(int)
    owner = np.repeat(np.arange(len(v)), pool)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(pool) - pool, pool)
    everyone = people(rng, v["county_id"].to_numpy()[owner], rank < n_eld[owner], start_year, params["personal"])
    offset = np.cumsum(pool) - pool

    has = ev["source"].isin(["citizen_call", "walk_in"]).to_numpy() & (rng.random(len(ev)) < rp["personal_share"])
    vi, cat = ev["v"].to_numpy(), ev["c"].to_numpy()
    p_eld = by_category(rp["elderly_categories"], 0.0)[cat]
    want_eld = (rng.random(len(ev)) < p_eld) & (n_eld[vi] > 0)
    u = rng.random(len(ev)) ** rp["reuse_power"]
    young = pool[vi] - n_eld[vi]
    idx = np.where(want_eld | (young == 0), (u * n_eld[vi]).astype(int), n_eld[vi] + (u * young).astype(int))
    idx = np.minimum(idx, pool[vi] - 1) + offset[vi]
    who = everyone.iloc[idx].reset_index(drop=True)
    return pd.DataFrame({
        "reporter_name": np.where(has, who["name"], ""),
        "reporter_phone": np.where(has, who["phone"], ""),
        "reporter_id_number": np.where(has, who["id_number"], ""),
    })


def build_incidents(w: World, v: pd.DataFrame, rng: np.random.Generator, start_year: int,
                    params: dict[str, Any]) -> pd.DataFrame:
    """Every landed version of every incident (typed; formatted by the writer)."""
    p = params["incidents"]
    ev = _events(w, rng, p)
    n = len(ev)
    m, vi, c = ev["m"].to_numpy(), ev["v"].to_numpy(), ev["c"].to_numpy()
    cat = np.array(CATEGORIES)[c]
    night = rng.random(n) < by_category(p["night_share"])[c]
    reported_at = _times_in_month(rng, w.month_starts, m, night)
    delay = np.exp(np.log(by_category(p["report_delay_minutes"])[c]) + rng.normal(0, 1.0, n)) * 60
    occurred_at = np.maximum(reported_at - delay.astype(int) * SECOND, w.month_starts[m].astype("datetime64[s]"))
    occurred_at = np.where(rng.random(n) < p["occurred_missing_share"], np.datetime64("NaT"), occurred_at)

    sev_p = np.array([p["severity"].get(cc, p["severity"]["default"]) for cc in CATEGORIES], float)
    sev = (rng.random(n)[:, None] > np.cumsum(sev_p[c], axis=1)).sum(axis=1) + 1
    vul = v["vulnerability"].to_numpy()[vi]
    bump = rng.random(n) < np.clip(p["severity_vulnerability_shift"] * vul, 0, 1)
    sev = np.minimum(np.minimum(sev, 4) + bump, 4)

    r = p["response"]
    terrain = v["terrain"].to_numpy()[vi]
    per_km = pd.Series(terrain, dtype=object).map(r["per_km"]).to_numpy(float)
    post = np.where(v["has_police_post"].to_numpy()[vi], r["post_factor"], 1.0)
    minutes = (r["base_minutes"] + per_km * v["road_km_police"].to_numpy()[vi] * post) * np.exp(
        -r["strength_effect"] * v["org_strength"].to_numpy()[vi] + rng.normal(0, r["noise_sd"], n))
    source = ev["source"].to_numpy()
    response = np.where(np.isin(source, r["sources"]), np.round(minutes, 1),
                        np.where(source == "patrol_found", np.round(rng.uniform(0, 5, n), 1), np.nan))

    loc = p["location"]
    u = rng.random(n)
    coords_only = u < loc["coords_only_share"]
    with_coords = coords_only | (u < loc["coords_only_share"] + loc["coords_share"])
    jitter = np.where(coords_only, loc["coords_only_jitter_km"], loc["coords_jitter_km"])
    lat0 = v["latitude"].to_numpy()[vi]
    lat = lat0 + rng.normal(0, 1, n) * jitter / 111.0
    lon = v["longitude"].to_numpy()[vi] + rng.normal(0, 1, n) * jitter / (111.0 * np.cos(np.radians(lat0)))

    inc = pd.DataFrame({
        "m": m, "v": vi, "category": cat, "source": source, "false_alarm": ev["false_alarm"].to_numpy(),
        "reported_at": reported_at, "occurred_at": occurred_at, "severity": sev, "response_minutes": response,
        "village_id": np.where(coords_only, "", v["village_id"].to_numpy()[vi]),
        "longitude": np.where(with_coords, np.round(lon, 6), np.nan),
        "latitude": np.where(with_coords, np.round(lat, 6), np.nan),
    })
    inc = pd.concat([inc, _reporters(ev, v, rng, start_year, params)], axis=1)
    inc = inc.sort_values(["m", "v", "reported_at"], kind="stable").reset_index(drop=True)
    yyyymm = w.month_starts.astype("datetime64[M]").astype(str)
    seq = inc.groupby(["m", "v"]).cumcount().to_numpy() + 1
    ids = v["village_id"].to_numpy()[inc["v"].to_numpy()]
    inc["incident_id"] = [f"A{i}{ym.replace('-', '')}{s:04d}" for i, ym, s in zip(ids, yyyymm[inc["m"]], seq, strict=True)]
    inc["narrative"] = _narratives(inc, v, rng, p["reporters"]["id_in_narrative_share"])
    return _versions(inc, w.month_starts[-1], rng, p)


def _narratives(inc: pd.DataFrame, v: pd.DataFrame, rng: np.random.Generator, id_share: float) -> list[str]:
    names = v["village_name"].to_numpy()[inc["v"].to_numpy()]
    with_id = rng.random(len(inc)) < id_share
    out = []
    for i, (who, phone, idn, cat, src, place) in enumerate(zip(
        inc["reporter_name"], inc["reporter_phone"], inc["reporter_id_number"], inc["category"], inc["source"],
        names, strict=True,
    )):
        event = EVENTS[cat]
        if who:
            text = f'报警人{who}, 电话 {phone}, 称在{place}"{event}"'
            out.append(text + (f", 身份证号{idn}。" if with_id[i] else "。"))
        elif src == "patrol_found":
            out.append(f"巡逻中发现{place}{event}, 已现场处置。")
        else:
            out.append(f"{place}群众反映{event}。")
    return out


def _versions(inc: pd.DataFrame, end: np.datetime64, rng: np.random.Generator, p: dict[str, Any]) -> pd.DataFrame:
    """First version plus a later correction (new status, later updated_at) for many incidents."""
    st = p["status"]
    fa = inc["false_alarm"].to_numpy()
    n = len(inc)
    u = rng.random(n)
    first = np.where(fa, np.where(u < p["false_alarm"]["corrected_share"], "open", "false_alarm"),
                     np.where(u < st["resolved_at_once"], "resolved", "open"))
    v1 = inc.assign(status=first, updated_at=inc["reported_at"] + rng.integers(60, 1800, n) * SECOND, version=1)
    corrected = (first == "open") & (fa | (rng.random(n) < st["correction_share"]))
    final = np.where(fa, "false_alarm", np.where(rng.random(n) < st["transferred_share"], "transferred", "resolved"))
    later = (rng.exponential(st["correction_delay_days"], n) * 86400).astype(int) + 3600
    v2 = inc.assign(status=final, updated_at=v1["updated_at"] + later * SECOND, version=2)[corrected]
    v2 = v2[v2["updated_at"] < end.astype("datetime64[s]")]
    out = pd.concat([v1, v2], ignore_index=True)
    return out.sort_values(["updated_at", "incident_id", "version"], kind="stable").reset_index(drop=True)


def truth_counts(w: World, village_ids: np.ndarray) -> pd.DataFrame:
    """True, recorded and patrol-found counts per village, month and category (non-zero rows)."""
    m, vi, c = np.nonzero(w.true_n)
    months = w.month_starts.astype(str)
    return pd.DataFrame({
        "village_id": village_ids[vi], "period_start": months[m], "category": np.array(CATEGORIES)[c],
        "true_count": w.true_n[m, vi, c], "recorded_count": (w.patrol_found + w.reported)[m, vi, c],
        "patrol_found_count": w.patrol_found[m, vi, c],
    })
