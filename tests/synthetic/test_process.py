"""synthetic/process.py on its own: months, per-category tables, the calendar factors (Spring
Festival 2021 by hand), the village rate terms, the neighbour weights and one simulated year's
intensity rebuilt from its terms."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from synthetic import assets, load_params
from synthetic.geography import build_county, rng_for
from synthetic.process import (
    CATEGORIES,
    active_orgs,
    by_category,
    category_shares,
    month_starts,
    neighbour_matrix,
    seasonal_factor,
    simulate,
    spring_festival_factor,
    structural_rate,
)

THEFT, CROP = CATEGORIES.index("theft"), CATEGORIES.index("crop_theft")


def test_month_starts_from_any_day_of_the_month() -> None:
    assert month_starts(date(2021, 11, 15), 3).astype(str).tolist() == [
        "2021-11-01", "2021-12-01", "2022-01-01", "2022-02-01"]


def test_by_category_with_and_without_a_default() -> None:
    assert by_category({"theft": 2, "default": 0.5})[[THEFT, CROP]].tolist() == [2.0, 0.5]
    assert by_category({"theft": 2}, 1.0)[CROP] == 1.0
    assert by_category({"theft": 2})[CROP] == 0.0
    assert len(by_category({})) == 15


SF = {"days_before": 20, "days_after": 15, "multiplier": {"theft": 1.6}}


def test_spring_festival_window_shared_between_january_and_february() -> None:
    # lunar new year 2021: 12 February; window 23 Jan (12 Feb - 20) to 27 Feb (12 Feb + 15), 35 days:
    # 9 of them in January, 26 in February. theft x (1 + share x 0.6): 1.154286, 1.445714
    f = spring_festival_factor(month_starts(date(2021, 1, 1), 3), {"spring_festival": SF})
    assert f.shape == (3, 15)
    assert f[:, THEFT] == pytest.approx([1 + 9 / 35 * 0.6, 1 + 26 / 35 * 0.6, 1.0])
    assert np.delete(f, THEFT, axis=1).tolist() == np.ones((3, 14)).tolist()


def test_seasonal_factor_is_the_calendar_month_times_the_festival() -> None:
    p = {"seasonality": {"crop_theft": {9: 2.2}}, "spring_festival": SF}
    f = seasonal_factor(month_starts(date(2021, 1, 1), 12), p)
    expected = np.ones((12, 15))
    expected[8, CROP] = 2.2
    expected[0, THEFT], expected[1, THEFT] = 1 + 9 / 35 * 0.6, 1 + 26 / 35 * 0.6
    assert f == pytest.approx(expected)
    # a year from July 2021: September is row 2, and the festival is that of 2022 (1 February:
    # window 12 Jan - 16 Feb, 20 days in January, 15 in February) in rows 6 and 7
    g = seasonal_factor(month_starts(date(2021, 7, 1), 12), p)
    assert g[:, CROP].tolist() == pytest.approx([1, 1, 2.2] + [1] * 9)
    assert g[:, THEFT] == pytest.approx([1] * 6 + [1 + 20 / 35 * 0.6, 1 + 15 / 35 * 0.6] + [1] * 4)


def _villages() -> pd.DataFrame:
    return pd.DataFrame({
        "terrain": ["plain", "mountain"], "remoteness": [2.0, 0.0], "is_seat": [True, False],
        "gambling_spot": [False, False], "market_village": [True, False], "vulnerability": [1.0, 0.0],
        "share_60": [0.27, 0.27], "migrant_rate": [0.22, 0.22], "village_effect": [-0.1, 0.0],
    })


POP = {"share_60_mean": 0.27, "share_60_sd": 0.03, "migrant_rate_mean": 0.22, "migrant_rate_sd": 0.06}


def test_category_shares_follow_the_profile() -> None:
    p = {"category_share": {"default": 1.0}, "category_profile": {"theft": {"seat": math.log(2)}}}
    s = category_shares(_villages(), p, POP)
    # the seat: theft weight 2, the other 14 weight 1 -> 2/16 and 1/16; elsewhere 1/15 each
    assert s[0, THEFT] == pytest.approx(0.125) and s[0, CROP] == pytest.approx(0.0625)
    assert s[1] == pytest.approx(np.full(15, 1 / 15))
    assert s.sum(axis=1) == pytest.approx([1.0, 1.0])


def test_structural_rate_by_hand() -> None:
    c = {"vulnerability": 0.3, "remoteness": 0.05, "seat": 0.25, "gambling_spot": 0.2, "market_village": 0.15}
    # village 0: 0.3 x 1 + 0.05 x 2 + 0.25 + 0.15 - 0.1 = 0.7; village 1: 0
    assert structural_rate(_villages(), {"coef": c}) == pytest.approx([math.exp(0.7), 1.0])


def test_neighbour_weights_within_the_radius_of_the_same_township() -> None:
    v = pd.DataFrame({"township_index": [0, 0, 0, 1, 0], "x_km": [0.0, 1.0, 3.0, 0.5, 10.0], "y_km": 0.0})
    w = neighbour_matrix(v, {"excitation": {"neighbour_radius_km": 4.0, "neighbour_scale_km": 2.0}}).toarray()
    # blocks in township order: rows/columns 0, 1, 2, 4 (township 0) then 3 (township 1).
    # village 0: e^-0.5 to village 1, e^-1.5 to village 2 -> 1/(1+e^-1) = 0.731059, 0.268941;
    # village 1: e^-0.5, e^-1 -> 0.622459, 0.377541; village 2: e^-1.5 (3 km), e^-1 (2 km)
    # -> 0.377541, 0.622459; village 4 (10 km away) and the lone village 3: no neighbours
    a, b = 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(-0.5))
    assert w == pytest.approx(np.array([
        [0, a, 1 - a, 0, 0], [b, 0, 1 - b, 0, 0], [1 - b, b, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        abs=1e-6)


def test_active_orgs_of_one_type() -> None:
    orgs = pd.DataFrame({"v": [0, 1, 1], "org_type": ["grid_workers", "grid_workers", "volunteer_patrol"],
                         "established_on": np.array(["2021-01-01", "2021-02-10", "2020-01-01"], "datetime64[D]"),
                         "dissolved_on": np.array(["2021-02-01", "NaT", "NaT"], "datetime64[D]")})
    days = month_starts(date(2021, 1, 1), 3)[:-1]
    assert active_orgs(orgs, "grid_workers", days, 2).tolist() == [[True, False], [False, False], [False, True]]


@pytest.fixture(scope="module")
def world():
    params = load_params(overrides={"patrols": {"intensity_multiplier": 0.0}})
    v = build_county(4, 30, params).villages
    starts = month_starts(date(2021, 1, 1), 12)
    pop = assets.population_by_year(v, 1, rng_for(4, 1), params["population"])
    orgs = assets.organizations(v, starts[0], starts[-1], rng_for(4, 2), params["organizations"])
    res = assets.resources(v, starts[0], starts[-1], 1, rng_for(4, 3), params["resources"])
    rngs = {k: rng_for(4, 9, i) for i, k in enumerate(("patrol", "crime", "detect"))}
    return v, pop, params, simulate(v, pop, orgs, res, starts, rngs, params)


def test_world_shapes_and_who_records(world) -> None:
    v, pop, _, w = world
    assert w.lam.shape == (12, 30, 15) and w.sessions.shape == (12, 30, 6) and w.dose.shape == (12, 30)
    assert w.month_starts.astype(str)[[0, -1]].tolist() == ["2021-01-01", "2022-01-01"]
    assert (w.patrol_found + w.reported <= w.true_n).all() and (w.lam > 0).all()
    # no patrol at all: no session, no dose, nothing found by patrol
    assert w.sessions.sum() == 0 and w.dose.sum() == 0 and w.patrol_found.sum() == 0
    assert w.reported.sum() > 0
    # one registry year: every month uses its resident population and 60+ share
    assert w.resident.tolist() == [pop["resident_pop"].astype(float).tolist()] * 12
    assert w.share_60.tolist() == [pop["share_60"].tolist()] * 12


def test_intensity_is_structure_season_and_near_repeat(world) -> None:
    v, pop, params, w = world
    ip, popp = params["incidents"], params["population"]
    # no patrol: deterrence 1. month 0: base x structure x mix x size^0.85 x season (trend e^0 = 1),
    # telecom fraud x (60+ share / 0.27)^1.5
    resident = pop["resident_pop"].to_numpy(float)
    mu0 = (ip["base_per_1000"] * structural_rate(v, ip)[:, None] * category_shares(v, ip, popp)
           * (resident / 1000)[:, None] ** ip["size_elasticity"]
           * seasonal_factor(w.month_starts, ip)[0])
    tel = CATEGORIES.index("telecom_fraud")
    mu0[:, tel] *= (pop["share_60"].to_numpy() / popp["share_60_mean"]) ** ip["telecom_elderly_elasticity"]
    assert w.lam[0] == pytest.approx(mu0, rel=1e-5)
    # month 1 adds last month's true counts: self x n + neighbour x (W n)
    ex = ip["excitation"]
    trend1 = np.exp(by_category(ip["trend_per_year"], 0.0) / 12)
    mu1 = mu0 / seasonal_factor(w.month_starts, ip)[0] * seasonal_factor(w.month_starts, ip)[1] * trend1
    n0 = w.true_n[0].astype(float)
    excite = by_category(ex["self"]) * n0 + by_category(ex["neighbour"]) * (neighbour_matrix(v, ip) @ n0)
    assert w.lam[1] == pytest.approx(mu1 + excite, rel=1e-5)
