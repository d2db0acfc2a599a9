"""Files the fuzzer found that crashed the reading step (features/landing/reading.py), kept as
plain examples: each must give malformed lines, not an exception in the parse task."""

from __future__ import annotations

from features.landing.pseudonym import REDACTED
from features.landing.reading import ReadOptions, parse_file

OPTS = ReadOptions(source="patrols", format="jsonl", fields=("patrol_id", "checkpoints"),
                   required=("patrol_id",), personal={}, drop=(), extra_patterns=("phone",), key=b"k" * 32)


def test_json_nested_deeper_than_the_parser_goes_is_a_malformed_line():
    # json.loads raised RecursionError (not a ValueError), which stopped the whole task
    deep = "[" * 100_000 + "]" * 100_000
    field = '{"patrol_id": "P2", "checkpoints": ' + '{"a":' * 3_000 + "1" + "}" * 3_000 + "}"
    text = '{"patrol_id": "P1"}\n' + deep + "\n" + field + '\n{"patrol_id": "P3"}\n'
    got = list(parse_file(text.encode(), "utf-8", OPTS))
    assert [(r["_line"], r.get("patrol_id"), r.get("_raw") is not None) for r in got] == [
        (1, "P1", False), (2, None, True), (3, None, True), (4, "P3", False)]
    assert got[1]["_raw"] == deep


def test_json_lone_surrogate_is_a_malformed_line():
    # "\ud800" is valid JSON but no text: Arrow failed to encode the task's output as UTF-8
    text = '{"patrol_id": "P1", "note": "half \\ud800"}\n{"patrol_id": "P2", "note": "\\ud83d\\ude00"}\n'
    got = list(parse_file(text.encode(), "utf-8", OPTS))
    assert got == [
        {"_line": 1, "_raw": '{"patrol_id": "P1", "note": "half \\ud800"}'},
        {"_line": 2, "patrol_id": "P2", "checkpoints": None, "_extra": '{"note": "\U0001f600"}'},
    ]
    for row in got:
        for value in row.values():
            if isinstance(value, str):
                value.encode("utf-8")


def test_unbalanced_quote_hides_the_personal_values_of_the_lines_it_swallows():
    # The quote opening field 2 of line 2 runs to the quote on line 4: the merged record has too
    # few fields, and its second field held line 3's reporter name in clear in `_raw`.
    opts = ReadOptions(source="incidents", format="csv",
                       fields=("incident_id", "status", "note", "reporter_name"), required=("incident_id",),
                       personal={"reporter_name": "name"}, drop=(), extra_patterns=(), key=b"k" * 32)
    text = ('incident_id,status,note,reporter_name\n'
            'I1,"open,x,\n'
            'I2,open,x,欧阳明轩\n'
            'I3,open",x\n'
            'I4,open,x,司马若曦\n')
    got = list(parse_file(text.encode(), "utf-8", opts))
    assert got[0] == {"_line": 2, "_raw": f"{REDACTED},{REDACTED},{REDACTED}"}
    assert got[1]["_line"] == 5 and got[1]["incident_id"] == "I4" and got[1]["reporter_name"] != "司马若曦"
    assert len(got) == 2


def test_a_continuation_line_with_too_many_fields_shows_no_name():
    """Found by the long fuzz profile: an unquoted line break in `note` moves the next line's
    values two places left, and with two fields too many the name sat in a kept position."""
    opts = ReadOptions(source="incidents", format="csv",
                       fields=("incident_id", "note", "status", "reporter_name"), required=("incident_id",),
                       personal={"reporter_name": "name"}, drop=(), extra_patterns=(), key=b"k" * 32)
    text = "incident_id,note,status,reporter_name\nI1,two\nlines,open,欧阳明轩,,\n"
    got = list(parse_file(text.encode(), "utf-8", opts))
    assert got == [{"_line": 2, "_raw": f"{REDACTED},{REDACTED}"},
                   {"_line": 3, "_raw": ",".join([REDACTED] * 5)}]
