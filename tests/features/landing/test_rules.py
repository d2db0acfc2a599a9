"""features/landing/rules.py: reading conf/expectations files (and what a wrong one says), the
typed values of landed text, and the reason codes of a row's failed checks."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from conf import load_yaml
from features.landing.rules import (
    ColumnRule,
    ExpectationConfigError,
    check_column_name,
    check_columns,
    code_lookup,
    load_specs,
    parse_spec,
    range_ok,
    reason_of,
    typed_frame,
    with_checks,
)

WHERE = "conf/expectations/t.yaml"


def _spec(columns: dict, **top):
    return parse_spec("t", {"key": ["id"], "columns": {"id": {"type": "string"}, **columns}, **top})


def test_a_minimal_file_takes_the_defaults():
    spec = parse_spec("t", {"key": ["id"], "columns": {"id": {"type": "string", "required": True},
                                                         "n": {"type": "int", "min": 0}},
                            "rules": [{"name": "n_set", "expr": "n IS NOT NULL"},
                                      {"name": "own", "expr": "true", "reason": "custom"}]})
    assert (spec.table, spec.key, spec.village, spec.updated_at) == ("silver.t", ("id",), "none", "column")
    assert spec.names == ["id", "n"]
    assert spec.column("n") == ColumnRule(name="n", type="int", min=0)
    assert spec.column("n").range_reason == "out_of_range:n"
    assert ColumnRule("q", "int", reason="invalid_response").range_reason == "invalid_response"
    assert [(r.name, r.reason) for r in spec.rules] == [("n_set", "inconsistent:n_set"), ("own", "custom")]
    with pytest.raises(KeyError):
        spec.column("missing")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"key": ["id"], "columns": {"id": {"type": "float"}}},
         "column id: type must be one of ('string', 'int', 'double', 'bool', 'date', 'timestamp', "
         "'code', 'json_list') and keys known (got type='float', unknown keys [])"),
        ({"key": ["id"], "columns": {"id": {"type": "int", "maximum": 3, "nullable": True}}},
         "column id: type must be one of"),
        ({"key": ["id"], "columns": {"id": None}}, "column id: type must be one of"),
        ({"key": ["id"], "columns": {"id": {"type": "double", "bbox": "x"}}}, "column id: bbox must be lon or lat"),
        ({"key": ["id"], "columns": {"id": {"type": "code"}}}, "column id: a code column needs `codes`"),
        ({"columns": {"id": {"type": "string"}}}, "key () must name declared columns"),
        ({"key": ["id", "day"], "columns": {"id": {"type": "string"}}},
         "key ('id', 'day') must name declared columns"),
        ({"key": ["id"], "columns": {"id": {"type": "string"}}, "village": "nearest"},
         "village must be one of ('none', 'exists', 'snap'), updated_at one of ('column', 'ended_at', 'ingest_time')"),
        ({"key": ["id"], "columns": {"id": {"type": "string"}}, "updated_at": "file_time"}, "village must be one of"),
    ],
)
def test_a_wrong_file_names_itself_and_the_column(data, message):
    with pytest.raises(ExpectationConfigError) as err:
        parse_spec("t", data)
    assert str(err.value).startswith(f"{WHERE}: {message}")


def test_unknown_keys_are_listed_sorted():
    with pytest.raises(ExpectationConfigError, match=r"got type='int', unknown keys \['maximum', 'nullable'\]"):
        _spec({"n": {"type": "int", "maximum": 3, "nullable": True}})


def test_the_shipped_expectations():
    specs = load_specs()
    assert sorted(specs) == ["incidents", "organizations", "patrols", "population", "resources", "survey",
                             "villages"]
    assert {s: (spec.key, spec.village, spec.updated_at) for s, spec in specs.items()} == {
        "incidents": (("incident_id",), "snap", "column"),
        "organizations": (("org_id",), "exists", "column"),
        "patrols": (("patrol_id",), "exists", "ended_at"),
        "population": (("village_id", "snapshot_date"), "exists", "column"),
        "resources": (("resource_id",), "exists", "column"),
        "survey": (("response_id",), "exists", "ingest_time"),
        "villages": (("village_id",), "none", "column"),
    }
    codes = load_yaml("codes.yaml")
    for spec in specs.values():  # every code column names a list of conf/codes.yaml
        for c in spec.columns:
            if c.type == "code":
                assert c.codes in codes, (spec.source, c.name)


def test_code_lookup_maps_labels_and_codes():
    codes = {"unit_type": {"police": ["派出所民警", "民警"], "volunteer": None}, "empty": None}
    assert code_lookup(codes, "unit_type") == {
        "police": "police", "派出所民警": "police", "民警": "police", "volunteer": "volunteer"}
    assert code_lookup(codes, "empty") == {}
    with pytest.raises(ExpectationConfigError, match=r"^conf/codes.yaml has no code list 'mode'$"):
        code_lookup(codes, "mode")


def test_reason_and_check_column_names():
    assert reason_of("out_of_range:severity|range:severity") == "out_of_range:severity"
    assert reason_of("invalid_response|rule:completed") == "invalid_response"
    assert reason_of("unknown_village") == "unknown_village"
    # every character that is not a letter or digit becomes one underscore
    assert check_column_name("out_of_range:severity|range:severity") == "_ok__out_of_range_severity_range_severity"
    assert check_column_name("missing_required:village_id|located") == "_ok__missing_required_village_id_located"
    assert range_ok(ColumnRule("x", "int"), {}) is None  # no bounds: no range check


def test_typed_values_of_landed_text(spark):
    spec = _spec({
        "s": {"type": "string"}, "k": {"type": "code", "codes": "kind"}, "i": {"type": "int"},
        "d": {"type": "double"}, "b": {"type": "bool"}, "day": {"type": "date"},
        "ts": {"type": "timestamp"}, "js": {"type": "json_list"}, "absent": {"type": "int"},
    })
    codes = {"kind": {"a": ["甲"], "b": []}}
    rows = [  # id, s, k, i, d, b, day, ts, js
        ("1", "  hi ", "甲", " 42 ", "1e3", "Yes", "2024-02-29", "2024-03-01 08:30:00", "[1, 2, 3]"),
        ("2", "   ", "zz", "1.5", "abc", "maybe", "2024-02-30", "2024-03-01T00:30:00Z", "{}"),
        ("3", None, "b", "9999999999", ".5", "0", "2024-1-05", "2024-03-01 8:30:00", "[]"),
        ("4", "x", "a", "+7", "-2.5E-1", "N", "2023-12-31", "2024-03-01T08:30:00.5+08:00", "[x"),
    ]
    bronze = spark.createDataFrame(rows, "id string, s string, k string, i string, d string, b string, "
                                         "day string, ts string, js string")
    typed = typed_frame(bronze, spec, codes, carry=[])
    got = {r["id"]: r for r in typed.select(
        "*", F.col("day").cast("string").alias("day_s"), F.date_format("ts", "yyyy-MM-dd HH:mm:ss.S").alias("ts_s")
    ).collect()}
    pick = ("s", "k", "i", "d", "b", "day_s", "ts_s", "js", "absent")
    assert tuple(got["1"][c] for c in pick) == ("hi", "a", 42, 1000.0, True, "2024-02-29", "2024-03-01 08:30:00.0", 3, None)
    # blank is missing; an unmapped code keeps its text (bad_code later); 00:30 UTC is 08:30 in
    # the session zone (Asia/Shanghai); "{}" is no JSON list
    assert tuple(got["2"][c] for c in pick) == (None, "zz", None, None, None, None, "2024-03-01 08:30:00.0", None, None)
    # ten digits do not fit an int; dates and times need two-digit fields
    assert tuple(got["3"][c] for c in pick) == (None, "b", None, 0.5, False, None, None, 0, None)
    assert tuple(got["4"][c] for c in pick) == ("x", "a", 7, -0.25, False, "2023-12-31", "2024-03-01 08:30:00.5", None, None)
    # next to each typed value, the landed text trimmed (null when blank or absent)
    assert (got["1"]["_in_i"], got["2"]["_in_s"], got["1"]["_in_absent"], got["2"]["_in_k"]) == ("42", None, None, "zz")


def test_failed_checks_become_sorted_distinct_reasons(spark):
    spec = _spec(
        {"id": {"type": "string", "required": True}, "sev": {"type": "int", "min": 1, "max": 4}, "lon": {"type": "double", "bbox": "lon"},
         "kind": {"type": "code", "codes": "kind"}, "at": {"type": "timestamp", "not_future": True},
         "q1": {"type": "int", "min": 1, "max": 5, "reason": "invalid_response"},
         "q2": {"type": "int", "min": 1, "reason": "invalid_response"}},
        rules=[{"name": "lon_needs_sev", "expr": "lon IS NULL OR sev IS NOT NULL"}],
    )
    codes = {"kind": {"a": ["甲"], "b": []}}
    checks = check_columns(spec, codes, {"lon_min": 110.0, "lon_max": 117.0}, datetime(2024, 6, 1, 12, 0))
    assert list(checks) == [
        "missing_required:id", "bad_type:sev", "out_of_range:sev|range:sev", "bad_type:lon",
        "out_of_range:lon|range:lon", "bad_code:kind", "bad_type:at", "future_timestamp:at", "bad_type:q1",
        "invalid_response|range:q1", "bad_type:q2", "invalid_response|range:q2",
        "inconsistent:lon_needs_sev|rule:lon_needs_sev",
    ]
    rows = [  # line, id, sev, lon, kind, at, q1, q2
        (1, "1", "2", "113.5", "甲", "2024-06-01 12:00:00", "3", "1"),  # at == ingest time: not future
        (2, " ", "x", "120", "c", "2024-06-01 12:00:01", "9", None),
        (3, "3", "5", None, None, None, None, None),  # a missing optional value breaks no check
        (4, "4", "0", "110.0", "b", None, "0", "0"),  # both questions out of range: one reason
    ]
    bronze = spark.createDataFrame(rows, "line int, id string, sev string, lon string, kind string, "
                                         "at string, q1 string, q2 string")
    out = with_checks(typed_frame(bronze, spec, codes, carry=["line"]), checks)
    got = {r["line"]: r["_reasons"] for r in out.collect()}
    assert got == {
        1: [],
        # sev "x" is a bad type only: its null typed value is not also out of range
        2: ["bad_code:kind", "bad_type:sev", "future_timestamp:at", "inconsistent:lon_needs_sev",
            "invalid_response", "missing_required:id", "out_of_range:lon"],
        3: ["out_of_range:sev"],
        4: ["invalid_response", "out_of_range:sev"],
    }
    assert check_column_name("bad_code:kind") in out.columns
    none = with_checks(typed_frame(bronze, spec, codes, carry=["line"]), {})
    assert {r["_reasons"] == [] for r in none.select("_reasons").collect()} == {True}
