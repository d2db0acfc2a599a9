"""Generate one shard (a group of townships): simulate, then write its landing files and truth parts.

The same function runs in-process for small counties and inside Spark `mapInPandas` for large
ones; a shard's output depends only on (seed, villages, years, start, parameters, shard).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthetic import assets
from synthetic.geography import County, rng_for
from synthetic.incidents import build_incidents, truth_counts
from synthetic.patrols import build_patrols
from synthetic.process import CATEGORIES, month_starts, simulate
from synthetic.survey import build_survey
from synthetic.writers import LandingWriter, RawJSON, csv_text, fmt_date, fmt_num, fmt_ts

COLUMNS = {
    "villages": ["village_id", "village_name", "township_id", "township_name", "county_id", "county_name",
                 "longitude", "latitude", "area_km2", "terrain", "updated_at"],
    "population": ["village_id", "snapshot_date", "households", "registered_pop", "resident_pop", "pop_under_15",
                   "pop_15_59", "pop_60_plus", "left_behind_children", "left_behind_elderly",
                   "migrant_workers_out", "low_income_households", "per_capita_income_yuan", "updated_at"],
    "incidents": ["incident_id", "reported_at", "occurred_at", "village_id", "longitude", "latitude", "category",
                  "severity", "source", "response_minutes", "status", "updated_at", "reporter_name",
                  "reporter_phone", "reporter_id_number", "narrative"],
    "patrols": ["patrol_id", "unit_id", "unit_type", "village_id", "started_at", "ended_at", "personnel", "mode",
                "distance_km", "checkpoints", "updated_at"],
    "organizations": ["org_id", "village_id", "org_type", "members", "trained_members", "established_on",
                      "dissolved_on", "updated_at"],
    "resources": ["resource_id", "resource_type", "village_id", "longitude", "latitude", "installed_on",
                  "removed_on", "status", "updated_at"],
    "survey": ["response_id", "village_id", "surveyed_on", "age_band", "gender", "q_safety", "q_trust_police",
               "q_participation", "q_satisfaction", "q_knows_grid_worker", "completed"],
}
TRUTH_VILLAGE_COLUMNS = [
    "village_id", "township_id", "is_seat", "terrain", "road_km_police", "has_police_post", "dist_seat_km",
    "remoteness", "longitude", "latitude", "area_km2", "resident_pop", "share_60", "migrant_rate",
    "low_income_rate", "income_yuan", "vulnerability", "org_strength", "gambling_spot", "market_village",
    "village_effect",
]
SOURCES = tuple(COLUMNS)


def _tag(shard: int) -> str:
    return f"s{shard:04d}"


def _at(day: Any, hhmmss: str = "09:00:00") -> np.ndarray:
    return np.char.add(fmt_date(day), f" {hhmmss}")


def _year_files(frame: pd.DataFrame, start: np.datetime64, source: str, shard: int):
    """Split rows by the year of their updated_at (rows before the start land in the first year's file)."""
    year = np.maximum(frame["_when"].to_numpy(), start).astype("datetime64[Y]").astype(str)
    for y in sorted(set(year)):
        yield f"{source}/{y}/{source}_{y}_{_tag(shard)}.csv", frame[year == y].sort_values(["_when", frame.columns[0]], kind="stable")


def generate_shard(county: County, shard: int, seed: int, start: date, years: int, params: dict[str, Any],
                   out: Path, dirty_rate: float, encodings: dict[str, str],
                   labels: dict[str, dict[str, list[str]]], truncate_shard: int = 0) -> dict[str, Any]:
    """Simulate one shard and write its landing files and truth parts; returns row and dirty counts."""
    v = county.villages[county.villages["shard"] == shard].reset_index(drop=True)
    rngs = {name: rng_for(seed, 1, shard, k) for k, name in enumerate(
        ("population", "orgs", "resources", "patrol", "crime", "detect", "incidents", "patrol_rows", "survey", "dirty"))}
    starts = month_starts(start, 12 * years)
    t0, t_end = starts[0], starts[-1]
    pop = assets.population_by_year(v, years, rngs["population"], params["population"])
    orgs = assets.organizations(v, t0, t_end, rngs["orgs"], params["organizations"])
    res = assets.resources(v, t0, t_end, years, rngs["resources"], params["resources"])
    world = simulate(v, pop, orgs, res, starts, rngs, params)
    writer = LandingWriter(out, seed * 1_000_003 + shard, dirty_rate, params["dirty"], labels, encodings)
    tag = _tag(shard)

    _write_villages(writer, v, t0, rngs["dirty"], params, tag)
    _write_population(writer, v, pop, start.year, tag)
    inc = build_incidents(world, v, rngs["incidents"], start.year, params)
    _write_incidents(writer, inc, shard, truncate=shard == truncate_shard)
    pat = build_patrols(world, v, rngs["patrol_rows"], params)
    _write_patrols(writer, pat, starts, params["patrols"]["timestamp_offset"], tag)
    _write_orgs(writer, v, orgs, t0, shard)
    _write_resources(writer, v, res, t0, shard)
    survey = build_survey(world, v, orgs, county.survey_plan, rngs["survey"], params)
    _write_survey(writer, survey, tag)

    truth = out / "_truth" / "_parts"
    ids = v["village_id"].to_numpy()
    _part(truth / "intensity" / f"{tag}.csv", _intensity(world, ids, params["truth"]["float_decimals"]))
    _part(truth / "counts" / f"{tag}.csv", truth_counts(world, ids))
    _part(truth / "villages" / f"{tag}.csv", _truth_villages(v, params["truth"]["float_decimals"]))
    _part(truth / "personal_values" / f"{tag}.csv", _personal(inc))
    _part(truth / "dirty_rows" / f"{tag}.csv", pd.DataFrame(writer.dirty, columns=[
        "source", "file", "line", "kind", "field", "expected_reason"]).sort_values(["source", "file", "line", "field"]))
    return {"shard": shard, "rows": writer.rows, "dirty": len(writer.dirty)}


def _part(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(frame), encoding="utf-8")


def _write_villages(w: LandingWriter, v: pd.DataFrame, t0: np.datetime64, rng: np.random.Generator,
                    params: dict[str, Any], tag: str) -> None:
    f = v.assign(
        longitude=fmt_num(v["longitude"], 6), latitude=fmt_num(v["latitude"], 6), area_km2=fmt_num(v["area_km2"], 2),
        updated_at=_at(t0 - 1),
    )
    w.write_csv("villages", f"villages/villages_{tag}.csv", f, COLUMNS["villages"])
    # A year later some villages are re-surveyed: a later version with a corrected area.
    upd = rng.random(len(v)) < params["geography"]["village_update_share"]
    if upd.any():
        day = np.datetime64(t0, "Y") + 1
        later = f[upd].assign(area_km2=fmt_num(v.loc[upd, "area_km2"] * rng.uniform(0.9, 1.1, int(upd.sum())), 2),
                              updated_at=_at(day.astype("datetime64[D]") + 14, "10:30:00"))
        v.loc[upd, "area_km2"] = later["area_km2"].astype(float).to_numpy()
        w.write_csv("villages", f"villages/updates/villages_{day}_{tag}.csv", later, COLUMNS["villages"])


def _write_population(w: LandingWriter, v: pd.DataFrame, pop: pd.DataFrame, year0: int, tag: str) -> None:
    for k, g in pop.groupby("year_index", sort=True):
        y = year0 + int(k)
        f = g.assign(village_id=v["village_id"].to_numpy()[g["v"]], snapshot_date=f"{y}-01-01",
                     per_capita_income_yuan=fmt_num(g["per_capita_income_yuan"], 0),
                     updated_at=f"{y}-01-15 10:00:00")
        w.write_csv("population", f"population/{y}/population_{y}_{tag}.csv", f.astype(str), COLUMNS["population"])


def _write_incidents(w: LandingWriter, inc: pd.DataFrame, shard: int, truncate: bool) -> None:
    f = inc.assign(
        reported_at=fmt_ts(inc["reported_at"]), occurred_at=fmt_ts(inc["occurred_at"]),
        updated_at=fmt_ts(inc["updated_at"]), longitude=fmt_num(inc["longitude"], 6),
        latitude=fmt_num(inc["latitude"], 6), severity=inc["severity"].astype(str),
        response_minutes=fmt_num(inc["response_minutes"], 1),
    )
    month = inc["updated_at"].to_numpy().astype("datetime64[M]").astype(str)
    months = sorted(set(month))
    for ym in months:
        rel = f"incidents/{ym[:4]}/incidents_{ym}_{_tag(shard)}.csv"
        w.write_csv("incidents", rel, f[month == ym], COLUMNS["incidents"], truncate=truncate and ym == months[-1])


def _write_patrols(w: LandingWriter, pat: pd.DataFrame, starts: np.ndarray, offset: str, tag: str) -> None:
    started, ended = fmt_ts(pat["started_at"], offset), fmt_ts(pat["ended_at"], offset)
    dist = np.where(pat["distance_km"].isna(), "null", pat["distance_km"].astype(str))
    cols = [np.asarray(c).tolist() for c in (
        pat["patrol_id"], pat["unit_id"], pat["unit_type"], pat["village_id"], started, ended,
        pat["personnel"], pat["mode"], dist, pat["checkpoints"])]
    lines = [
        f'{{"patrol_id":"{a}","unit_id":"{b}","unit_type":"{c}","village_id":"{d}","started_at":"{e}",'
        f'"ended_at":"{f}","personnel":{g},"mode":"{h}","distance_km":{i},"checkpoints":{j},"updated_at":"{f}"}}'
        for a, b, c, d, e, f, g, h, i, j in zip(*cols, strict=True)
    ]

    def record(k: int) -> dict[str, Any]:
        d = pat["distance_km"].iat[k]
        return {"patrol_id": pat["patrol_id"].iat[k], "unit_id": pat["unit_id"].iat[k],
                "unit_type": pat["unit_type"].iat[k], "village_id": pat["village_id"].iat[k],
                "started_at": str(started[k]), "ended_at": str(ended[k]), "personnel": int(pat["personnel"].iat[k]),
                "mode": pat["mode"].iat[k], "distance_km": None if np.isnan(d) else float(d),
                "checkpoints": RawJSON(pat["checkpoints"].iat[k]), "updated_at": str(ended[k])}

    bounds = np.searchsorted(pat["m"].to_numpy(), np.arange(len(starts)))
    for k in range(len(starts) - 1):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        ym = str(starts[k].astype("datetime64[M]"))
        w.write_jsonl("patrols", f"patrols/{ym[:4]}/patrols_{ym}_{tag}.jsonl", lines[lo:hi],
                      lambda i, lo=lo: record(lo + i))


def _write_orgs(w: LandingWriter, v: pd.DataFrame, orgs: pd.DataFrame, t0: np.datetime64, shard: int) -> None:
    base = orgs.assign(village_id=v["village_id"].to_numpy()[orgs["v"]], members=orgs["members"].astype(str),
                       trained_members=orgs["trained_members"].astype(str),
                       established_on=fmt_date(orgs["established_on"]))
    first = base.assign(dissolved_on="", _when=orgs["established_on"].to_numpy(),
                        updated_at=_at(np.maximum(orgs["established_on"].to_numpy(), t0 - 1)))
    gone = orgs["dissolved_on"].notna().to_numpy()
    later = base[gone].assign(dissolved_on=fmt_date(orgs.loc[gone, "dissolved_on"]),
                              _when=orgs.loc[gone, "dissolved_on"].to_numpy(),
                              updated_at=_at(orgs.loc[gone, "dissolved_on"], "16:00:00"))
    for rel, f in _year_files(pd.concat([first, later], ignore_index=True), t0, "organizations", shard):
        w.write_csv("organizations", rel, f, COLUMNS["organizations"])


def _write_resources(w: LandingWriter, v: pd.DataFrame, res: pd.DataFrame, t0: np.datetime64, shard: int) -> None:
    vi = res["v"].to_numpy()
    has = res["has_coords"].to_numpy()
    lat0 = v["latitude"].to_numpy()[vi]
    base = res.assign(
        village_id=v["village_id"].to_numpy()[vi],
        longitude=np.where(has, fmt_num(v["longitude"].to_numpy()[vi] + res["dx"] / (111 * np.cos(np.radians(lat0))), 6), ""),
        latitude=np.where(has, fmt_num(lat0 + res["dy"] / 111, 6), ""),
        installed_on=fmt_date(res["installed_on"]),
    )
    first = base.assign(removed_on="", status="working", _when=res["installed_on"].to_numpy(),
                        updated_at=_at(np.maximum(res["installed_on"].to_numpy(), t0 - 1), "11:00:00"))
    br = res["broken_on"].notna().to_numpy()
    broken = base[br].assign(removed_on="", status="broken", _when=res.loc[br, "broken_on"].to_numpy(),
                             updated_at=_at(res.loc[br, "broken_on"], "15:00:00"))
    rm = res["removed_on"].notna().to_numpy()
    removed = base[rm].assign(removed_on=fmt_date(res.loc[rm, "removed_on"]), status="broken",
                              _when=res.loc[rm, "removed_on"].to_numpy(), updated_at=_at(res.loc[rm, "removed_on"], "15:30:00"))
    for rel, f in _year_files(pd.concat([first, broken, removed], ignore_index=True), t0, "resources", shard):
        w.write_csv("resources", rel, f, COLUMNS["resources"])


def _write_survey(w: LandingWriter, s: pd.DataFrame, tag: str) -> None:
    if s.empty:
        return
    year = s["surveyed_on"].to_numpy().astype("datetime64[Y]").astype(str)
    f = s.assign(surveyed_on=fmt_date(s["surveyed_on"])).astype(str)
    for y in sorted(set(year)):
        part = f[year == y].reset_index(drop=True)
        natural = {i: ("invalid_response", inv, "invalid_response") for i, inv in enumerate(part["_invalid"]) if inv}
        w.write_csv("survey", f"survey/{y}/survey_{y}_{tag}.csv", part, COLUMNS["survey"], natural=natural)


def _intensity(world, ids: np.ndarray, decimals: int) -> pd.DataFrame:
    n_m, n_v, _ = world.lam.shape
    lam = world.lam.reshape(n_m * n_v, -1).astype(float)
    out = pd.DataFrame({"village_id": np.tile(ids, n_m), "period_start": np.repeat(world.month_starts[:-1].astype(str), n_v)})
    out["expected_total"] = np.round(lam.sum(axis=1), decimals)
    for j, c in enumerate(CATEGORIES):
        out[c] = np.round(lam[:, j], decimals)
    return out.sort_values(["village_id", "period_start"], kind="stable")


def _truth_villages(v: pd.DataFrame, decimals: int) -> pd.DataFrame:
    return v[TRUTH_VILLAGE_COLUMNS].round(decimals)


def _personal(inc: pd.DataFrame) -> pd.DataFrame:
    parts = [pd.DataFrame({"kind": k, "value": inc[c][inc[c] != ""].unique()})
             for k, c in (("name", "reporter_name"), ("phone", "reporter_phone"), ("id_number", "reporter_id_number"))]
    return pd.concat(parts, ignore_index=True).sort_values(["kind", "value"], kind="stable")
