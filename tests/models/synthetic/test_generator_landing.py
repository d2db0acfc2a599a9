"""The landing files follow the contract exactly, and every dirty row is listed and really dirty."""

from __future__ import annotations

import csv
import functools
import io
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

# Hand-copied from the landing contract (shared/contracts/landing.md, v1).
CONTRACT = {
    "villages": "village_id,village_name,township_id,township_name,county_id,county_name,longitude,latitude,"
                "area_km2,terrain,updated_at",
    "population": "village_id,snapshot_date,households,registered_pop,resident_pop,pop_under_15,pop_15_59,"
                  "pop_60_plus,left_behind_children,left_behind_elderly,migrant_workers_out,"
                  "low_income_households,per_capita_income_yuan,updated_at",
    "incidents": "incident_id,reported_at,occurred_at,village_id,longitude,latitude,category,severity,source,"
                 "response_minutes,status,updated_at,reporter_name,reporter_phone,reporter_id_number,narrative",
    "patrols": "patrol_id,unit_id,unit_type,village_id,started_at,ended_at,personnel,mode,distance_km,"
               "checkpoints,updated_at",
    "organizations": "org_id,village_id,org_type,members,trained_members,established_on,dissolved_on,updated_at",
    "resources": "resource_id,resource_type,village_id,longitude,latitude,installed_on,removed_on,status,updated_at",
    "survey": "response_id,village_id,surveyed_on,age_band,gender,q_safety,q_trust_police,q_participation,"
              "q_satisfaction,q_knows_grid_worker,completed",
}
ENCODING = {"villages": "gb18030", "incidents": "gb18030"}   # as the fixture asks
TYPES = {
    "timestamp": ("reported_at", "occurred_at", "updated_at", "started_at", "ended_at"),
    "date": ("snapshot_date", "established_on", "dissolved_on", "installed_on", "removed_on", "surveyed_on"),
    "int": ("households", "registered_pop", "resident_pop", "pop_under_15", "pop_15_59", "pop_60_plus",
            "left_behind_children", "left_behind_elderly", "migrant_workers_out", "low_income_households",
            "severity", "personnel", "members", "trained_members"),
    "double": ("longitude", "latitude", "area_km2", "per_capita_income_yuan", "response_minutes", "distance_km"),
}
CODE_LISTS = {"terrain": "terrain", "category": "incident_category", "source": "incident_source",
              "status": ("incident_status", "resource_status"), "unit_type": "unit_type", "mode": "patrol_mode",
              "org_type": "org_type", "resource_type": "resource_type", "age_band": "age_band"}


def _files(root: Path, source: str) -> list[Path]:
    return sorted(p for p in (root / source).rglob("*") if p.is_file())


@functools.cache
def _lines(path: Path, source: str) -> list[str]:
    return path.read_bytes().decode(ENCODING.get(source, "utf-8")).split("\n")


def _row(path: Path, source: str, line: int) -> dict | list | None:
    """The record at a physical line: a dict, or the raw field list / None when it does not parse."""
    text = _lines(path, source)[line - 1]
    if source == "patrols":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    fields = next(csv.reader(io.StringIO(text)))
    header = CONTRACT[source].split(",")
    return dict(zip(header, fields, strict=True)) if len(fields) == len(header) else fields


def _parses(kind: str, value) -> bool:
    s = "" if value is None else str(value)
    try:
        if kind == "timestamp":
            datetime.fromisoformat(s.replace(" ", "T"))
        elif kind == "date":
            datetime.strptime(s, "%Y-%m-%d")
        elif kind == "int":
            int(s)
        else:
            float(s)
        return True
    except ValueError:
        return False


def _type_of(field: str) -> str:
    return next(k for k, fields in TYPES.items() if field in fields)


@functools.cache
def _codes(field: str, labels: bool) -> set[str]:
    from conf import load_yaml

    codes = load_yaml("codes.yaml")
    lists = CODE_LISTS[field] if isinstance(CODE_LISTS[field], tuple) else (CODE_LISTS[field],)
    out = set()
    for name in lists:
        for code, lab in codes[name].items():
            out |= set(lab or []) if labels else {str(code)}
    return out


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=None)


RULES = {
    "occurred_after_reported": lambda r: _ts(r["occurred_at"]) > _ts(r["reported_at"]),
    "ended_before_started": lambda r: _ts(r["ended_at"]) <= _ts(r["started_at"]),
    "patrol_over_24h": lambda r: (_ts(r["ended_at"]) - _ts(r["started_at"])).total_seconds() > 86400,
    "population_age_sum": lambda r: abs(int(r["pop_under_15"]) + int(r["pop_15_59"]) + int(r["pop_60_plus"])
                                        - int(r["resident_pop"])) > 0.05 * int(r["resident_pop"]),
    "low_income_gt_households": lambda r: int(r["low_income_households"]) > int(r["households"]),
    "trained_gt_members": lambda r: int(r["trained_members"]) > int(r["members"]),
    "dissolved_before_established": lambda r: r["dissolved_on"] < r["established_on"],
    "removed_before_installed": lambda r: r["removed_on"] < r["installed_on"],
}


def _really_dirty(root: Path, d: pd.Series, village_ids: set[str]) -> bool:
    path = root / d["file"]
    rec = _row(path, d["source"], int(d["line"]))
    kind, field = d["kind"], d["field"] if isinstance(d["field"], str) else ""
    if kind == "malformed_line":
        return not isinstance(rec, dict)
    assert isinstance(rec, dict), f"{d['file']}:{d['line']} does not parse but is listed as {kind}"
    value = rec.get(field)
    if kind == "duplicate_row":
        text = _lines(path, d["source"])
        return text[int(d["line"]) - 1] in text[: int(d["line"]) - 1]
    if kind == "missing_required":
        return value in ("", None)
    if kind == "bad_type":
        return value not in ("", None) and not _parses(_type_of(field), value)
    if kind == "future_timestamp":
        return _ts(value) > datetime.now()
    if kind == "out_of_range":
        x = float(value)
        limits = {"longitude": (-180, 180), "latitude": (-90, 90), "severity": (1, 4), "personnel": (1, 1e9)}
        lo, hi = limits.get(field, (0, float("inf")))
        return x < lo or x > hi or (field == "area_km2" and x <= 0)
    if kind == "bad_code":
        return value not in _codes(field, labels=False) | _codes(field, labels=True)
    if kind == "chinese_label":
        return value in _codes(field, labels=True)
    if kind == "unknown_village":
        return value not in village_ids
    if kind == "inconsistent":
        return RULES[field](rec)
    if kind == "invalid_response":
        items = [rec[q] for q in ("q_safety", "q_trust_police", "q_participation", "q_satisfaction")]
        return rec["completed"] != "true" or any(not (i.isdigit() and 1 <= int(i) <= 5) for i in items)
    raise AssertionError(f"unknown kind {kind}")


def test_every_source_has_the_contract_columns(small_county: Path) -> None:
    for source, header in CONTRACT.items():
        files = _files(small_county, source)
        assert files, f"no {source} files"
        for path in files:
            first = _lines(path, source)[0]
            if source == "patrols":
                assert ",".join(json.loads(first)) == header, path
            else:
                assert first == header, path


def test_every_dirty_row_exists_and_is_dirty_in_the_stated_way(small_county: Path) -> None:
    dirty = pd.read_csv(small_county / "_truth" / "dirty_rows.csv", dtype=str, keep_default_na=False)
    ids = set(pd.read_csv(small_county / "_truth" / "villages.csv", dtype=str)["village_id"])
    kinds = set(dirty["kind"])
    assert {"missing_required", "bad_type", "out_of_range", "duplicate_row", "chinese_label",
            "malformed_line", "invalid_response"} <= kinds
    not_dirty = [f"{d.file}:{d.line} {d.kind} {d.field}" for d in dirty.itertuples()
                 if not _really_dirty(small_county, pd.Series(d._asdict()), ids)]
    assert not_dirty == []
    reasons = dirty.apply(lambda d: d["expected_reason"] == (
        "" if d["kind"] in ("duplicate_row", "chinese_label") else
        d["kind"] if d["kind"] in ("unknown_village", "malformed_line", "invalid_response") else
        f"{d['kind']}:{d['field']}"), axis=1)
    assert reasons.all(), dirty[~reasons].head()


def test_rows_not_listed_as_dirty_are_clean(small_county: Path) -> None:
    dirty = pd.read_csv(small_county / "_truth" / "dirty_rows.csv", dtype=str, keep_default_na=False)
    listed = set(zip(dirty["file"], dirty["line"].astype(int), strict=True))
    ids = set(pd.read_csv(small_county / "_truth" / "villages.csv", dtype=str)["village_id"])
    problems = []
    for source in CONTRACT:
        for path in _files(small_county, source):
            rel = path.relative_to(small_county).as_posix()
            n = len(_lines(path, source))
            first = 1 if source == "patrols" else 2
            for line in range(first, n + 1):
                if (rel, line) in listed or not _lines(path, source)[line - 1]:
                    continue
                rec = _row(path, source, line)
                ok = isinstance(rec, dict) and all(
                    (rec.get(f) in ("", None) or _parses(_type_of(f), rec[f]))
                    for f in rec if any(f in fs for fs in TYPES.values())
                ) and all(rec[f] in _codes(f, labels=False) for f in rec if f in CODE_LISTS and rec[f] != "")
                ok = ok and (rec.get("village_id") in ids or (source == "incidents" and rec["village_id"] == ""))
                if not ok:
                    problems.append(f"{rel}:{line}")
    assert problems == []


def test_gb18030_sources_are_gb18030_and_the_others_utf8(small_county: Path) -> None:
    for source in ("villages", "incidents", "organizations"):
        raw = b"".join(p.read_bytes() for p in _files(small_county, source))
        if source in ENCODING:
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        assert "村" in raw.decode(ENCODING.get(source, "utf-8")) or source == "organizations"
        raw.decode(ENCODING.get(source, "utf-8"))


def test_some_file_ends_with_a_truncated_line(small_county: Path) -> None:
    dirty = pd.read_csv(small_county / "_truth" / "dirty_rows.csv", dtype=str, keep_default_na=False)
    truncated = [f for f in dirty.loc[dirty["kind"] == "malformed_line", "file"].unique()
                 if not (small_county / f).read_bytes().endswith(b"\n")]
    assert truncated


def test_a_truncated_villages_file_keeps_every_village(tmp_path: Path) -> None:
    from models.synthetic import code_labels, load_params
    from models.synthetic.writers import LandingWriter

    rows = pd.DataFrame({c: ["x"] * 2 for c in CONTRACT["villages"].split(",")})
    rows["village_id"] = ["410101001001", "410101001002"]
    rows["updated_at"] = "2020-12-31 09:00:00"
    w = LandingWriter(tmp_path, 1, 0.01, load_params()["dirty"], code_labels())
    w.write_csv("villages", "villages/v.csv", rows, CONTRACT["villages"].split(","), truncate=True)
    text = (tmp_path / "villages" / "v.csv").read_text().split("\n")
    assert [t.split(",")[0] for t in text] == ["village_id", "410101001001", "410101001002", "410101001002"]
    assert text[2] == "410101001002,x,x,x,x,x,x,x,x,x,2020-12-31 09:00:00"
    assert text[3] == "410101001002,x,x"
    assert w.dirty == [{"source": "villages", "file": "villages/v.csv", "line": 4, "kind": "malformed_line",
                        "field": "", "expected_reason": "malformed_line"}]
