"""Resident survey: one wave a year over villages sampled county-wide; answers follow the
village's true crime, patrol dose, expected response time and organizations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthetic.assets import active_counts
from synthetic.process import World


def _answer(latent: np.ndarray, rng: np.random.Generator, sp: dict[str, Any]) -> np.ndarray:
    noisy = latent + rng.normal(0, sp["latent_sd"], len(latent))
    return 1 + np.searchsorted(np.array(sp["cutpoints"], float), noisy)


def build_survey(w: World, v: pd.DataFrame, orgs: pd.DataFrame, plan: dict[int, dict[str, int]],
                 rng: np.random.Generator, params: dict[str, Any]) -> pd.DataFrame:
    """Yearly waves; answers follow the village's true crime, patrol dose, response and organizations."""
    sp, ip = params["survey"], params["incidents"]
    ids = v["village_id"].to_numpy()
    pos = {vid: i for i, vid in enumerate(ids)}
    rows = []
    o = orgs[orgs["org_type"] != "police_post"]   # mass-prevention organizations
    start_year = int(str(w.month_starts[0])[:4])
    for wave, counts in sorted(plan.items()):
        day = np.datetime64(f"{start_year + wave}-{sp['wave_month_day']}")
        if day >= w.month_starts[-1]:
            continue
        m_end = int(np.searchsorted(w.month_starts, day, side="right")) - 1
        m0 = max(0, m_end - 12)
        mass = active_counts(o["v"].to_numpy(), o["established_on"].to_numpy(), o["dissolved_on"].to_numpy(),
                             np.array([day], "datetime64[D]"), len(v))[0]
        for vid, n in counts.items():
            if vid not in pos:
                continue
            i = pos[vid]
            months = max(m_end - m0, 1)
            per_1000 = w.true_n[m0:m_end, i].sum() / months * 12 * 1000 / w.resident[m_end, i]
            crime = (np.log(per_1000 + 1) - np.log(12 * ip["base_per_1000"] + 1)) / 0.5
            dose = w.dose[m0:max(m_end, m0 + 1), i].mean()
            patrol = 2 * (1 - np.exp(-dose / ip["deterrence"]["dose_scale"])) - 1
            response = (np.log(8 + 2.5 * v["road_km_police"].iat[i]) - np.log(15)) / 0.5
            n_orgs = int(mass[i])
            safety = sp["safety"]["intercept"] + sp["safety"]["crime"] * crime
            trust = sp["trust"]["intercept"] + sp["trust"]["patrol"] * patrol + sp["trust"]["response"] * response
            part = sp["participation"]["intercept"] + sp["participation"]["organizations"] * (n_orgs / 2 - 1)
            sat = sp["satisfaction"]["intercept"] + sp["satisfaction"]["safety"] * safety + sp["satisfaction"]["trust"] * trust
            s60 = min(w.share_60[m_end, i] / (1 - v["share_under_15"].iat[i]), 0.9)
            bands = np.array([0.25, 0.35, 0.40]) * (1 - s60)
            grid = "grid_workers" in set(orgs.loc[(orgs["v"] == i) & (orgs["established_on"] <= day), "org_type"])
            p_grid = sp["knows_grid_worker"]["with" if grid else "without"]
            gender = np.where(rng.random(n) < 0.5, "M", "F")
            rows.append(pd.DataFrame({
                "response_id": [f"S{start_year + wave}{vid}{k:03d}" for k in range(1, n + 1)],
                "village_id": vid,
                "surveyed_on": day + rng.integers(0, int(sp["wave_days"]), n),
                "age_band": np.array(["18-29", "30-44", "45-59", "60+"])[
                    rng.choice(4, n, p=np.append(bands, s60))],
                "gender": np.where(rng.random(n) < sp["gender_missing_share"], "", gender),
                "q_safety": _answer(np.full(n, safety), rng, sp),
                "q_trust_police": _answer(np.full(n, trust), rng, sp),
                "q_participation": _answer(np.full(n, part), rng, sp),
                "q_satisfaction": _answer(np.full(n, sat), rng, sp),
                "q_knows_grid_worker": np.where(rng.random(n) < p_grid, "yes", "no"),
                "completed": "true",
            }))
    if not rows:
        return pd.DataFrame()
    return _invalidate(pd.concat(rows, ignore_index=True), rng, sp["invalid_share"])


def _invalidate(s: pd.DataFrame, rng: np.random.Generator, share: float) -> pd.DataFrame:
    """About `share` of questionnaires are invalid: not completed (later items blank) or an item out of range."""
    items = ["q_safety", "q_trust_police", "q_participation", "q_satisfaction"]
    s = s.astype({c: object for c in items})
    s["_invalid"] = ""
    bad = np.flatnonzero(rng.random(len(s)) < share)
    for i in bad:
        if rng.random() < 0.5:
            s.loc[i, "completed"] = "false"
            s.loc[i, items[int(rng.integers(1, 4)):]] = ""
            s.loc[i, "_invalid"] = "completed"
        else:
            item = items[int(rng.integers(0, 4))]
            s.loc[i, item] = int(rng.choice([0, 6, 9]))
            s.loc[i, "_invalid"] = item
    return s
