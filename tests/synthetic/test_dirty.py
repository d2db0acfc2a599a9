"""synthetic/dirty.py on its own: which kinds apply to which source, the timestamp shifts, the
cross-field breakers and each mutation's exact change and expected reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from synthetic import code_labels
from synthetic.dirty import (
    BAD_CODES,
    BAD_TYPE,
    SPECS,
    _inconsistent,
    _parse,
    _shift,
    applicable,
    mutate,
)

KINDS = ("missing_required", "bad_type", "future_timestamp", "out_of_range", "bad_code", "unknown_village",
         "inconsistent", "chinese_label", "malformed_line", "duplicate_row")
P = {"future_year": 2099, "unknown_village_id": "999999999999"}


class Pick:
    """A stand-in generator whose integers(lo, hi) is always lo (first) or hi - 1 (last)."""

    def __init__(self, last: bool = False) -> None:
        self.last = last

    def integers(self, lo: int, hi: int) -> int:
        return hi - 1 if self.last else lo


@pytest.fixture(scope="module")
def labels() -> dict:
    return code_labels()


def _inapplicable(source: str, labels: dict) -> set[str]:
    return {k for k in KINDS if not applicable(SPECS[source], k, labels)}


def test_kinds_that_cannot_apply_to_a_source(labels) -> None:
    # villages: master data without a village_id to break, no future or cross-field rule
    assert _inapplicable("villages", labels) == {"future_timestamp", "unknown_village", "inconsistent"}
    assert _inapplicable("population", labels) == {"future_timestamp", "bad_code", "chinese_label"}
    assert _inapplicable("incidents", labels) == set()
    # patrols: unit_type has Chinese labels (patrol_mode has none)
    assert _inapplicable("patrols", labels) == {"future_timestamp"}
    assert _inapplicable("organizations", labels) == {"future_timestamp"}
    assert _inapplicable("resources", labels) == {"future_timestamp"}
    # survey: no range of its own, no rule, and age_band codes have no Chinese labels
    assert _inapplicable("survey", labels) == {"future_timestamp", "out_of_range", "inconsistent",
                                               "chinese_label"}
    assert _inapplicable("survey", {}) == {"future_timestamp", "out_of_range", "inconsistent", "chinese_label"}
    assert "chinese_label" in _inapplicable("incidents", {})  # no labels loaded: nothing to write


def test_parse_and_shift_keep_the_format_of_the_original() -> None:
    assert _parse("").isoformat() == "2021-01-01T12:00:00"  # a missing value counts as noon 1 Jan 2021
    hour = timedelta(hours=1)
    assert _shift("2021-03-05 10:00:00", "2021-03-05 10:00:00", 2 * hour) == "2021-03-05 12:00:00"
    assert _shift("2021-03-05T23:30:00+08:00", "2021-03-05T23:30:00+08:00", hour) == "2021-03-06T00:30:00+08:00"
    assert _shift("2021-03-01", "d", -1 * 24 * hour) == "2021-02-28"
    assert _shift("2021-03-01", "", hour) == "2021-03-01 01:00:00"  # no format known: local timestamp


def test_each_cross_field_rule_is_broken_by_exactly_its_change() -> None:
    rec = {"reported_at": "2021-05-01 08:00:00", "started_at": "2021-05-01T20:00:00+08:00",
           "pop_60_plus": "100", "resident_pop": "501", "households": "40", "members": "7",
           "established_on": "2021-05-01", "installed_on": "2021-05-01"}
    changes = {}
    for rule in ("occurred_after_reported", "ended_before_started", "patrol_over_24h", "population_age_sum",
                 "low_income_gt_households", "trained_gt_members", "dissolved_before_established",
                 "removed_before_installed"):
        r = dict(rec)
        _inconsistent(r, rule)
        changes[rule] = {k: v for k, v in r.items() if rec.get(k) != v}
    assert changes == {
        "occurred_after_reported": {"occurred_at": "2021-05-01 10:00:00"},           # 2 h after the report
        "ended_before_started": {"ended_at": "2021-05-01T19:00:00+08:00"},           # 1 h before the start
        "patrol_over_24h": {"ended_at": "2021-05-03T02:00:00+08:00"},                # 30 h after the start
        "population_age_sum": {"pop_60_plus": "355"},                                # 100 + 501 // 2 + 5
        "low_income_gt_households": {"low_income_households": "43"},                 # 40 + 3
        "trained_gt_members": {"trained_members": "9"},                              # 7 + 2
        "dissolved_before_established": {"dissolved_on": "2021-01-21"},             # 100 days earlier
        "removed_before_installed": {"removed_on": "2021-04-01"},                    # 30 days earlier
    }


def _incident() -> dict:
    return {"incident_id": "A1", "reported_at": "2021-03-31 23:10:00", "occurred_at": "2021-03-31 22:00:00",
            "village_id": "140101001002", "longitude": "113.6", "latitude": "37.9", "category": "theft",
            "severity": "2", "source": "citizen_call", "response_minutes": "12.5", "status": "open",
            "updated_at": "2021-04-01 00:00:00"}


@pytest.mark.parametrize(("kind", "last", "changed", "got"), [
    ("missing_required", False, {"incident_id": ""}, ("incident_id", "missing_required:incident_id")),
    ("missing_required", True, {"updated_at": ""}, ("updated_at", "missing_required:updated_at")),
    # types sorted: reported_at, response_minutes, severity
    ("bad_type", False, {"reported_at": BAD_TYPE["timestamp"][0]}, ("reported_at", "bad_type:reported_at")),
    ("bad_type", True, {"severity": "N/A"}, ("severity", "bad_type:severity")),
    # year 2099, day min(31, 28) = 28, local format kept
    ("future_timestamp", False, {"reported_at": "2099-03-28 23:10:00"},
     ("reported_at", "future_timestamp:reported_at")),
    ("out_of_range", False, {"response_minutes": -15.0}, ("response_minutes", "out_of_range:response_minutes")),
    ("out_of_range", True, {"severity": 9}, ("severity", "out_of_range:severity")),
    # codes sorted: category, source, status
    ("bad_code", False, {"category": "robbery"}, ("category", "bad_code:category")),
    ("bad_code", True, {"status": "已办结"}, ("status", "bad_code:status")),
    # an incident's coordinates would resolve the village: they go too
    ("unknown_village", False, {"village_id": "999999999999", "longitude": "", "latitude": ""},
     ("village_id", "unknown_village")),
    ("inconsistent", False, {"occurred_at": "2021-04-01 01:10:00"},
     ("occurred_after_reported", "inconsistent:occurred_after_reported")),
    # labelled codes: category theft -> 盗窃, source citizen_call -> 群众报警 (status open has none)
    ("chinese_label", False, {"category": "盗窃"}, ("category", "")),
    ("chinese_label", True, {"source": "群众报警"}, ("source", "")),
])
def test_each_kind_changes_one_thing_with_its_reason(labels, kind, last, changed, got) -> None:
    rec = _incident()
    before = dict(rec)
    assert mutate(rec, kind, SPECS["incidents"], Pick(last), labels, P) == got
    assert {k: v for k, v in rec.items() if before.get(k) != v} == changed


def test_unknown_village_keeps_coordinates_outside_incidents(labels) -> None:
    rec = {"resource_id": "R1", "village_id": "140101001001", "longitude": "113.6", "latitude": "37.9"}
    assert mutate(rec, "unknown_village", SPECS["resources"], Pick(), labels, P) == ("village_id", "unknown_village")
    assert rec == {"resource_id": "R1", "village_id": "999999999999", "longitude": "113.6", "latitude": "37.9"}


def test_future_timestamp_keeps_an_iso_offset() -> None:
    rec = {"reported_at": "2021-06-15T08:00:00+08:00"}
    mutate(rec, "future_timestamp", SPECS["incidents"], Pick(), {}, P)
    assert rec["reported_at"] == "2099-06-15T08:00:00+08:00"


def test_chinese_label_without_a_labelled_value_gives_none(labels) -> None:
    rec = {"category": "robbery", "source": "", "status": "open"}
    assert mutate(rec, "chinese_label", SPECS["incidents"], Pick(), labels, P) is None
    assert rec == {"category": "robbery", "source": "", "status": "open"}


def test_bad_values_are_outside_the_code_lists(labels) -> None:
    for code_list, bad in BAD_CODES.items():
        known = set(labels[code_list]) | {x for xs in labels[code_list].values() for x in xs}
        assert not set(bad) & known, code_list


@pytest.mark.parametrize("kind", ["duplicate_row", "malformed_line", "typo"])
def test_kinds_the_writer_handles_are_not_mutations(labels, kind) -> None:
    with pytest.raises(ValueError, match=f"unknown dirty kind '{kind}'"):
        mutate(_incident(), kind, SPECS["incidents"], Pick(), labels, P)
