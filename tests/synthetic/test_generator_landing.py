"""The landing files follow the landing contract (docs/landing.md) exactly, and every dirty row
is listed and really dirty in the stated way.

Nothing of the contract is copied here. Columns, types, ranges, code lists, cross-field rules
and village checks come from what ingest enforces: `features.landing.contract_doc.load_contract`
(conf/expectations through `features.landing.rules.parse_spec`, conf/codes.yaml,
conf/ingest.yaml), the structures docs/landing.md is rendered from. A row's reason codes are
computed in plain Python the way features/landing/rules.py does (`typed_value`,
`check_columns`) and features/landing/conform.py resolves villages; the cross-field rules are
the expectations' own SQL, run by DuckDB on the typed values, so no Spark is needed.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from features.landing import contract_doc as cd
from features.landing.batch import MALFORMED
from features.landing.rules import (
    DATE_RE,
    FALSE_WORDS,
    INT_RE,
    LOCAL_TS_RE,
    NUMBER_RE,
    OFFSET_TS_RE,
    TRUE_WORDS,
    ColumnRule,
    code_lookup,
)
from features.spatial import EARTH_RADIUS_KM

CONTRACT = cd.load_contract()
GB18030 = ("villages", "incidents")   # what the small_county fixture asks the generator for
ZONE = ZoneInfo(CONTRACT.timezone)
ARROW = {"string": pa.string(), "code": pa.string(), "int": pa.int32(), "double": pa.float64(),
         "bool": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us"), "json_list": pa.int32()}


def landed_columns(source: str) -> list[str]:
    """A source's landed columns in contract order: the expectations' columns, then (for a source
    with personal data) the personal fields and the free text ingest drops, as docs/landing.md
    lists them."""
    personal = CONTRACT.ingest["personal"]
    extra = [*personal["fields"], *personal["drop"]] if CONTRACT.ingest["sources"][source].get("personal") else []
    return [*CONTRACT.specs[source].names, *extra]


def _encoding(source: str) -> str:
    return "gb18030" if source in GB18030 else "utf-8"


def _files(root: Path, source: str) -> list[Path]:
    return sorted(p for p in (root / source).rglob("*") if p.is_file())


@functools.cache
def _lines(path: Path, source: str) -> list[str]:
    return path.read_bytes().decode(_encoding(source)).split("\n")


def _json_text(value: object) -> str:
    """A JSON value as the landed text ingest sees (features/landing/reading.py); null = ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _row(path: Path, source: str, line: int) -> dict[str, str] | None:
    """The record at a physical line as landed text per column, or None when it does not parse."""
    text = _lines(path, source)[line - 1]
    if CONTRACT.ingest["sources"][source]["format"] == "jsonl":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return None
        return {k: _json_text(v) for k, v in obj.items()} if isinstance(obj, dict) else None
    fields = next(csv.reader(io.StringIO(text)))
    header = landed_columns(source)
    return dict(zip(header, fields, strict=True)) if len(fields) == len(header) else None


@functools.cache
def _lookup(code_list: str) -> dict[str, str]:
    return code_lookup(CONTRACT.codes, code_list)


def _codes(code_list: str) -> set[str]:
    return {str(c) for c in CONTRACT.codes[code_list] or {}}


def _labels(code_list: str) -> set[str]:
    return set(_lookup(code_list)) - _codes(code_list)


def _landed(text: str | None) -> str | None:
    v = (text or "").strip(" ")
    return v or None


def _typed(rule: ColumnRule, text: str | None):
    """The value in the contract type, None when missing or not of the type (rules.typed_value)."""
    v = _landed(text)
    if v is None or rule.type == "string":
        return v
    if rule.type == "code":
        return _lookup(rule.codes).get(v, v)
    if rule.type == "int":
        return int(v) if re.search(INT_RE, v) else None
    if rule.type == "double":
        return float(v) if re.search(NUMBER_RE, v) else None
    if rule.type == "bool":
        return True if v.lower() in TRUE_WORDS else False if v.lower() in FALSE_WORDS else None
    try:
        if rule.type == "date":
            return date.fromisoformat(v) if re.search(DATE_RE, v) else None
        if rule.type == "timestamp":
            if re.search(LOCAL_TS_RE, v):
                return datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
            if re.search(OFFSET_TS_RE, v):
                return datetime.fromisoformat(v.replace(" ", "T", 1)).astimezone(ZONE).replace(tzinfo=None)
            return None
        listed = json.loads(v) if v.startswith("[") else None
        return len(listed) if isinstance(listed, list) else None
    except ValueError:
        return None


def _column_reasons(source: str, rec: dict[str, str], now: datetime) -> set[str]:
    """Reason codes of the per-column checks (rules.check_columns without the row rules)."""
    spec, bbox = CONTRACT.specs[source], CONTRACT.ingest["bounding_box"]
    out = set()
    for c in spec.columns:
        landed, value = _landed(rec.get(c.name)), _typed(c, rec.get(c.name))
        lo, hi = (bbox[f"{c.bbox}_min"], bbox[f"{c.bbox}_max"]) if c.bbox else (c.min, c.max)
        if c.required and landed is None:
            out.add(f"missing_required:{c.name}")
        if c.type not in ("string", "code") and landed is not None and value is None:
            out.add(f"bad_type:{c.name}")
        if value is not None and ((lo is not None and value < lo) or (hi is not None and value > hi)):
            out.add(c.range_reason)
        if c.type == "code" and value is not None and value not in _codes(c.codes):
            out.add(f"bad_code:{c.name}")
        if c.not_future and value is not None and value > now:
            out.add(f"future_timestamp:{c.name}")
    return out


def _rule_reasons(source: str, recs: list[dict[str, str]]) -> list[set[str]]:
    """Per record, the reasons of the cross-field rules broken (the expression is false; null
    means the rule does not apply), evaluated by DuckDB on the typed values."""
    spec = CONTRACT.specs[source]
    if not spec.rules or not recs:
        return [set() for _ in recs]
    typed = pa.table({c.name: pa.array([_typed(c, r.get(c.name)) for r in recs], type=ARROW[c.type])
                      for c in spec.columns})
    exprs = ", ".join(f"({r.expr}) AS rule_{i}" for i, r in enumerate(spec.rules))
    con = duckdb.connect()
    con.register("typed", typed)
    results = con.sql(f"SELECT {exprs} FROM typed").fetchall()
    con.close()
    return [{r.reason for r, holds in zip(spec.rules, row, strict=True) if holds is False} for row in results]


def _haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    a = (math.sin(math.radians(lat2 - lat1) / 2) ** 2 + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2))
         * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _village_reasons(source: str, rec: dict[str, str], villages: pd.DataFrame) -> set[str]:
    """Reason codes of village resolution (conform.resolve_villages and village_checks)."""
    spec = CONTRACT.specs[source]
    if spec.village == "none":
        return set()
    vid = _landed(rec.get("village_id"))
    if vid is not None:
        return set() if vid in villages.index else {"unknown_village"}
    if spec.village == "exists":
        return set()   # a missing village_id is a missing_required column reason
    lon, lat = (_typed(spec.column(n), rec.get(n)) for n in ("longitude", "latitude"))
    if _landed(rec.get("longitude")) is None or _landed(rec.get("latitude")) is None:
        return {"missing_required:village_id"}
    if lon is None or lat is None:
        return set()
    nearest = min(_haversine_km(lon, lat, v.longitude, v.latitude) for v in villages.itertuples())
    return set() if nearest <= float(CONTRACT.ingest["snap_distance_km"]) else {"unknown_village"}


@functools.cache
def _villages(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "_truth" / "villages.csv", dtype={"village_id": str}).set_index("village_id")


@functools.cache
def _file_reasons(root: Path, source: str, path: Path) -> dict[int, set[str] | None]:
    """Physical line -> the reason codes ingest's checks give its record (None: it does not parse);
    the CSV header and empty lines left out."""
    now = datetime.now(ZONE).replace(tzinfo=None)
    first = 2 if CONTRACT.ingest["sources"][source]["format"] == "csv" else 1
    lines = [n for n in range(first, len(_lines(path, source)) + 1) if _lines(path, source)[n - 1]]
    recs = {n: _row(path, source, n) for n in lines}
    parsed = [n for n in lines if recs[n] is not None]
    rules = dict(zip(parsed, _rule_reasons(source, [recs[n] for n in parsed]), strict=True))
    return {n: None if recs[n] is None else
            _column_reasons(source, recs[n], now) | rules[n] | _village_reasons(source, recs[n], _villages(root))
            for n in lines}


def _dirty(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "_truth" / "dirty_rows.csv", dtype=str, keep_default_na=False)


def test_every_source_has_the_contract_columns(small_county: Path) -> None:
    assert sorted(p.name for p in small_county.iterdir() if p.is_dir() and p.name != "_truth") == sorted(
        CONTRACT.sources)
    for source in CONTRACT.sources:
        files = _files(small_county, source)
        assert files, f"no {source} files"
        assert {p.suffix.lstrip(".") for p in files} <= set(CONTRACT.ingest["sources"][source]["extensions"])
        for path in files:
            first = _lines(path, source)[0]
            if CONTRACT.ingest["sources"][source]["format"] == "jsonl":
                assert list(json.loads(first)) == landed_columns(source), path
            else:
                assert first.split(",") == landed_columns(source), path


def test_every_dirty_row_exists_and_is_dirty_in_the_stated_way(small_county: Path) -> None:
    dirty = _dirty(small_county)
    assert {"missing_required", "bad_type", "out_of_range", "duplicate_row", "chinese_label",
            "malformed_line", "invalid_response", "bad_code", "unknown_village", "inconsistent"} <= set(dirty["kind"])
    wrong = []
    for d in dirty.itertuples():
        path, line = small_county / d.file, int(d.line)
        reasons = _file_reasons(small_county, d.source, path)[line]
        if d.kind == "malformed_line":
            ok = reasons is None
        elif d.kind == "duplicate_row":
            text = _lines(path, d.source)
            ok = text[line - 1] in text[: line - 1] and reasons == set()
        elif d.kind == "chinese_label":
            rule = CONTRACT.specs[d.source].column(d.field)
            ok = _row(path, d.source, line)[d.field] in _labels(rule.codes) and reasons == set()
        else:   # exactly the one listed problem
            ok = reasons == {d.expected_reason}
        if not ok:
            wrong.append(f"{d.file}:{d.line} {d.kind} {d.field}: the contract's checks give {reasons}")
    assert wrong == []


def test_every_expected_reason_is_a_reason_code_of_the_contract(small_county: Path) -> None:
    dirty = _dirty(small_county)
    spelled = dirty.apply(lambda d: d["expected_reason"] == (
        "" if d["kind"] in ("duplicate_row", "chinese_label") else
        d["kind"] if d["kind"] in ("unknown_village", "malformed_line", "invalid_response") else
        f"{d['kind']}:{d['field']}"), axis=1)
    assert spelled.all(), dirty[~spelled].head()
    possible = {s: {*cd.source_reasons(CONTRACT, s), MALFORMED, ""} for s in CONTRACT.sources}
    foreign = dirty[[r not in possible[s] for s, r in zip(dirty["source"], dirty["expected_reason"], strict=True)]]
    assert foreign.empty, foreign.head()


def test_rows_not_listed_as_dirty_are_clean(small_county: Path) -> None:
    dirty = _dirty(small_county)
    listed = set(zip(dirty["file"], dirty["line"].astype(int), strict=True))
    problems, checked = [], 0
    for source in CONTRACT.sources:
        codes = [c for c in CONTRACT.specs[source].columns if c.type == "code"]
        for path in _files(small_county, source):
            rel = path.relative_to(small_county).as_posix()
            for line, reasons in _file_reasons(small_county, source, path).items():
                if (rel, line) in listed:
                    continue
                checked += 1
                rec = _row(path, source, line)
                labels = [c.name for c in codes if rec and _landed(rec[c.name]) not in (None, *_codes(c.codes))]
                if reasons != set() or labels:
                    problems.append(f"{rel}:{line} reasons {reasons}, not an English code: {labels}")
    assert checked > 1000
    assert problems == []


def test_gb18030_sources_are_gb18030_and_the_others_utf8(small_county: Path) -> None:
    for source in ("villages", "incidents", "organizations"):
        raw = b"".join(p.read_bytes() for p in _files(small_county, source))
        if source in GB18030:
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        assert "村" in raw.decode(_encoding(source)) or source == "organizations"
        raw.decode(_encoding(source))


def test_some_file_ends_with_a_truncated_line(small_county: Path) -> None:
    dirty = _dirty(small_county)
    truncated = [f for f in dirty.loc[dirty["kind"] == "malformed_line", "file"].unique()
                 if not (small_county / f).read_bytes().endswith(b"\n")]
    assert truncated


def test_a_truncated_villages_file_keeps_every_village(tmp_path: Path) -> None:
    from synthetic import code_labels, load_params
    from synthetic.writers import LandingWriter

    columns = landed_columns("villages")
    rows = pd.DataFrame({c: ["x"] * 2 for c in columns})
    rows["village_id"] = ["410101001001", "410101001002"]
    rows["updated_at"] = "2020-12-31 09:00:00"
    w = LandingWriter(tmp_path, 1, 0.01, load_params()["dirty"], code_labels())
    w.write_csv("villages", "villages/v.csv", rows, columns, truncate=True)
    text = (tmp_path / "villages" / "v.csv").read_text().split("\n")
    assert [t.split(",")[0] for t in text] == ["village_id", "410101001001", "410101001002", "410101001002"]
    assert text[2] == ",".join(rows.loc[1, columns])
    assert text[3] == "410101001002,x,x"
    assert w.dirty == [{"source": "villages", "file": "villages/v.csv", "line": 4, "kind": "malformed_line",
                        "field": "", "expected_reason": "malformed_line"}]
