"""Files the fuzzer found that crashed the reading step (features/landing/reading.py), kept as
plain examples: each must give malformed lines, not an exception in the parse task."""

from __future__ import annotations

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
