"""Dirty data of the kinds real exports have, each listed with the reason ingestion must give.

Kinds and reason codes follow docs/quality.md. A mutation changes one thing so that one
reason applies; `SPECS` says which fields of each source a kind may touch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

LOCAL_TS = "%Y-%m-%d %H:%M:%S"

BAD_TYPE = {
    "timestamp": ["2021年3月5日下午", "30/02/2021 25:00", "yesterday"],
    "date": ["2021-02-30", "2021/13/01", "去年"],
    "int": ["two", "十二", "N/A"],
    "double": ["abc", "约3.5", "N/A"],
}
BAD_CODES = {
    "terrain": ["swamp", "高原"], "incident_category": ["robbery", "抢劫案"],
    "incident_source": ["wechat", "微信群"], "incident_status": ["closed", "已办结"],
    "unit_type": ["militia", "民兵"], "patrol_mode": ["horse", "drone"], "org_type": ["book_club", "读书会"],
    "resource_type": ["drone", "无人机"], "resource_status": ["lost", "丢失"], "age_band": ["70+", "六十岁以上"],
}


@dataclass(frozen=True)
class Spec:
    """Which fields of a source each dirty kind may touch."""

    required: tuple[str, ...]
    types: dict[str, str]
    out_of_range: dict[str, list[Any]]
    codes: dict[str, str] = field(default_factory=dict)   # field -> code list in conf/codes.yaml
    village: bool = True
    future: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    copy_mode: bool = False      # dirty rows are extra (older) copies: master data is never lost


SPECS: dict[str, Spec] = {
    "villages": Spec(
        ("village_name", "township_id", "updated_at"), {"area_km2": "double", "longitude": "double"},
        {"longitude": [181.5, -200.0], "latitude": [95.0], "area_km2": [0, -1.5]},
        {"terrain": "terrain"}, village=False, copy_mode=True,
    ),
    "population": Spec(
        ("village_id", "snapshot_date", "updated_at"), {"snapshot_date": "date", "households": "int"},
        {"per_capita_income_yuan": [-1200.0], "migrant_workers_out": [-3], "left_behind_children": [-1]},
        rules=("population_age_sum", "low_income_gt_households"),
    ),
    "incidents": Spec(
        ("incident_id", "reported_at", "updated_at"),
        {"reported_at": "timestamp", "severity": "int", "response_minutes": "double"},
        {"severity": [0, 7, 9], "response_minutes": [-15.0]},
        {"category": "incident_category", "source": "incident_source", "status": "incident_status"},
        future=("reported_at",), rules=("occurred_after_reported",),
    ),
    "patrols": Spec(
        ("patrol_id", "unit_id", "village_id", "started_at"), {"personnel": "int", "distance_km": "double"},
        {"personnel": [0, -2], "distance_km": [-2.5]},
        {"unit_type": "unit_type", "mode": "patrol_mode"}, rules=("ended_before_started", "patrol_over_24h"),
    ),
    "organizations": Spec(
        ("org_id", "village_id", "established_on"), {"members": "int", "established_on": "date"},
        {"trained_members": [-1]}, {"org_type": "org_type"},
        rules=("trained_gt_members", "dissolved_before_established"),
    ),
    "resources": Spec(
        ("resource_id", "village_id", "installed_on"), {"installed_on": "date"},
        {"latitude": [95.0], "longitude": [181.5]}, {"resource_type": "resource_type", "status": "resource_status"},
        rules=("removed_before_installed",),
    ),
    "survey": Spec(
        ("response_id", "village_id", "surveyed_on"), {"surveyed_on": "date"}, {}, {"age_band": "age_band"},
    ),
}


def applicable(spec: Spec, kind: str, labels: dict[str, dict[str, list[str]]]) -> bool:
    return {
        "missing_required": bool(spec.required), "bad_type": bool(spec.types),
        "future_timestamp": bool(spec.future), "out_of_range": bool(spec.out_of_range),
        "bad_code": bool(spec.codes), "unknown_village": spec.village, "inconsistent": bool(spec.rules),
        "chinese_label": any(any(labels.get(c, {}).values()) for c in spec.codes.values()),
        "malformed_line": True, "duplicate_row": True,
    }[kind]


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace(" ", "T")) if value else datetime(2021, 1, 1, 12)


def _shift(value: str, like: str, delta: timedelta) -> str:
    """value + delta, written in the format of `like` (local or ISO with offset)."""
    t = _parse(value) + delta
    if "T" in like:
        return t.isoformat()
    return t.strftime(LOCAL_TS) if " " in like or not like else t.strftime("%Y-%m-%d")


def _inconsistent(rec: dict[str, Any], rule: str) -> None:
    if rule == "occurred_after_reported":
        rec["occurred_at"] = _shift(rec["reported_at"], rec["reported_at"], timedelta(hours=2))
    elif rule == "ended_before_started":
        rec["ended_at"] = _shift(rec["started_at"], rec["started_at"], timedelta(hours=-1))
    elif rule == "patrol_over_24h":
        rec["ended_at"] = _shift(rec["started_at"], rec["started_at"], timedelta(hours=30))
    elif rule == "population_age_sum":
        rec["pop_60_plus"] = str(int(rec["pop_60_plus"]) + int(rec["resident_pop"]) // 2 + 5)
    elif rule == "low_income_gt_households":
        rec["low_income_households"] = str(int(rec["households"]) + 3)
    elif rule == "trained_gt_members":
        rec["trained_members"] = str(int(rec["members"]) + 2)
    elif rule == "dissolved_before_established":
        rec["dissolved_on"] = _shift(rec["established_on"], "d", timedelta(days=-100))
    elif rule == "removed_before_installed":
        rec["removed_on"] = _shift(rec["installed_on"], "d", timedelta(days=-30))


def mutate(rec: dict[str, Any], kind: str, spec: Spec, rng: np.random.Generator,
           labels: dict[str, dict[str, list[str]]], p: dict[str, Any]) -> tuple[str, str] | None:
    """Make one record dirty in place; returns (field, expected_reason) or None if it cannot."""
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731
    if kind == "missing_required":
        f = pick(spec.required)
        rec[f] = ""
        return f, f"missing_required:{f}"
    if kind == "bad_type":
        f = pick(sorted(spec.types))
        rec[f] = pick(BAD_TYPE[spec.types[f]])
        return f, f"bad_type:{f}"
    if kind == "future_timestamp":
        f = pick(spec.future)
        t = _parse(rec[f])
        rec[f] = _shift(t.replace(year=int(p["future_year"]), day=min(t.day, 28)).isoformat(), rec[f], timedelta())
        return f, f"future_timestamp:{f}"
    if kind == "out_of_range":
        f = pick(sorted(spec.out_of_range))
        rec[f] = pick(spec.out_of_range[f])
        return f, f"out_of_range:{f}"
    if kind == "bad_code":
        f = pick(sorted(spec.codes))
        rec[f] = pick(BAD_CODES[spec.codes[f]])
        return f, f"bad_code:{f}"
    if kind == "unknown_village":
        rec["village_id"] = str(p["unknown_village_id"])
        for f in ("longitude", "latitude"):
            if f in rec and spec is SPECS["incidents"]:
                rec[f] = ""
        return "village_id", "unknown_village"
    if kind == "inconsistent":
        rule = pick(spec.rules)
        _inconsistent(rec, rule)
        return rule, f"inconsistent:{rule}"
    if kind == "chinese_label":
        options = [f for f, c in sorted(spec.codes.items()) if labels.get(c, {}).get(str(rec.get(f)))]
        if not options:
            return None
        f = pick(options)
        rec[f] = labels[spec.codes[f]][str(rec[f])][0]
        return f, ""
    raise ValueError(f"unknown dirty kind '{kind}'")
