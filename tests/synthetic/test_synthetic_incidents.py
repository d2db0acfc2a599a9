"""synthetic/incidents.py on its own: incident rows from a hand-made world of two villages and
two months (exact counts, ids, sources, versions), narratives and the truth counts."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from synthetic import load_params
from synthetic.geography import rng_for
from synthetic.incidents import _narratives, _times_in_month, build_incidents, truth_counts
from synthetic.process import CATEGORIES, World, month_starts

THEFT, FRAUD, GAMBLING = (CATEGORIES.index(c) for c in ("theft", "fraud", "gambling"))


def _villages() -> pd.DataFrame:
    return pd.DataFrame({
        "village_id": ["140101001001", "140101001002"], "village_name": ["东村", "西村"],
        "county_id": ["140101", "140101"], "resident_pop": [1000, 400], "share_60": [0.3, 0.25],
        "vulnerability": [0.5, -0.5], "terrain": ["plain", "mountain"], "has_police_post": [False, True],
        "road_km_police": [0.6, 7.5], "org_strength": [0.2, -0.4], "longitude": [113.6, 113.7],
        "latitude": [37.9, 37.95],
    })


def _world(found: dict, reported: dict) -> World:
    """Two months from January 2021, two villages; counts given as {(m, v, c): n}."""
    shape = (2, 2, len(CATEGORIES))
    pf, rep = np.zeros(shape, np.int32), np.zeros(shape, np.int32)
    for (m, v, c), n in found.items():
        pf[m, v, c] = n
    for (m, v, c), n in reported.items():
        rep[m, v, c] = n
    true_n = pf + rep
    true_n[1, 1, GAMBLING] += 2  # two never recorded
    return World(month_starts(date(2021, 1, 1), 2), true_n.astype(np.float32), true_n, pf, rep,
                 np.zeros((2, 2, 6), np.int32), np.zeros((2, 2)), np.zeros((2, 2)),
                 np.array([[1000.0, 400.0]] * 2), np.array([[0.3, 0.25]] * 2))


FOUND = {(0, 0, GAMBLING): 2}
REPORTED = {(0, 0, THEFT): 3, (0, 1, FRAUD): 1, (1, 0, THEFT): 4}


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params(overrides={"incidents": {"false_alarm": {"per_1000_month": 0.0}}})


@pytest.fixture(scope="module")
def inc(params) -> pd.DataFrame:
    return build_incidents(_world(FOUND, REPORTED), _villages(), rng_for(3, 6), 2021, params)


def test_one_first_version_per_recorded_incident(inc) -> None:
    first = inc[inc["version"] == 1]
    assert len(first) == 10 and first["incident_id"].is_unique  # 2 found + 3 + 1 + 4 reported
    got = first.groupby(["m", "v", "category"]).size().to_dict()
    assert got == {(0, 0, "gambling"): 2, (0, 0, "theft"): 3, (0, 1, "fraud"): 1, (1, 0, "theft"): 4}
    # ids: A + village + yyyymm + a number per village and month in report order
    ids = first.sort_values("incident_id")["incident_id"].tolist()
    assert ids == [f"A140101001001202101{k:04d}" for k in range(1, 6)] + \
        [f"A140101001001202102{k:04d}" for k in range(1, 5)] + ["A140101001002202101" + "0001"]
    for _, g in first.groupby(["m", "v"]):
        assert g.sort_values("incident_id")["reported_at"].is_monotonic_increasing


def test_times_sources_and_response(inc) -> None:
    first = inc[inc["version"] == 1]
    month = first["m"].map({0: "2021-01", 1: "2021-02"})
    assert (first["reported_at"].dt.strftime("%Y-%m") == month).all()
    occurred = first["occurred_at"].dropna()
    assert (occurred <= first.loc[occurred.index, "reported_at"]).all()
    assert (occurred.dt.strftime("%Y-%m") == month[occurred.index]).all()  # never before the month
    found = first["source"] == "patrol_found"
    assert (first.loc[found, "category"] == "gambling").all() and found.sum() == 2
    # no working camera: nothing is first seen on video
    assert set(first.loc[~found, "source"]) <= {"walk_in", "referral", "citizen_call"}
    assert first.loc[found, "response_minutes"].between(0, 5).all()
    assert first.loc[first["source"].isin(["walk_in", "referral"]), "response_minutes"].isna().all()
    assert (first.loc[first["source"] == "citizen_call", "response_minutes"] > 0).all()
    assert first["severity"].between(1, 4).all() and not first["false_alarm"].any()
    # reporters only on citizen calls and walk-ins
    named = first["reporter_name"] != ""
    assert set(first.loc[named, "source"]) <= {"citizen_call", "walk_in"}
    assert (first.loc[~named, ["reporter_phone", "reporter_id_number"]] == "").all().all()


def test_coordinates_and_villages(inc) -> None:
    no_village = inc["village_id"] == ""
    assert inc.loc[no_village, ["longitude", "latitude"]].notna().all().all()  # coordinates only
    ids = np.array(["140101001001", "140101001002"])
    assert (inc.loc[~no_village, "village_id"] == ids[inc.loc[~no_village, "v"]]).all()
    with_coords = inc["latitude"].notna()
    assert (inc.loc[with_coords, "latitude"] - np.array([37.9, 37.95])[inc.loc[with_coords, "v"]]).abs().max() < 0.05


def test_corrections_are_later_versions_with_a_final_status(inc) -> None:
    assert set(inc.loc[inc["version"] == 1, "status"]) <= {"open", "resolved"}
    second = inc[inc["version"] == 2]
    assert set(second["status"]) <= {"resolved", "transferred"}
    first = inc[inc["version"] == 1].set_index("incident_id")
    for r in second.itertuples():
        assert first.loc[r.incident_id, "status"] == "open"
        assert first.loc[r.incident_id, "updated_at"] < r.updated_at < pd.Timestamp("2021-03-01")
    assert (inc["updated_at"] > inc["reported_at"]).all() and inc["updated_at"].is_monotonic_increasing
    assert inc.groupby("incident_id")["narrative"].nunique().max() == 1


def test_false_alarms_are_citizen_calls_ending_as_false_alarm() -> None:
    params = load_params(overrides={"incidents": {"false_alarm": {"per_1000_month": 5.0}}})
    inc = build_incidents(_world({}, {}), _villages(), rng_for(3, 7), 2021, params)
    assert len(inc) > 0 and inc["false_alarm"].all() and set(inc["source"]) == {"citizen_call"}
    assert set(inc["category"]) <= {"theft", "dispute", "fire", "public_order", "other"}
    # first 'open' (to be corrected) or false_alarm at once; every correction says false_alarm
    assert set(inc.loc[inc["version"] == 1, "status"]) == {"open", "false_alarm"}
    second = inc[inc["version"] == 2]
    assert len(second) > 0 and set(second["status"]) == {"false_alarm"}


def test_narratives_by_hand() -> None:
    inc = pd.DataFrame({"v": [0, 1, 0], "reporter_name": ["王伟", "", ""], "reporter_phone": ["13012345678", "", ""],
                        "reporter_id_number": ["14010119800101001X", "", ""],
                        "category": ["theft", "fire", "gambling"], "source": ["citizen_call", "referral", "patrol_found"]})
    expected = ['报警人王伟, 电话 13012345678, 称在东村"家中财物被盗"', "西村群众反映柴草堆起火。",
                "巡逻中发现东村有人聚众赌博, 已现场处置。"]
    assert _narratives(inc, _villages(), rng_for(1, 0), 0.0) == [expected[0] + "。", *expected[1:]]
    assert _narratives(inc, _villages(), rng_for(1, 0), 1.0)[0] == expected[0] + ", 身份证号14010119800101001X。"


def test_times_in_month_stay_in_their_month_and_shift() -> None:
    starts = month_starts(date(2021, 1, 1), 2)
    m = np.array([0] * 500 + [1] * 500)
    night = np.arange(1000) % 2 == 0
    t = _times_in_month(rng_for(1, 0), starts, m, night)
    assert (t >= starts[m].astype("datetime64[s]")).all() and (t < starts[m + 1].astype("datetime64[s]")).all()
    hours = pd.to_datetime(t).hour.to_numpy()
    assert set(hours[night]) <= {20, 21, 22, 23, 0, 1, 2, 3, 4, 5} and set(hours[~night]) == set(range(6, 20))


def test_truth_counts_list_every_true_count() -> None:
    w = _world(FOUND, REPORTED)
    got = truth_counts(w, np.array(["V1", "V2"]))
    assert got.to_dict(orient="records") == [
        {"village_id": "V1", "period_start": "2021-01-01", "category": "theft", "true_count": 3,
         "recorded_count": 3, "patrol_found_count": 0},
        {"village_id": "V1", "period_start": "2021-01-01", "category": "gambling", "true_count": 2,
         "recorded_count": 2, "patrol_found_count": 2},
        {"village_id": "V2", "period_start": "2021-01-01", "category": "fraud", "true_count": 1,
         "recorded_count": 1, "patrol_found_count": 0},
        {"village_id": "V1", "period_start": "2021-02-01", "category": "theft", "true_count": 4,
         "recorded_count": 4, "patrol_found_count": 0},
        {"village_id": "V2", "period_start": "2021-02-01", "category": "gambling", "true_count": 2,
         "recorded_count": 0, "patrol_found_count": 0},
    ]
