"""Hypothesis strategies for hostile landing files of the seven sources.

Columns, types, ranges, code lists, formats and the personal fields come from the contract as
ingest reads it (features.landing.contract_doc.load_contract: conf/expectations, conf/codes.yaml,
conf/ingest.yaml), never from a copy here. A file mixes valid rows with rows that break value
rules, then damage of its lines (truncated, overlong, an unbalanced quote, a NUL byte, a huge
field, junk characters) and of its bytes (GB18030 or UTF-16 where UTF-8 is expected, invalid byte
sequences, a BOM, a cut at any byte). JSON Lines files also get non-object and deeply nested JSON,
lone surrogates, NaN and duplicate keys. Names carry spreadsheet formulas and HTML.

`landing_file(source)` gives files whose header is the contract's (shuffled, re-cased, with or
without optional and unknown columns): each of their problems is per row or per file.
`header_problem_file(source)` gives CSV files whose header repeats or lacks a column, which
fails the source's whole batch (docs/landing.md), so they are checked apart.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from features.landing.contract_doc import Contract, load_contract
from features.landing.rules import ColumnRule, TableSpec
from features.landing.tables import landed_fields

# Profiles: `ci` (the default: 150 hostile files per source, about 1,050 in all; 100 leave
# out every formula-like name, so the formula test has nothing to check) and `long`
# (`--hypothesis-profile=long` or FUZZ_PROFILE=long: ten times as many). Both derandomized, so a
# run generates the same files on every machine; files are built from many draws and some are
# large on purpose (huge fields, deep JSON), hence the suppressed health checks.
EXAMPLES = {"ci": 150, "long": 1500}
# `ci` does not shrink a failing file (with huge fields that took over five minutes); the test
# saves the file that failed instead (tests/landing_fuzz/test_fuzz_landing.py). `long` shrinks.
_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.large_base_example, HealthCheck.filter_too_much])
settings.register_profile("ci", max_examples=EXAMPLES["ci"], phases=[Phase.explicit, Phase.generate], **_COMMON)
settings.register_profile("long", max_examples=EXAMPLES["long"], **_COMMON)

# The run's "now" for the future-timestamp checks: every valid timestamp below is earlier.
INGEST_TIME = datetime(2025, 6, 1, tzinfo=UTC)
VILLAGES = tuple(f"V{i:03d}" for i in range(1, 13))  # the seed file's villages (test writes it)
TOWNSHIPS = ("T01", "T02", "T03")

FORMULAS = ("=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1:A9)",
            "=1+1", "\t=1", "\r=2")
HTML = ("<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "</td></tr><b>x</b>",
        "&lt;&amp;", "Dong<script>alert(\"x\")</script>&co")
PLAIN = ("东村", "西河村", "南沟村", "北坡", "Xicun", "Nan Cun", "村,镇", 'say "hi"', "two\nlines",
         " padded ", "")
JUNK = ("\x00", "\ufeff", "\u2028", "\r", "\x1a", "\ud7ff", "\U0001f600", "\\", "'", '"')

# Personal values: distinctive pools, so a check can find any of them left in clear anywhere.
NAMES = tuple(f"{s}{g}" for s in ("欧阳", "司马", "诸葛") for g in ("明轩", "若曦", "子涵", "浩然"))
PHONES = tuple(f"1390{i:07d}" for i in range(1, 13))
ID_NUMBERS = tuple(f"11010119900101{i:03d}X" for i in range(1, 13))


def clear_values() -> tuple[str, ...]:
    """Every personal value a generated file may carry, as landed (a phone also by its digits)."""
    return NAMES + PHONES + ID_NUMBERS + tuple(p[:3] + "-" + p[3:7] + "-" + p[7:] for p in PHONES)


@dataclass(frozen=True)
class SourceContract:
    source: str
    format: str
    spec: TableSpec
    fields: tuple[str, ...]  # bronze columns: the contract's, then personal fields
    personal: dict[str, str]
    codes: dict
    bbox: dict

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.spec.columns if c.required)

    @property
    def extension(self) -> str:
        return "jsonl" if self.format == "jsonl" else "csv"


@cache
def contract() -> Contract:
    return load_contract()


@cache
def source_contract(source: str) -> SourceContract:
    c = contract()
    spec = c.specs[source]
    fields, personal = landed_fields(source, spec, c.ingest)
    return SourceContract(source=source, format=c.ingest["sources"][source]["format"], spec=spec,
                          fields=fields, personal=personal, codes=c.codes, bbox=c.ingest["bounding_box"])


def sources() -> list[str]:
    return contract().sources


class LandingCase:
    """One generated file: its bytes and what was done to it (shown when a check fails; a plain
    class, so hypothesis prints the short repr below rather than every byte)."""

    def __init__(self, source: str, data: bytes) -> None:
        self.source, self.data = source, data
        self.damage: list[str] = []
        self.personal_values: set[str] = set()

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        return f"LandingCase({self.source!r}, damage={self.damage}, data={self.data[:2000]!r})"


# --- values ---------------------------------------------------------------------------------

def chance(one_in: int) -> st.SearchStrategy[bool]:
    """True about once in `one_in` draws (hypothesis draws the ends of an integer range far more
    often than the rest, so `integers(0, n) == 0` is not one in n)."""
    return st.sampled_from((True,) + (False,) * (one_in - 1))


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(PLAIN), st.sampled_from(FORMULAS), st.sampled_from(HTML),
        st.builds(lambda a, b: a + b, st.sampled_from(PLAIN + FORMULAS), st.sampled_from(HTML + JUNK)),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    )


def _stamp(dt: datetime, style: int) -> str:
    if style == 0:
        return dt.strftime("%Y-%m-%d %H:%M:%S")
    if style == 1:
        return dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    return dt.strftime("%Y-%m-%d %H:%M:%SZ")


def _bounds(rule: ColumnRule, bbox: dict) -> tuple[float | None, float | None]:
    if rule.bbox:
        return float(bbox[f"{rule.bbox}_min"]), float(bbox[f"{rule.bbox}_max"])
    return rule.min, rule.max


def valid_value(sc: SourceContract, rule: ColumnRule) -> st.SearchStrategy[str]:
    """Text the contract accepts for the column (a row of them may still break a cross rule)."""
    name = rule.name
    if name == "village_id":
        return st.sampled_from(VILLAGES)
    if name == "township_id":
        return st.sampled_from(TOWNSHIPS)
    if name in sc.spec.key and rule.type == "string":
        return st.integers(1, 40).map(lambda i, s=sc.source: f"{s[:3].upper()}{i:04d}")
    lo, hi = _bounds(rule, sc.bbox)
    if rule.type == "string":
        return hostile_text().filter(lambda t: t.strip() != "") if rule.required else hostile_text()
    if rule.type == "code":
        labels = [str(k) for k in sc.codes[rule.codes]] + [
            str(x) for v in sc.codes[rule.codes].values() for x in (v or [])]
        return st.sampled_from(sorted(labels))
    if rule.type == "int":
        return st.integers(int(lo if lo is not None else -1000), int(hi if hi is not None else 5000)).map(str)
    if rule.type == "double":
        return st.floats(lo if lo is not None else -1e6, hi if hi is not None else 1e6,
                         allow_nan=False).map(lambda x: repr(round(x, 6)))
    if rule.type == "bool":
        return st.sampled_from(("true", "false", "Yes", "n", "1", "0", "T"))
    if rule.type == "date":
        return st.dates(datetime(2019, 1, 1).date(), datetime(2025, 5, 1).date()).map(str)
    if rule.type == "timestamp":
        return st.builds(_stamp, st.datetimes(datetime(2019, 1, 1), datetime(2025, 5, 1)), st.integers(0, 2))
    if rule.type == "json_list":
        return st.lists(st.fixed_dictionaries({"lon": st.floats(113, 114), "lat": st.floats(37, 38)}),
                        max_size=3).map(json.dumps)
    raise AssertionError(rule.type)


def bad_value(sc: SourceContract, rule: ColumnRule) -> st.SearchStrategy[str]:
    """Text that breaks the column's rule: wrong type, out of range, unknown code, future, blank."""
    options: list[st.SearchStrategy[str]] = [st.sampled_from(("", "   ")), hostile_text()]
    lo, hi = _bounds(rule, sc.bbox)
    if rule.type in ("int", "double"):
        options.append(st.sampled_from(("abc", "1,5", "NaN", "inf", "1e400", "１２", "0x1F", "12345678901",
                                        "--1", "1.2.3")))
        if lo is not None:
            options.append(st.just(str(lo - 1000)))
        if hi is not None:
            options.append(st.just(str(hi + 1000)))
    if rule.type == "date":
        options.append(st.sampled_from(("2024-13-01", "2024-02-30", "2024/01/01", "20240101", "0000-00-00")))
    if rule.type == "timestamp":
        options.append(st.sampled_from(("2024-01-01T10:00", "2099-01-01 00:00:00", "2024-01-01 25:61:61",
                                        "yesterday", "2024-01-01 10:00:00+25:00", "9999-12-31T23:59:59Z")))
    if rule.type == "code":
        options.append(st.sampled_from(("unknown_code", "THEFT", "盗 窃", "=1+1")))
    if rule.type == "bool":
        options.append(st.sampled_from(("maybe", "2", "真")))
    if rule.type == "json_list":
        options.append(st.sampled_from(("[", "[1,", "{}", "[" * 50 + "]" * 50, "not json")))
    if rule.name == "village_id":
        options.append(st.sampled_from(("V999", "v001", " V001 ")))
    return st.one_of(options)


def personal_value(kind: str) -> st.SearchStrategy[str]:
    if kind == "name":
        return st.sampled_from(NAMES)
    if kind == "phone":
        return st.sampled_from(PHONES).flatmap(lambda p: st.sampled_from(
            (p, "+86 " + p, p[:3] + "-" + p[3:7] + "-" + p[7:])))
    return st.sampled_from(ID_NUMBERS).flatmap(lambda v: st.sampled_from((v, v.lower(), v[:6] + " " + v[6:])))


@st.composite
def record(draw, sc: SourceContract) -> dict[str, str]:
    """One row as text per column: valid, or with some values broken."""
    broken = draw(chance(3))
    row: dict[str, str] = {}
    for rule in sc.spec.columns:
        bad = broken and draw(chance(4))
        row[rule.name] = draw(bad_value(sc, rule) if bad else valid_value(sc, rule))
    if not broken:
        draw(consistent(sc, row))
    for name, kind in sc.personal.items():
        if not draw(chance(5)):
            row[name] = draw(personal_value(kind))
    return row


@st.composite
def consistent(draw, sc: SourceContract, row: dict[str, str]) -> None:
    """Make a valid row keep the source's cross-column rules (conf/expectations `rules`, by name;
    a rule not handled here only makes fewer generated rows valid)."""
    rules = {r.name for r in sc.spec.rules}
    if "population_age_sum" in rules:
        parts = [draw(st.integers(0, 900)) for _ in range(3)]
        row.update(pop_under_15=str(parts[0]), pop_15_59=str(parts[1]), pop_60_plus=str(parts[2]),
                   resident_pop=str(sum(parts)))
    for rule, low, high in (("low_income_gt_households", "low_income_households", "households"),
                            ("trained_gt_members", "trained_members", "members")):
        if rule in rules:
            top = draw(st.integers(0, 500))
            row.update({high: str(top), low: str(draw(st.integers(0, top)))})
    for rule, first, then in (("dissolved_before_established", "established_on", "dissolved_on"),
                              ("removed_before_installed", "installed_on", "removed_on")):
        if rule in rules and row.get(then, "") < row.get(first, ""):
            row[then] = ""
    if "occurred_after_reported" in rules:
        row["occurred_at"] = draw(st.sampled_from(("", row["reported_at"])))
    if "ended_before_started" in rules:
        start = draw(st.datetimes(datetime(2019, 1, 1), datetime(2025, 4, 1)))
        end = start + timedelta(minutes=draw(st.integers(20, 600)))
        style = draw(st.integers(0, 2))
        row.update(started_at=_stamp(start, style), ended_at=_stamp(end, style), updated_at="")
    if "completed" in rules:
        row["completed"] = draw(st.sampled_from(("true", "Yes", "1")))


# --- CSV ------------------------------------------------------------------------------------

EXTRA_COLUMNS = ("note", "备注", "备用电话", "contact_phone", "narrative", "Comment ")


@st.composite
def csv_header(draw, sc: SourceContract) -> list[tuple[str, str | None]]:
    """(header name as written, contract column or None for an unknown one), in file order."""
    cols = [c for c in (*sc.spec.names, *sc.personal)
            if c in sc.required or not draw(chance(6))]  # optional ones sometimes left out
    if draw(st.booleans()):
        cols = draw(st.permutations(cols))
    styled = [(draw(st.sampled_from((c, c.upper(), f" {c} ", c.title()))), c) for c in cols]
    for extra in draw(st.lists(st.sampled_from(EXTRA_COLUMNS), max_size=2, unique=True)):
        styled.insert(draw(st.integers(0, len(styled))), (extra, None))
    return styled


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


@st.composite
def damaged_line(draw, line: str, damage: list[str]) -> str:
    kind = draw(st.sampled_from(("none",) * 24 + ("truncate", "overlong", "quote", "nul", "junk", "blank")))
    if kind == "none":
        return line
    damage.append(kind)
    at = draw(st.integers(0, len(line)))
    if kind == "truncate":
        return line[:at]
    if kind == "overlong":
        return line + "," * draw(st.integers(1, 40)) + draw(hostile_text()).replace("\n", " ")
    if kind == "quote":
        return line[:at] + '"' + line[at:]
    if kind == "nul":
        return line[:at] + "\x00" + line[at:]
    if kind == "junk":
        return line[:at] + draw(st.sampled_from(JUNK)) + line[at:]
    return line + "\n"  # a blank line after it


# Rows per file: few, some, or enough for the per-file gate (batch_failure.min_rows is 20). Big
# files are one size in seven: ingest runs up to four Spark jobs for each file it rejects alone
# (features/landing/batch.py failing_rules), about 75 of the ci profile's files.
SIZES = st.sampled_from(({"max_size": 3},) * 3 + ({"min_size": 4, "max_size": 12},) * 3
                        + ({"min_size": 20, "max_size": 24},))
HUGE = (1_000, 70_000, 140_000)  # 140,000 is above csv's default field size limit (131,072)


@st.composite
def csv_file(draw, sc: SourceContract, header: list[tuple[str, str | None]] | None = None) -> LandingCase:
    case = LandingCase(sc.source, b"")
    header = header if header is not None else draw(csv_header(sc))
    rows = draw(st.lists(record(sc), **draw(SIZES)))
    delimiter = draw(st.sampled_from((",",) * 30 + (";", "\t", "|")))
    if delimiter != ",":
        case.damage.append(f"delimiter {delimiter!r}")
    lines = [delimiter.join(name for name, _ in header) if delimiter != "," else _csv_line([n for n, _ in header])]
    huge = draw(st.integers(0, len(rows) - 1)) if rows and draw(chance(6)) else None  # one row, one field
    for i, row in enumerate(rows):
        values = [row.get(col, "") if col else draw(st.sampled_from(("", "ok", "x,y"))) for _, col in header]
        if values and i == huge:
            values[draw(st.integers(0, len(values) - 1))] = "A" * draw(st.sampled_from(HUGE))
            case.damage.append("huge field")
        case.personal_values |= {row[p] for p in sc.personal if p in row}
        lines.append(draw(damaged_line(_csv_line(values), case.damage)))
    newline = draw(st.sampled_from(("\n", "\r\n")))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    # A cut keeps the header whole: a header that lacks a column is header_problem_file's case.
    case.data = draw(encoded(text, case.damage, keep=len(lines[0]) + len(newline)))
    return case


@st.composite
def encoded(draw, text: str, damage: list[str], keep: int = 0) -> bytes:
    """The file's bytes: UTF-8 mostly, else a wrong encoding, a BOM, bad bytes or a cut (after
    the first `keep` characters)."""
    how = draw(st.sampled_from(("utf-8",) * 24 + ("bom", "bom", "gb18030", "utf-16", "bad bytes", "cut", "empty")))
    if how != "utf-8":
        damage.append(how)
    if how == "empty":
        return draw(st.sampled_from((b"", b"\xef\xbb\xbf", b" \r\n\t\n")))
    if how == "gb18030":
        return text.encode("gb18030", errors="replace")
    if how == "utf-16":
        return text.encode("utf-16", errors="surrogatepass")
    data = text.encode("utf-8", errors="surrogatepass")
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    at = draw(st.integers(min(len(data), len(text[:keep].encode("utf-8", errors="surrogatepass"))), len(data)))
    if how == "bad bytes":
        return data[:at] + draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe4\xb8"))) + data[at:]
    if how == "cut":
        return data[:at]
    return data


# --- JSON Lines -----------------------------------------------------------------------------

def _json_value(sc: SourceContract, rule: ColumnRule, text: str) -> st.SearchStrategy[object]:
    """A field as JSON: its text, or the JSON value it stands for (numbers, booleans, lists)."""
    options: list[st.SearchStrategy[object]] = [st.just(text)]
    if rule.type in ("int", "double"):
        try:
            options.append(st.just(json.loads(text)))
        except ValueError:
            pass
    if rule.type == "bool":
        options.append(st.sampled_from((True, False)))
    if rule.type == "json_list" and text.startswith("["):
        try:
            options.append(st.just(json.loads(text)))
        except ValueError:
            pass
    return st.one_of(options)


def deep(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


@st.composite
def jsonl_line(draw, sc: SourceContract, case: LandingCase) -> str:
    kind = draw(st.sampled_from(("object",) * 40 + ("not object", "deep", "deep field", "surrogate",
                                                      "nan", "dup keys", "huge", "truncate", "blank")))
    if kind == "not object":
        case.damage.append(kind)
        return draw(st.sampled_from(("[1, 2]", "42", '"text"', "null", "true", "[]", '[{"patrol_id": "P1"}]')))
    if kind == "deep":
        case.damage.append(kind)
        return deep(draw(st.sampled_from((50, 900, 5_000, 100_000))), draw(st.sampled_from(("list", "dict"))))
    row = draw(record(sc))
    obj: dict[str, object] = {}
    for rule in sc.spec.columns:
        if not draw(chance(10)):  # sometimes a field is absent
            obj[draw(st.sampled_from((rule.name, rule.name.upper())))] = draw(_json_value(sc, rule, row[rule.name]))
    if draw(chance(5)):
        obj[draw(st.sampled_from(EXTRA_COLUMNS + ("leader_phone", "meta")))] = draw(
            st.one_of(hostile_text(), st.integers(), st.none(), st.lists(st.integers(), max_size=3)))
    line = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    if kind == "deep field":
        case.damage.append(kind)
        value = deep(draw(st.sampled_from((10, 500, 3_000))), draw(st.sampled_from(("list", "dict"))))
        line = line[:-1] + (", " if obj else "") + f'"checkpoints": {value}}}'
    elif kind == "surrogate":
        case.damage.append(kind)
        line = line[:-1] + (", " if obj else "") + '"notes": "bad \\ud800 half"}'
    elif kind == "nan":
        case.damage.append(kind)
        line = line[:-1] + (", " if obj else "") + f'"distance_km": {draw(st.sampled_from(("NaN", "Infinity", "-Infinity", "1e999")))}}}'
    elif kind == "dup keys":
        case.damage.append(kind)
        line = line[:-1] + (", " if obj else "") + '"patrol_id": "P9", "Patrol_ID": "P8"}'
    elif kind == "huge":
        case.damage.append(kind)
        line = line[:-1] + (", " if obj else "") + f'"mode": "{"A" * draw(st.sampled_from(HUGE))}"}}'
    elif kind == "truncate":
        case.damage.append(kind)
        line = line[: draw(st.integers(0, len(line)))]
    elif kind == "blank":
        line += "\n"
    return line


@st.composite
def jsonl_file(draw, sc: SourceContract) -> LandingCase:
    case = LandingCase(sc.source, b"")
    lines = draw(st.lists(jsonl_line(sc, case), **draw(SIZES)))
    newline = draw(st.sampled_from(("\n", "\r\n")))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    case.data = draw(encoded(text, case.damage))
    return case


# --- entry points ---------------------------------------------------------------------------

def landing_file(source: str) -> st.SearchStrategy[LandingCase]:
    """A hostile file of the source whose header (CSV) is one the contract accepts."""
    sc = source_contract(source)
    return jsonl_file(sc) if sc.format == "jsonl" else csv_file(sc)


@st.composite
def header_problem_file(draw, source: str) -> LandingCase:
    """A CSV file whose header repeats a column (perhaps re-cased) or lacks a required one."""
    sc = source_contract(source)
    header = list(draw(csv_header(sc)))
    if draw(st.booleans()):
        name, col = draw(st.sampled_from(header))
        header.insert(draw(st.integers(0, len(header))), (name.upper() if col else name, col))
        problem = "duplicate column"
    else:
        gone = draw(st.sampled_from(sc.required))
        header = [(n, c) for n, c in header if c != gone]
        problem = f"missing {gone}"
    case = draw(csv_file(sc, header=header))
    case.damage.insert(0, problem)
    return case
