"""synthetic/patrols.py on its own: patrol rows from hand-made session counts (ids, units,
shifts, lengths, crews, modes, checkpoints)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from synthetic import load_params
from synthetic.geography import rng_for
from synthetic.patrols import build_patrols
from synthetic.process import ACTORS, World, month_starts

VIDS = ["140101001001", "140101002003"]


def _world(sessions: dict) -> World:
    s = np.zeros((2, 2, len(ACTORS)), np.int32)
    for (m, v, actor), n in sessions.items():
        s[m, v, ACTORS.index(actor)] = n
    z = np.zeros((2, 2, 15), np.int32)
    return World(month_starts(date(2021, 1, 1), 2), z.astype(np.float32), z, z, z, s, np.zeros((2, 2)),
                 np.zeros((2, 2)), np.full((2, 2), 1000.0), np.full((2, 2), 0.27))


SESSIONS = {(0, 0, "police"): 3, (0, 0, "village_committee"): 2, (0, 1, "joint_defense"): 4,
            (1, 1, "auxiliary_police"): 5, (1, 0, "volunteer"): 2, (1, 1, "security_company"): 3}


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params()


@pytest.fixture(scope="module")
def pat(params) -> pd.DataFrame:
    v = pd.DataFrame({"village_id": VIDS, "township_id": ["140101001", "140101002"],
                      "longitude": [113.6, 113.8], "latitude": [37.9, 38.0]})
    return build_patrols(_world(SESSIONS), v, rng_for(2, 7), params)


def test_one_row_per_session_with_ids_per_village_and_month(pat) -> None:
    assert len(pat) == 19
    got = pat.groupby(["m", "village_id", "unit_type"]).size().to_dict()
    assert got == {(0, VIDS[0], "police"): 3, (0, VIDS[0], "village_committee"): 2, (0, VIDS[1], "joint_defense"): 4,
                   (1, VIDS[0], "volunteer"): 2, (1, VIDS[1], "auxiliary_police"): 5,
                   (1, VIDS[1], "security_company"): 3}
    # P + village + yyyymm + number in start order within the village and month
    for (m, vid), g in pat.groupby(["m", "village_id"]):
        ym = ["202101", "202102"][m]
        assert g["patrol_id"].tolist() == [f"P{vid}{ym}{k:04d}" for k in range(1, len(g) + 1)]
        assert g["started_at"].is_monotonic_increasing


def test_units_by_actor(pat, params) -> None:
    unit = dict(zip(pat["unit_type"], pat["unit_id"], strict=False))
    assert pat.loc[pat["unit_type"] == "joint_defense", "unit_id"].unique().tolist() == [f"O{VIDS[1]}01"]
    assert pat.loc[pat["unit_type"] == "volunteer", "unit_id"].unique().tolist() == [f"O{VIDS[0]}02"]
    assert pat.loc[pat["unit_type"] == "security_company", "unit_id"].unique().tolist() == [f"O{VIDS[1]}04"]
    assert unit["village_committee"] == f"C{VIDS[0]}"
    # police units of the township's station: PS01..PS04; auxiliary FJ01..FJ03
    assert set(pat.loc[pat["unit_type"] == "police", "unit_id"]) <= {f"140101001PS{k:02d}" for k in range(1, 5)}
    assert set(pat.loc[pat["unit_type"] == "auxiliary_police", "unit_id"]) <= {f"140101002FJ{k:02d}" for k in range(1, 4)}


def test_shifts_lengths_crews_and_modes(pat, params) -> None:
    actors = params["patrols"]["actors"]
    month = pat["m"].map({0: "2021-01", 1: "2021-02"})
    assert (pat["started_at"].dt.strftime("%Y-%m") == month).all()
    assert (pat["started_at"].dt.minute % 5 == 0).all() and (pat["started_at"].dt.second == 0).all()
    seconds = (pat["ended_at"] - pat["started_at"]).dt.total_seconds()
    assert (seconds % 60 == 0).all() and (seconds >= 1800 - 60).all()
    for r, s in zip(pat.itertuples(), seconds, strict=True):
        a = actors[r.unit_type]
        assert s <= a["max_hours"] * 3600 and r.mode in a["mode"] and r.personnel >= 1
        hour = r.started_at.hour
        assert a["day_start"][0] <= hour <= a["day_start"][1] or a["night_start"][0] <= hour <= a["night_start"][1]
    speed = pat["mode"].map(params["patrols"]["speed_kmh"])
    # distance = speed x hours x a moving share of 0.3..0.8, rounded to 0.1 km
    d = pat["distance_km"].dropna()
    assert (d <= (speed * seconds / 3600 * 0.8)[d.index] + 0.05).all()
    assert (d >= (speed * seconds / 3600 * 0.3)[d.index] - 0.05).all()


def test_checkpoints_are_points_inside_the_session(pat) -> None:
    assert (pat.loc[pat["unit_type"] == "village_committee", "checkpoints"] == "null").all()  # share 0
    listed = pat[pat["checkpoints"] != "null"]
    assert len(listed) > 0
    lat0 = dict(zip(VIDS, [37.9, 38.0], strict=True))
    for r in listed.itertuples():
        points = json.loads(r.checkpoints)
        assert 2 <= len(points) <= 5 and all(set(p) == {"lon", "lat", "at"} for p in points)
        at = [pd.Timestamp(p["at"][:-6]) for p in points]
        assert all(p["at"].endswith("+08:00") for p in points) and at == sorted(at)
        assert all(r.started_at <= t <= r.ended_at for t in at)
        assert all(abs(p["lat"] - lat0[r.village_id]) < 0.05 for p in points)


def test_no_sessions_no_rows(params) -> None:
    v = pd.DataFrame({"village_id": VIDS, "township_id": ["T1", "T2"], "longitude": [1.0, 2.0], "latitude": [1.0, 2.0]})
    assert len(build_patrols(_world({}), v, rng_for(2, 7), params)) == 0
