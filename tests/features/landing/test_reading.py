"""Reading landed files: physical line numbers, encodings, file-level errors, personal fields."""

from __future__ import annotations

from conf import load_yaml
from features.landing.pseudonym import REDACTED, pseudonym
from features.landing.reading import ReadOptions, parse_file

KEY = b"test-key"
PATTERNS = tuple(load_yaml("ingest.yaml")["personal"]["extra_patterns"])  # the deployed list
OPTS = ReadOptions(
    source="incidents", format="csv",
    fields=("incident_id", "status", "reporter_name", "reporter_phone"),
    required=("incident_id",), personal={"reporter_name": "name", "reporter_phone": "phone"},
    drop=("narrative",), extra_patterns=PATTERNS, key=KEY,
)


def rows(text: str | bytes, encoding: str = "utf-8", opts: ReadOptions = OPTS) -> list[dict]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(parse_file(data, encoding, opts))


def test_csv_rows_carry_the_physical_line_they_start_on():
    text = ('\ufeffincident_id,status,narrative,reporter_name,reporter_phone\r\n'
            'I1,open,"two\nlines",张三,138-0013-8000\r\n'
            '\r\n'
            'I2,open,,,\r\n'
            'I3,open\r\n'
            'I4,"open,x')
    got = rows(text)
    assert [(r["_line"], r.get("incident_id"), r.get("_raw")) for r in got] == [
        (2, "I1", None), (5, "I2", None),
        # three fields short: any value may have shifted onto a personal column's place
        (6, None, f"{REDACTED},{REDACTED}"), (7, None, f"{REDACTED},{REDACTED}"),
    ]
    first = got[0]
    assert first["reporter_name"] == pseudonym("张三", "name", KEY)
    assert first["reporter_phone"] == pseudonym("13800138000", "phone", KEY)
    assert "narrative" not in first and first["_extra"] is None


def test_malformed_line_without_personal_columns_keeps_its_text():
    opts = ReadOptions(source="villages", format="csv", fields=("village_id", "village_name"),
                       required=("village_id",), personal={}, drop=(), extra_patterns=(), key=KEY)
    got = list(parse_file(b'village_id,village_name\nV1,"a\nb",x\nV2\n', "utf-8", opts))
    assert got == [{"_line": 2, "_raw": 'V1,"a\nb",x'}, {"_line": 4, "_raw": "V2"}]


def test_malformed_line_hides_fields_that_may_hold_personal_data():
    text = "incident_id,status,reporter_name,reporter_phone\nI1,open,张三\nI2,open,李四,139,extra\n"
    got = rows(text)
    # a wrong field count: values may have shifted either way by any count, so all are hidden
    assert got[0]["_raw"] == f"{REDACTED},{REDACTED},{REDACTED}"
    assert got[1]["_raw"] == f"{REDACTED},{REDACTED},{REDACTED},{REDACTED},{REDACTED}"


def test_extra_columns_cannot_smuggle_personal_values():
    text = "incident_id,status,Reporter_Phone ,备用电话,note\nI1,open,13800138000,13900139000,ok\n"
    got = rows(text)[0]
    assert got["reporter_phone"] == pseudonym("13800138000", "phone", KEY)  # header name normalized
    assert got["_extra"] == ('{{"note": "ok", "备用电话": "{}"}}'.format(pseudonym("13900139000", "text", KEY)))


def test_duplicate_personal_column_is_a_header_mismatch():
    got = rows("incident_id,reporter_phone,REPORTER_PHONE\nI1,1,2\n")
    assert got == [{"_error": "header mismatch: duplicate columns ['reporter_phone']", "_error_kind": "batch"}]


def test_file_level_errors_name_the_problem():
    assert rows(b"") == [{"_error": "file is empty", "_error_kind": "file"}]
    assert rows("incident_id;status\nI1;open\n")[0] == {
        "_error": "wrong delimiter: the header splits on ';', expected ','", "_error_kind": "file"}
    missing = rows("id,status\nI1,open\n")[0]
    assert missing["_error_kind"] == "batch"
    assert missing["_error"].startswith("header mismatch: missing required columns ['incident_id']")
    gb = "incident_id,status\n甲,open\n".encode("gb18030")
    wrong = rows(gb)[0]
    assert wrong["_error_kind"] == "file" and wrong["_error"].startswith("cannot be decoded as utf-8 at byte")
    assert [r["incident_id"] for r in rows(gb, encoding="gb18030")] == ["甲"]


def test_jsonl_lines_and_broken_objects():
    opts = ReadOptions(source="patrols", format="jsonl", fields=("patrol_id", "personnel", "checkpoints"),
                       required=("patrol_id",), personal={}, drop=(), extra_patterns=("phone",), key=KEY)
    text = ('{"patrol_id": "P1", "personnel": 2, "checkpoints": [{"lon": 1.5}], "ok": true}\n'
            '\n'
            '{"patrol_id": "P2",\n'
            '[1, 2]\n'
            '{"patrol_id": "P3", "leader_phone": "13800138000"}\n')
    got = list(parse_file(text.encode(), "utf-8", opts))
    assert got == [
        {"_line": 1, "patrol_id": "P1", "personnel": "2", "checkpoints": '[{"lon": 1.5}]', "_extra": '{"ok": "true"}'},
        {"_line": 3, "_raw": '{"patrol_id": "P2",'},
        {"_line": 4, "_raw": "[1, 2]"},
        {"_line": 5, "patrol_id": "P3", "personnel": None, "checkpoints": None,
         "_extra": '{{"leader_phone": "{}"}}'.format(pseudonym("13800138000", "text", KEY))},
    ]


def test_file_bins_pack_small_files_into_few_tasks_and_keep_big_ones_apart():
    from features.landing.batch import file_bins
    from features.landing.reading import LandedFile

    def f(name, size):
        return LandedFile(source="s", path=f"/x/{name}", file=name, size_bytes=size, file_hash="h")

    small = [f(f"{i:04d}.csv", 100) for i in range(1000)]
    bins = file_bins(small, parallelism=2)
    assert [len(b) for b in bins] == [500, 500]
    assert sorted(x.file for b in bins for x in b) == [x.file for x in small]
    # 3 files of 100 bytes with 64-byte tasks: one file a task, never more tasks than files
    assert [[x.file for x in b] for b in file_bins([f("a", 100), f("b", 100), f("c", 100)], 2, task_bytes=64)] == [
        ["a"], ["b"], ["c"]]
    # 250 + 100 + 100 + 50 bytes, 2 tasks of 256: the big file alone, the rest together
    assert [[x.file for x in b] for b in file_bins([f("a", 100), f("big", 250), f("b", 100), f("c", 50)], 2,
                                                   task_bytes=256)] == [["big"], ["a", "b", "c"]]
    assert file_bins([], 2) == []
