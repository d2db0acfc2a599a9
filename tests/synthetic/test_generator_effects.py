"""Each structural effect of the data-generating process shows in the generated county."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _truth(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "_truth" / f"{name}.csv", dtype={"village_id": str, "township_id": str})


def _recorded(inc: pd.DataFrame) -> pd.DataFrame:
    """True incidents as landed (false alarms dropped), with a year column."""
    out = inc[inc["status"] != "false_alarm"].copy()
    out["year"] = out["reported_at"].str[:4]
    return out


def test_recorded_counts_rise_with_vulnerability(effects_county: Path, incidents_of) -> None:
    villages = _truth(effects_county, "villages")
    inc = _recorded(incidents_of(effects_county))
    per_village = inc[inc["village_id"] != ""].groupby("village_id").size()
    villages["rate"] = villages["village_id"].map(per_village).fillna(0) / villages["resident_pop"] * 1000
    low, high = villages["vulnerability"].quantile([1 / 3, 2 / 3])
    assert villages.loc[villages["vulnerability"] >= high, "rate"].mean() > 1.2 * villages.loc[
        villages["vulnerability"] <= low, "rate"].mean()


def test_seasonal_peaks_where_configured(effects_county: Path) -> None:
    lam = _truth(effects_county, "intensity")
    lam["month"] = lam["period_start"].str[5:7].astype(int)
    by_month = lam.groupby("month")[["crop_theft", "dispute", "gambling"]].mean()
    assert by_month["crop_theft"].idxmax() in (9, 10)          # harvest
    assert by_month["dispute"].idxmax() in (6, 7, 8)           # summer disputes
    assert by_month["gambling"].idxmax() in (1, 2)             # Spring Festival
    assert by_month.loc[[1, 2], "gambling"].mean() > 1.4 * by_month.loc[4:11, "gambling"].mean()


def test_telecom_fraud_share_rises_over_the_years(effects_county: Path, incidents_of) -> None:
    inc = _recorded(incidents_of(effects_county))
    share = inc.groupby("year")["category"].apply(lambda c: (c == "telecom_fraud").mean())
    assert share.iloc[-1] > 1.5 * share.iloc[0]


def test_near_repeat_raises_next_months_intensity(effects_county: Path) -> None:
    lam = _truth(effects_county, "intensity").set_index(["village_id", "period_start"])["theft"]
    counts = _truth(effects_county, "counts")
    theft = counts[counts["category"] == "theft"].set_index(["village_id", "period_start"])["true_count"]
    months = sorted(lam.index.get_level_values(1).unique())
    nxt = dict(zip(months[:-1], months[1:], strict=True))
    pairs = pd.DataFrame({"hit": theft}).reset_index()
    pairs = pairs[pairs["period_start"].isin(nxt)]
    after = lam.loc[list(zip(pairs["village_id"], pairs["period_start"].map(nxt), strict=True))].to_numpy()
    # Paired within a village: the month after a theft against the village's average month.
    base = lam.groupby(level=0).mean().loc[pairs["village_id"]].to_numpy()
    assert np.mean(after - base) > 0.1


def test_more_patrol_raises_patrol_found_share_without_changing_true_crime(tmp_path: Path, make_county,
                                                                         incidents_of) -> None:
    runs = {}
    for mult in (0.3, 3.0):
        out = make_county(tmp_path / f"x{mult}", villages=60, years=2, seed=3, dirty_rate=0.0, overrides={
            "patrols": {"intensity_multiplier": mult}, "incidents": {"deterrence": {"max_reduction": 0.0}}})
        inc = _recorded(incidents_of(out))
        runs[mult] = ((inc["source"] == "patrol_found").mean(), _truth(out, "counts"))
    assert runs[3.0][0] > runs[0.3][0] + 0.05
    pd.testing.assert_frame_equal(runs[0.3][1][["village_id", "period_start", "category", "true_count"]],
                                  runs[3.0][1][["village_id", "period_start", "category", "true_count"]])


def test_patrol_deters_with_diminishing_returns(tmp_path: Path, make_county) -> None:
    total = {}
    for mult in (0.0, 1.0, 4.0):
        out = make_county(tmp_path / f"d{mult}", villages=30, years=1, seed=5, dirty_rate=0.0,
                          overrides={"patrols": {"intensity_multiplier": mult},
                                     "incidents": {"excitation": {"self": {"default": 0.0}, "neighbour": {
                                         "default": 0.0}}}})
        total[mult] = _truth(out, "intensity")["expected_total"].sum()
    assert total[0.0] > total[1.0] > total[4.0]
    assert total[0.0] - total[1.0] > (total[1.0] - total[4.0]) / 3   # the first hours buy the most


def test_response_time_grows_with_road_distance(effects_county: Path, incidents_of) -> None:
    villages = _truth(effects_county, "villages").set_index("village_id")
    inc = incidents_of(effects_county)
    calls = inc[(inc["source"] == "citizen_call") & (inc["village_id"] != "")]
    km = villages.loc[calls["village_id"], "road_km_police"].to_numpy()
    assert np.corrcoef(km, calls["response_minutes"].astype(float))[0, 1] > 0.3


def test_survey_safety_follows_true_crime(effects_county: Path) -> None:
    files = sorted((effects_county / "survey").rglob("*.csv"))
    s = pd.concat([pd.read_csv(f, dtype={"village_id": str}) for f in files])
    s = s[s["completed"] & s["q_safety"].between(1, 5)]
    counts = _truth(effects_county, "counts").groupby("village_id")["true_count"].sum()
    villages = _truth(effects_county, "villages").set_index("village_id")
    rate = (counts / villages["resident_pop"]).fillna(0)
    mean_safety = s.groupby("village_id")["q_safety"].mean()
    assert np.corrcoef(rate.loc[mean_safety.index], mean_safety)[0, 1] < -0.2


def test_incidents_without_village_snap_to_their_village(effects_county: Path, incidents_of) -> None:
    villages = _truth(effects_county, "villages")
    inc = incidents_of(effects_county)
    loose = inc[(inc["village_id"] == "") & (inc["longitude"] != "")]
    assert len(loose) > 10
    lon, lat = loose["longitude"].astype(float).to_numpy(), loose["latitude"].astype(float).to_numpy()
    d = np.hypot(lon[:, None] - villages["longitude"].to_numpy()[None, :],
                 lat[:, None] - villages["latitude"].to_numpy()[None, :])
    # The narrative names no village id; the incident id does (A + village id + month + seq).
    assert (villages["village_id"].to_numpy()[d.argmin(axis=1)] == loose["incident_id"].str[1:13]).all()
