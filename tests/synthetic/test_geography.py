"""synthetic/geography.py on its own: random streams, township sizes, village placement and the
invariants and exact values of a small seeded county (no files, no Spark)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthetic import load_params
from synthetic.geography import (
    KM_PER_DEG_LAT,
    _names,
    _place_villages,
    _township_sizes,
    _z,
    build_county,
    plan_survey,
    rng_for,
)


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params()


@pytest.fixture(scope="module")
def county(params):
    return build_county(7, 40, params)


def test_rng_for_is_one_stream_per_key() -> None:
    assert rng_for(7, 1, 2).random(3).tolist() == rng_for(7, 1, 2).random(3).tolist()
    assert rng_for(7, 1, 2).random(3).tolist() != rng_for(7, 2, 1).random(3).tolist()
    assert rng_for(7, 1).random(3).tolist() != rng_for(8, 1).random(3).tolist()


def test_z_scores_and_a_constant_gives_zeros() -> None:
    # [1, 2, 3]: mean 2, population sd sqrt(2/3) = 0.816497 -> -1.224745, 0, 1.224745
    assert _z(np.array([1.0, 2.0, 3.0])) == pytest.approx([-1.224745, 0.0, 1.224745], abs=1e-6)
    assert _z(np.array([4.0, 4.0])).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(("n", "towns"), [(5, 1), (40, 2), (56, 4), (160, 10)])
def test_township_sizes_sum_to_the_villages_with_a_seat_each(params, n: int, towns: int) -> None:
    # townships = max(1, round(n / 16)) with Python's rounding: 5/16 -> 0 -> 1, 40/16 = 2.5 -> 2,
    # 56/16 = 3.5 -> 4, 160/16 -> 10
    sizes = _township_sizes(rng_for(3, 0), n, params["geography"])
    assert len(sizes) == towns and int(sizes.sum()) == n and sizes.min() >= 1


def test_villages_are_placed_apart_with_the_seat_at_the_origin() -> None:
    pts = _place_villages(rng_for(1, 0), 12, radius=3.2, min_sep=0.45)
    assert pts.shape == (12, 2) and pts[0].tolist() == [0.0, 0.0]
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    assert d[~np.eye(12, dtype=bool)].min() >= 0.45
    assert _place_villages(rng_for(1, 0), 1, 3.2, 0.45).tolist() == [[0.0, 0.0]]


def test_names_are_two_characters_of_the_pool_and_a_suffix() -> None:
    names = _names(rng_for(1, 0), "东西", 20, ["镇", "乡"])
    assert len(names) == 20
    assert all(len(n) == 3 and set(n[:2]) <= {"东", "西"} and n[2] in "镇乡" for n in names)
    assert set(_names(rng_for(1, 0), "山", 3, "村")) == {"山山村"}


def test_small_county_layout(county) -> None:
    v = county.villages
    assert len(v) == 40 and county.n_shards == 1 and county.survey_plan == {}
    # 40 villages / 16 per township -> 2 townships, both in county 14 01 01 (18 townships a county)
    assert sorted(v["township_id"].unique()) == ["140101001", "140101002"]
    assert set(v["county_id"]) == {"140101"} and v["county_name"].nunique() == 1
    assert (v["village_id"].str[:9] == v["township_id"]).all() and v["village_id"].is_unique
    assert v["village_id"].str.fullmatch(r"\d{12}").all()
    # village codes run 001, 002, ... within a township; 001 is the seat
    seq = v["village_id"].str[9:].astype(int)
    assert (seq == v.groupby("township_id").cumcount() + 1).all()
    assert (v["is_seat"] == (seq == 1)).all() and v.groupby("township_id")["is_seat"].sum().tolist() == [1, 1]
    assert (v["shard"] == 0).all() and (v["township_index"] == v["township_id"].str[-1].astype(int) - 1).all()


def test_terrain_follows_the_configured_quantiles(county) -> None:
    # plain: elevation <= its 0.5 quantile, hill: <= the 0.8 quantile. With 40 distinct values
    # (linear interpolation) the 0.5 quantile lies between the 20th and 21st value and the 0.8
    # quantile (index 31.2) between the 32nd and 33rd: 20 plain, 12 hill, 8 mountain.
    assert county.villages["terrain"].value_counts().to_dict() == {"plain": 20, "hill": 12, "mountain": 8}


def test_police_seats_markets_and_roads(county, params) -> None:
    v = county.villages
    seats = v[v["is_seat"]]
    # the station is in the seat: road distance is the in-seat minimum, 0.6 km, and 0 km to the seat
    assert seats["road_km_police"].tolist() == [0.6, 0.6] and seats["dist_seat_km"].tolist() == [0.0, 0.0]
    assert not seats["has_police_post"].any() and seats["market_village"].all()
    assert (v.loc[v["has_police_post"], "road_km_police"] == params["geography"]["seat_road_km"]).all()
    assert (v["road_km_police"] >= 0.6).all()
    # road km = max(straight km to the nearest station or post of the township x the terrain's
    # winding (plain 1.25, hill 1.6, mountain 2.1), 0.6), rounded to 2 decimals
    winding = {"plain": 1.25, "hill": 1.6, "mountain": 2.1}
    for _, t in v.groupby("township_id"):
        police = t[t["is_seat"] | t["has_police_post"]]
        for r in t.itertuples():
            straight = np.hypot(police["x_km"] - r.x_km, police["y_km"] - r.y_km).min()
            assert r.road_km_police == pytest.approx(max(straight * winding[r.terrain], 0.6), abs=0.005)


def test_coordinates_are_the_km_offsets_around_the_centre(county, params) -> None:
    v, g = county.villages, params["geography"]
    # latitude = 37.90 + y / 111, rounded to 6 decimals
    assert (v["latitude"] - (g["center_lat"] + v["y_km"] / KM_PER_DEG_LAT)).abs().max() <= 5e-7
    # offsets are centred on the townships' mean seat position
    seats = v[v["is_seat"]]
    assert seats["x_km"].mean() == pytest.approx(0.0, abs=1e-9)
    assert seats["y_km"].mean() == pytest.approx(0.0, abs=1e-9)
    assert v["resident_pop"].dtype.kind == "i" and (v["resident_pop"] > 0).all()
    assert v["share_60"].between(0.18, 0.38).all() and v["migrant_rate"].between(0.02, 0.6).all()
    assert v["vulnerability"].mean() == pytest.approx(0.0, abs=1e-9)
    assert v["vulnerability"].std(ddof=0) == pytest.approx(1.0)


def test_same_seed_same_county_another_seed_another(params, county) -> None:
    pd.testing.assert_frame_equal(build_county(7, 40, params).villages, county.villages)
    assert not build_county(8, 40, params).villages["x_km"].equals(county.villages["x_km"])


def test_admin_codes_roll_over_counties_and_cities(params) -> None:
    # one township a county, two counties a city: townships 0..3 -> counties (city, county)
    # (1, 1), (1, 2), (2, 1), (2, 2); every township is number 001 of its county
    p = load_params(overrides={"geography": {"townships_per_county": 1, "counties_per_city": 2,
                                             "villages_per_township": 5},
                               "engine": {"shard_townships": 3}})
    v = build_county(2, 20, p).villages
    towns = v.drop_duplicates("township_id")
    assert towns["county_id"].tolist() == ["140101", "140102", "140201", "140202"]
    assert towns["township_id"].tolist() == ["140101001", "140102001", "140201001", "140202001"]
    # 3 townships a shard: townships 0, 1, 2 -> shard 0, township 3 -> shard 1
    assert towns["shard"].tolist() == [0, 0, 0, 1]
    assert build_county(2, 20, p).n_shards == 2


def test_survey_plan_spreads_each_wave_over_sampled_villages(county, params) -> None:
    planned = plan_survey(county, 7, 3, params)
    assert planned.villages is county.villages and planned.n_shards == county.n_shards
    assert sorted(planned.survey_plan) == [0, 1, 2]
    ids = set(county.villages["village_id"])
    for wave in planned.survey_plan.values():
        # 200 questionnaires a wave over at most 20 villages, none with zero
        assert sum(wave.values()) == 200 and 0 < len(wave) <= 20
        assert set(wave) <= ids and min(wave.values()) >= 1
    assert planned.survey_plan[0] != planned.survey_plan[1]
    small = plan_survey(build_county(7, 3, params), 7, 1, params)
    # fewer villages than villages_per_wave: all 3 sampled (each gets ~67 of 200)
    assert len(small.survey_plan[0]) == 3 and sum(small.survey_plan[0].values()) == 200
