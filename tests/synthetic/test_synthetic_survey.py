"""synthetic/survey.py on its own: answers from the latent scale, one wave from a hand-made world
(answers computed by hand with no noise), waves after the end, and the invalid questionnaires."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from synthetic import load_params
from synthetic.geography import rng_for
from synthetic.process import World, month_starts
from synthetic.survey import _answer, _invalidate, build_survey

VIDS = ["140101001001", "140101001002"]
ITEMS = ["q_safety", "q_trust_police", "q_participation", "q_satisfaction"]


def test_answer_is_the_band_between_cutpoints() -> None:
    sp = {"latent_sd": 0.0, "cutpoints": [-1.6, -0.6, 0.4, 1.4]}
    latent = np.array([-3.0, -1.6, -1.59, 0.0, 0.4, 1.41, 9.0])
    # a value on a cutpoint is in the band below it
    assert _answer(latent, rng_for(1, 0), sp).tolist() == [1, 1, 2, 3, 3, 5, 5]


def _world() -> World:
    z = np.zeros((12, 2, 15), np.int32)
    return World(month_starts(date(2021, 1, 1), 12), z.astype(np.float32), z, z, z, np.zeros((12, 2, 6), np.int32),
                 np.zeros((12, 2)), np.zeros((12, 2)), np.full((12, 2), 1000.0), np.full((12, 2), 0.27))


def _orgs() -> pd.DataFrame:
    types = ["joint_defense_team", "volunteer_patrol", "mediation_committee", "grid_workers"]
    return pd.DataFrame({
        "v": [0] + [1] * 4, "org_type": ["police_post", *types],
        "established_on": np.array(["2015-01-01"] * 5, "datetime64[D]"),
        "dissolved_on": np.array(["NaT"] * 5, "datetime64[D]"),
    })


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params(overrides={"survey": {"latent_sd": 0.0, "invalid_share": 0.0, "gender_missing_share": 0.0,
                                             "knows_grid_worker": {"with": 1.0, "without": 0.0}}})


@pytest.fixture(scope="module")
def survey(params) -> pd.DataFrame:
    v = pd.DataFrame({"village_id": VIDS, "road_km_police": [0.6, 7.5], "share_under_15": [0.15, 0.15]})
    # wave 0 (10 Nov 2021): 5 in village 0, 3 in village 1, 4 in a village of another shard;
    # wave 1 (10 Nov 2022) is after the simulated year
    plan = {0: {VIDS[0]: 5, VIDS[1]: 3, "140101009009": 4}, 1: {VIDS[0]: 2}}
    return build_survey(_world(), v, _orgs(), plan, rng_for(5, 8), params)


def test_one_row_per_planned_questionnaire_of_the_shard(survey) -> None:
    assert survey["village_id"].tolist() == [VIDS[0]] * 5 + [VIDS[1]] * 3
    assert survey["response_id"].tolist() == [f"S2021{VIDS[0]}{k:03d}" for k in range(1, 6)] + \
        [f"S2021{VIDS[1]}{k:03d}" for k in range(1, 4)]
    days = survey["surveyed_on"].astype(str)
    assert days.between("2021-11-10", "2021-11-19").all()  # the 10 days from the wave day
    assert set(survey["gender"]) <= {"M", "F"} and set(survey["completed"]) == {"true"}
    assert set(survey["age_band"]) <= {"18-29", "30-44", "45-59", "60+"} and set(survey["_invalid"]) == {""}


def test_answers_by_hand_without_noise(survey) -> None:
    # no incidents: crime = (log 1 - log 13) / 0.5 = -5.1299, safety = 0.6 + 0.7 x 5.1299 = 4.19 -> 5
    # no patrol: patrol = -1. response (log(8 + 2.5 x road) - log 15) / 0.5: road 0.6 -> -0.9136,
    #   road 7.5 -> 1.1570; trust = 0.5 - 0.4 - 0.4 x response: 0.465 -> 4, -0.363 -> 3
    # mass organizations (police posts do not count): 0 -> 0.2 + 0.5 x (0 - 1) = -0.3 -> 3;
    #   4 -> 0.2 + 0.5 x (2 - 1) = 0.7 -> 4
    # satisfaction 0.4 + 0.5 x 4.19 + 0.5 x trust: 2.73 -> 5, 2.31 -> 5
    got = survey.groupby("village_id")[ITEMS].agg(lambda s: sorted(set(s)))
    assert got.loc[VIDS[0]].tolist() == [[5], [4], [3], [5]]
    assert got.loc[VIDS[1]].tolist() == [[5], [3], [4], [5]]
    # a grid worker in village 1 only (known with chance 1, else 0)
    assert survey.groupby("village_id")["q_knows_grid_worker"].agg(set).to_dict() == {VIDS[0]: {"no"}, VIDS[1]: {"yes"}}


def test_waves_after_the_end_give_no_rows(params) -> None:
    v = pd.DataFrame({"village_id": VIDS, "road_km_police": [0.6, 7.5], "share_under_15": [0.15, 0.15]})
    got = build_survey(_world(), v, _orgs(), {1: {VIDS[0]: 3}}, rng_for(5, 8), params)
    assert got.empty and list(got.columns) == []


def test_every_questionnaire_invalid_at_share_one() -> None:
    s = pd.DataFrame({"response_id": [f"S{i}" for i in range(40)], **{c: 3 for c in ITEMS}, "completed": "true"})
    out = _invalidate(s, rng_for(1, 0), 1.0)
    assert (out["_invalid"] != "").all()
    stopped = out[out["_invalid"] == "completed"]
    other = out[out["_invalid"] != "completed"]
    assert len(stopped) > 0 and len(other) > 0
    assert (stopped["completed"] == "false").all() and (stopped["q_safety"] == 3).all()  # the first item is kept
    assert (stopped["q_satisfaction"] == "").all()  # the later items are blank from a random one on
    for _, r in other.iterrows():
        item = r["_invalid"]
        assert r[item] in (0, 6, 9) and r["completed"] == "true"
        assert [r[c] for c in ITEMS if c != item] == [3, 3, 3]
    assert (_invalidate(s, rng_for(1, 0), 0.0)["_invalid"] == "").all()
