"""synthetic/writers.py on its own: value formatting, CSV and JSON lines, and the landing writer's
exact files and dirty-row listings on frames of a few rows (dirty rate 1 with one kind makes the
planted dirt exact)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthetic import code_labels
from synthetic.writers import (
    LandingWriter,
    RawJSON,
    _break,
    _csv_line,
    _earlier,
    _json_line,
    csv_text,
    fmt_date,
    fmt_num,
    fmt_ts,
)

POP_COLUMNS = ["village_id", "snapshot_date", "households", "resident_pop", "updated_at"]


def test_fmt_ts_local_and_with_an_offset() -> None:
    t = np.array(["2021-03-05T07:08:09", "NaT"], "datetime64[s]")
    assert fmt_ts(t).tolist() == ["2021-03-05 07:08:09", ""]
    assert fmt_ts(t, "+08:00").tolist() == ["2021-03-05T07:08:09+08:00", ""]
    # sub-second parts are dropped, not rounded
    assert fmt_ts(np.array(["2021-03-05T07:08:09.900"], "datetime64[ms]")).tolist() == ["2021-03-05 07:08:09"]


def test_fmt_date_and_fmt_num() -> None:
    assert fmt_date(np.array(["2021-12-31T23:00", "NaT"], "datetime64[m]")).tolist() == ["2021-12-31", ""]
    assert fmt_num([1.23456, np.nan, -0.5, 2.0], 2).tolist() == ["1.23", "", "-0.50", "2.00"]
    assert fmt_num([1234.5], 0).tolist() == ["1234"]  # %.0f rounds half to even


def test_csv_line_quotes_only_what_needs_it() -> None:
    rec = {"a": "plain", "b": 'say "hi"', "c": "x,y", "d": "two\nlines", "e": 3}
    assert _csv_line(rec, ["a", "b", "c", "d", "e"]) == 'plain,"say ""hi""","x,y","two\nlines",3'
    assert _csv_line(rec, ["e", "a"]) == "3,plain"


def test_json_line_keeps_chinese_and_raw_json() -> None:
    rec = {"id": "P1", "name": "王伟", "n": 2, "d": None, "cp": RawJSON('[{"lon":1}]')}
    assert _json_line(rec) == '{"id":"P1","name":"王伟","n":2,"d":null,"cp":[{"lon":1}]}'
    assert json.loads(_json_line(rec))["cp"] == [{"lon": 1}]


def test_break_cuts_a_csv_row_after_three_fields_or_half_a_json_object() -> None:
    assert _break("a,b,c,d,e", csv=True) == "a,b,c"
    assert _break('{"a":1,"b":2}', csv=False) == '{"a":1'  # 13 characters -> the first 6
    assert _break("x", csv=False) == "x"


def test_earlier_and_csv_text() -> None:
    assert _earlier("2021-03-01 09:00:00", 30) == "2021-01-30 09:00:00"
    frame = pd.DataFrame({"a": ["1", "x,y"], "b": ["", "z"]})
    assert csv_text(frame) == 'a,b\n1,\n"x,y",z\n'


def _writer(root: Path, rate: float, kinds: dict[str, float], **kw) -> LandingWriter:
    params = {"kinds": kinds, "truncated_last_line_share": 0.0, "future_year": 2099,
              "unknown_village_id": "999999999999", "village_copy_days_earlier": 30}
    return LandingWriter(root, 7, rate, params, code_labels(), **kw)


def _population(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"village_id": [f"V{i}" for i in range(1, n + 1)], "snapshot_date": "2021-01-01",
                         "households": [str(10 * i) for i in range(1, n + 1)],
                         "resident_pop": [str(30 * i) for i in range(1, n + 1)],
                         "updated_at": "2021-01-15 10:00:00", "extra": "dropped"})


CLEAN = ("village_id,snapshot_date,households,resident_pop,updated_at\n"
         "V1,2021-01-01,10,30,2021-01-15 10:00:00\n"
         "V2,2021-01-01,20,60,2021-01-15 10:00:00\n"
         "V3,2021-01-01,30,90,2021-01-15 10:00:00\n")


def test_clean_csv_is_the_contract_columns_in_order(tmp_path: Path) -> None:
    w = _writer(tmp_path, 0.0, {"duplicate_row": 1})
    w.write_csv("population", "population/2021/p.csv", _population(), POP_COLUMNS)
    assert (tmp_path / "population/2021/p.csv").read_text(encoding="utf-8") == CLEAN
    assert w.rows == {"population": 3} and w.dirty == []
    w.write_csv("population", "population/2021/empty.csv", _population().iloc[:0], POP_COLUMNS)
    assert not (tmp_path / "population/2021/empty.csv").exists() and w.rows == {"population": 3}


def test_gb18030_is_the_encoding_asked_for(tmp_path: Path) -> None:
    w = _writer(tmp_path, 0.0, {"duplicate_row": 1}, encodings={"population": "gb18030"})
    frame = _population(1).assign(village_id="东村")
    w.write_csv("population", "p.csv", frame, POP_COLUMNS)
    raw = (tmp_path / "p.csv").read_bytes()
    assert "东村".encode("gb18030") in raw and raw.decode("gb18030").startswith("village_id,")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_every_row_duplicated_at_rate_one(tmp_path: Path) -> None:
    w = _writer(tmp_path, 1.0, {"duplicate_row": 1})
    w.write_csv("population", "p.csv", _population(), POP_COLUMNS)
    lines = CLEAN.split("\n")
    # header, then each row twice: the second copy (lines 3, 5, 7) is the listed one
    assert (tmp_path / "p.csv").read_text(encoding="utf-8") == "\n".join(
        [lines[0], lines[1], lines[1], lines[2], lines[2], lines[3], lines[3]]) + "\n"
    assert [(d["line"], d["kind"], d["field"], d["expected_reason"]) for d in w.dirty] == [
        (3, "duplicate_row", "", ""), (5, "duplicate_row", "", ""), (7, "duplicate_row", "", "")]
    assert {d["source"] for d in w.dirty} == {"population"} and {d["file"] for d in w.dirty} == {"p.csv"}
    assert w.rows == {"population": 6}


def test_every_row_with_an_unknown_village_at_rate_one(tmp_path: Path) -> None:
    w = _writer(tmp_path, 1.0, {"unknown_village": 1})
    w.write_csv("population", "p.csv", _population(), POP_COLUMNS)
    assert (tmp_path / "p.csv").read_text(encoding="utf-8") == CLEAN.replace("V1", "999999999999").replace(
        "V2", "999999999999").replace("V3", "999999999999")
    assert [(d["line"], d["expected_reason"], d["field"]) for d in w.dirty] == [
        (2, "unknown_village", "village_id"), (3, "unknown_village", "village_id"), (4, "unknown_village", "village_id")]


def test_kinds_that_do_not_apply_are_never_planted(tmp_path: Path) -> None:
    # population has no future timestamp and no code: nothing to plant even at rate 1
    w = _writer(tmp_path, 1.0, {"future_timestamp": 1, "bad_code": 1, "chinese_label": 1})
    w.write_csv("population", "p.csv", _population(), POP_COLUMNS)
    assert (tmp_path / "p.csv").read_text(encoding="utf-8") == CLEAN and w.dirty == []


def test_mixed_kinds_one_listing_per_row_and_counts_add_up(tmp_path: Path) -> None:
    w = _writer(tmp_path, 1.0, {"duplicate_row": 1, "malformed_line": 1, "missing_required": 1})
    w.write_csv("population", "p.csv", _population(12), POP_COLUMNS)
    kinds = pd.Series([d["kind"] for d in w.dirty]).value_counts()
    assert int(kinds.sum()) == 12 and set(kinds.index) <= {"duplicate_row", "malformed_line", "missing_required"}
    # 12 rows + one extra line per duplicate, after the header
    text = (tmp_path / "p.csv").read_text(encoding="utf-8").split("\n")
    assert len(text) == 1 + 12 + kinds.get("duplicate_row", 0) + 1 and text[-1] == ""
    for d in w.dirty:
        line = text[d["line"] - 1]
        if d["kind"] == "malformed_line":
            assert line.count(",") == 2 and d["expected_reason"] == "malformed_line"
        elif d["kind"] == "missing_required":
            field = d["expected_reason"].split(":")[1]
            assert line.split(",")[POP_COLUMNS.index(field)] == "" and d["field"] == field
        else:
            assert line == text[d["line"] - 2]
    # the same writer seed and file name plant the same dirt
    again = _writer(tmp_path / "b", 1.0, {"duplicate_row": 1, "malformed_line": 1, "missing_required": 1})
    again.write_csv("population", "p.csv", _population(12), POP_COLUMNS)
    assert (tmp_path / "b/p.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()


def test_natural_rows_are_listed_at_their_line_after_duplicates(tmp_path: Path) -> None:
    # row 1 is dirty by nature (never planned): rows 0 and 2 are duplicated.
    # lines: 1 header, 2 row0, 3 row0 copy, 4 row1, 5 row2, 6 row2 copy
    w = _writer(tmp_path, 1.0, {"duplicate_row": 1})
    w.write_csv("population", "p.csv", _population(), POP_COLUMNS,
                natural={1: ("invalid_response", "completed", "invalid_response")})
    assert [(d["line"], d["kind"]) for d in w.dirty] == [
        (3, "duplicate_row"), (4, "invalid_response"), (6, "duplicate_row")]


def test_truncated_file_ends_in_a_cut_line_without_a_newline(tmp_path: Path) -> None:
    w = _writer(tmp_path, 1.0, {"future_timestamp": 1})  # rate > 0 but nothing else planted
    w.write_csv("population", "p.csv", _population(), POP_COLUMNS, truncate=True)
    assert (tmp_path / "p.csv").read_text(encoding="utf-8") == CLEAN.rsplit("\n", 2)[0] + "\nV3,2021-01-01,30"
    assert [(d["line"], d["kind"]) for d in w.dirty] == [(4, "malformed_line")]
    clean = _writer(tmp_path / "c", 0.0, {"duplicate_row": 1})
    clean.write_csv("population", "p.csv", _population(), POP_COLUMNS, truncate=True)
    assert (tmp_path / "c/p.csv").read_text(encoding="utf-8") == CLEAN  # a clean run cuts nothing


def _villages(n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"village_id": [f"V{i}" for i in range(1, n + 1)], "village_name": "东村",
                         "township_id": "T1", "terrain": "plain", "updated_at": "2021-03-01 09:00:00"})


def test_village_rows_stay_and_dirty_copies_come_at_the_end(tmp_path: Path) -> None:
    cols = list(_villages().columns)
    w = _writer(tmp_path, 1.0, {"bad_code": 1})
    w.write_csv("villages", "v.csv", _villages(), cols)
    lines = (tmp_path / "v.csv").read_text(encoding="utf-8").split("\n")
    assert lines[:3] == [",".join(cols), "V1,东村,T1,plain,2021-03-01 09:00:00", "V2,东村,T1,plain,2021-03-01 09:00:00"]
    # copies updated 30 days earlier (2021-01-30) with a bad terrain, listed at lines 4 and 5
    copies = [line.split(",") for line in lines[3:5]]
    assert [c[0] for c in copies] == ["V1", "V2"] and {c[4] for c in copies} == {"2021-01-30 09:00:00"}
    assert {c[3] for c in copies} <= {"swamp", "高原"} and lines[5:] == [""]
    assert [(d["line"], d["kind"], d["expected_reason"]) for d in w.dirty] == [
        (4, "bad_code", "bad_code:terrain"), (5, "bad_code", "bad_code:terrain")]


def test_truncated_village_file_cuts_a_copy_of_the_last_row(tmp_path: Path) -> None:
    cols = list(_villages().columns)
    w = _writer(tmp_path, 1.0, {"future_timestamp": 1})
    w.write_csv("villages", "v.csv", _villages(), cols, truncate=True)
    assert (tmp_path / "v.csv").read_text(encoding="utf-8").split("\n") == [
        ",".join(cols), "V1,东村,T1,plain,2021-03-01 09:00:00", "V2,东村,T1,plain,2021-03-01 09:00:00", "V2,东村,T1"]
    assert [(d["line"], d["kind"]) for d in w.dirty] == [(4, "malformed_line")]
    assert w.rows == {"villages": 3}


def test_jsonl_lines_and_their_dirt(tmp_path: Path) -> None:
    recs = [{"patrol_id": f"P{i}", "unit_id": "U", "village_id": "V1", "started_at": "2021-01-01T08:00:00+08:00",
             "personnel": i} for i in (1, 2)]
    lines = [_json_line(r) for r in recs]
    w = _writer(tmp_path, 0.0, {"duplicate_row": 1})
    w.write_jsonl("patrols", "p.jsonl", lines, lambda i: dict(recs[i]))
    assert (tmp_path / "p.jsonl").read_text(encoding="utf-8") == "\n".join(lines) + "\n"
    w.write_jsonl("patrols", "none.jsonl", [], lambda i: {})
    assert not (tmp_path / "none.jsonl").exists()
    bad = _writer(tmp_path / "d", 1.0, {"unknown_village": 1})
    bad.write_jsonl("patrols", "p.jsonl", lines, lambda i: dict(recs[i]))
    got = [json.loads(x) for x in (tmp_path / "d/p.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [g["village_id"] for g in got] == ["999999999999"] * 2 and [d["line"] for d in bad.dirty] == [1, 2]
    cut = _writer(tmp_path / "t", 1.0, {"future_timestamp": 1})
    cut.write_jsonl("patrols", "p.jsonl", lines, lambda i: dict(recs[i]), truncate=True)
    assert (tmp_path / "t/p.jsonl").read_text(encoding="utf-8") == lines[0] + "\n" + lines[1][: len(lines[1]) // 2]
    assert [(d["line"], d["kind"]) for d in cut.dirty] == [(2, "malformed_line")]
