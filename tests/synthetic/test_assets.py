"""synthetic/assets.py on its own: registry statistics computed by hand for one village, the
organizations and resources of a small seeded county, and the active-on-the-1st counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthetic import load_params
from synthetic.assets import (
    ORG_TYPES,
    _days_between,
    active_counts,
    organizations,
    population_by_year,
    resources,
)
from synthetic.geography import build_county, rng_for

D = np.datetime64
START, END = D("2021-01-01"), D("2023-01-01")


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params()


@pytest.fixture(scope="module")
def villages(params) -> pd.DataFrame:
    return build_county(7, 40, params).villages


def test_active_counts_on_the_first_of_each_month() -> None:
    # item 0 in village 0 from 1 Jan, ends 1 Feb (not active on its end day);
    # item 1 in village 1 from 15 Jan, never ends; item 2 in village 1 from 1 Feb
    counts = active_counts(np.array([0, 1, 1]), np.array(["2021-01-01", "2021-01-15", "2021-02-01"], "datetime64[D]"),
                           np.array(["2021-02-01", "NaT", "NaT"], "datetime64[D]"),
                           np.array(["2021-01-01", "2021-02-01", "2021-03-01"], "datetime64[D]"), 3)
    assert counts.tolist() == [[1, 0, 0], [0, 2, 0], [0, 2, 0]]


def test_days_between_stays_in_the_half_open_span() -> None:
    d = _days_between(rng_for(1, 0), D("2021-01-01"), D("2021-01-04"), 300)
    assert set(d.astype(str)) == {"2021-01-01", "2021-01-02", "2021-01-03"}
    # an empty span gives its start
    assert set(_days_between(rng_for(1, 0), D("2021-01-01"), D("2021-01-01"), 5).astype(str)) == {"2021-01-01"}


def test_population_by_year_for_one_village_by_hand(params) -> None:
    v = pd.DataFrame({"resident_pop": [1000], "share_60": [0.25], "migrant_rate": [0.2], "low_income_rate": [0.1],
                      "income_yuan": [16000.0], "share_under_15": [0.15]})
    p = {**params["population"], "drift_noise": 0.0}
    pop = population_by_year(v, 2, rng_for(1, 0), p)
    # year 0: registered 1000 / 0.8 = 1250, under 15: 150, 60+: 250, 15-59: 600,
    # households round(1250 / 3.1 = 403.2) = 403, left-behind children 150 x 2 x 0.9 x 0.2 = 54,
    # elderly 250 x 2 x 0.8 x 0.2 = 80, low income round(403 x 0.1) = 40
    # year 1: resident 1000 x 0.988 = 988, 60+ share 0.256, migrant 0.204 -> registered
    # round(988 / 0.796 = 1241.2) = 1241, under 15 round(148.2) = 148, 60+ round(252.9) = 253,
    # 15-59 = 587, households round(400.3) = 400, children round(148 x 0.3672 = 54.3) = 54,
    # elderly round(253 x 0.3264 = 82.6) = 83, low income round(400 x 0.096) = 38, income 16800
    assert pop.drop(columns="share_60").to_dict(orient="records") == [
        {"v": 0, "year_index": 0, "households": 403, "registered_pop": 1250, "resident_pop": 1000,
         "pop_under_15": 150, "pop_15_59": 600, "pop_60_plus": 250, "left_behind_children": 54,
         "left_behind_elderly": 80, "migrant_workers_out": 250, "low_income_households": 40,
         "per_capita_income_yuan": 16000.0},
        {"v": 0, "year_index": 1, "households": 400, "registered_pop": 1241, "resident_pop": 988,
         "pop_under_15": 148, "pop_15_59": 587, "pop_60_plus": 253, "left_behind_children": 54,
         "left_behind_elderly": 83, "migrant_workers_out": 253, "low_income_households": 38,
         "per_capita_income_yuan": 16800.0},
    ]
    assert pop["share_60"].tolist() == pytest.approx([0.25, 0.256])


def test_population_age_groups_add_up_in_every_village(villages, params) -> None:
    pop = population_by_year(villages, 3, rng_for(7, 1), params["population"])
    assert len(pop) == 120 and pop.groupby("year_index").size().tolist() == [40, 40, 40]
    assert (pop["pop_under_15"] + pop["pop_15_59"] + pop["pop_60_plus"] == pop["resident_pop"]).all()
    assert (pop["registered_pop"] - pop["resident_pop"] == pop["migrant_workers_out"]).all()
    assert (pop["resident_pop"] >= 20).all() and (pop["low_income_households"] <= pop["households"]).all()


def test_organizations_of_a_small_county(villages, params) -> None:
    orgs = organizations(villages, START, END, rng_for(7, 2), params["organizations"])
    assert set(orgs["org_type"]) <= set(ORG_TYPES)
    # police posts: exactly the villages with one, founded before the start, never dissolved
    posts = orgs[orgs["org_type"] == "police_post"]
    assert sorted(posts["v"]) == np.flatnonzero(villages["has_police_post"]).tolist()
    assert (posts["established_on"] < START).all() and posts["dissolved_on"].isna().all()
    # ids: O + village code + the type's number (police_post is the 6th)
    ids = villages["village_id"].to_numpy()
    assert (posts["org_id"] == "O" + ids[posts["v"]] + "06").all()
    nums = orgs["org_type"].map({t: f"{i + 1:02d}" for i, t in enumerate(ORG_TYPES)})
    assert (orgs["org_id"] == "O" + ids[orgs["v"]] + nums).all() and orgs["org_id"].is_unique
    assert (orgs["members"] >= 1).all() and (orgs["trained_members"] <= orgs["members"]).all()
    gone = orgs[orgs["dissolved_on"].notna()]
    assert (gone["dissolved_on"] > gone["established_on"]).all() and (gone["dissolved_on"] < END).all()
    assert (orgs["established_on"] < END).all()
    assert orgs[["v", "org_type"]].equals(orgs[["v", "org_type"]].sort_values(["v", "org_type"]).reset_index(drop=True))


def test_resources_of_a_small_county(villages, params) -> None:
    res = resources(villages, START, END, 2, rng_for(7, 3), params["resources"])
    stations = res[res["resource_type"] == "police_station"]
    # one station per seat, installed 3650 days before the start (10 x 365; with the leap days
    # of 2012, 2016 and 2020 that is 4 January 2011), never broken
    assert sorted(stations["v"]) == np.flatnonzero(villages["is_seat"]).tolist()
    assert set(stations["installed_on"].astype(str)) == {"2011-01-04"}
    assert stations["broken_on"].isna().all()
    posts = res[res["resource_type"] == "police_post"]
    assert sorted(posts["v"]) == np.flatnonzero(villages["has_police_post"]).tolist()
    # ids: R + village code + 4-digit number in installation order
    ids = villages["village_id"].to_numpy()
    assert (res["resource_id"] == "R" + ids[res["v"]] + res["seq"].map("{:04d}".format)).all()
    for _, g in res.groupby("v"):
        assert g["seq"].tolist() == list(range(1, len(g) + 1)) and g["installed_on"].is_monotonic_increasing
    broken = res[res["broken_on"].notna()]
    assert set(broken["resource_type"]) <= {"camera", "street_light", "alarm_point"}
    assert (broken["broken_on"] >= broken["installed_on"]).all() and (broken["broken_on"] < END).all()
    removed = res[res["removed_on"].notna()]
    assert ((removed["removed_on"] - removed["broken_on"]).dt.days == 120).all()
    assert (res.loc[res["resource_type"] == "camera", "installed_on"] < END).all()
