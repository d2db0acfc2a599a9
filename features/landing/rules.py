"""Contract rules of one silver table, read from conf/expectations/<table>.yaml.

The same rules drive two things: the row-level reason codes computed here with Spark
expressions (rows with any reason go to ops.quarantine), and the Great Expectations
suite built in features/quality.py, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

TYPES = ("string", "int", "double", "bool", "date", "timestamp", "code", "json_list")
VILLAGE_MODES = ("none", "exists", "snap")
UPDATED_AT_MODES = ("column", "ended_at", "ingest_time")

INT_RE = r"^[+-]?[0-9]{1,9}$"
NUMBER_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
LOCAL_TS_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
OFFSET_TS_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([+-][0-9]{2}:[0-9]{2}|Z)$"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


class ExpectationConfigError(ValueError):
    """A conf/expectations file holds a rule this module does not understand."""


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    bbox: str | None = None
    codes: str | None = None
    not_future: bool = False
    reason: str | None = None

    @property
    def range_reason(self) -> str:
        return self.reason or f"out_of_range:{self.name}"


@dataclass(frozen=True)
class RowRule:
    name: str
    expr: str
    reason: str


@dataclass(frozen=True)
class TableSpec:
    """Silver contract of one source: key, typed columns, cross-field rules."""

    source: str
    table: str
    key: tuple[str, ...]
    columns: tuple[ColumnRule, ...]
    rules: tuple[RowRule, ...]
    village: str
    updated_at: str

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnRule:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def parse_spec(source: str, data: Mapping[str, Any]) -> TableSpec:
    """Validate and convert one expectations file."""
    where = f"conf/expectations/{source}.yaml"
    cols = []
    for name, raw in (data.get("columns") or {}).items():
        raw = dict(raw or {})
        unknown = set(raw) - {"type", "required", "min", "max", "bbox", "codes", "not_future", "reason"}
        if unknown or raw.get("type") not in TYPES:
            raise ExpectationConfigError(
                f"{where}: column {name}: type must be one of {TYPES} and keys known "
                f"(got type={raw.get('type')!r}, unknown keys {sorted(unknown)})"
            )
        if raw.get("bbox") not in (None, "lon", "lat"):
            raise ExpectationConfigError(f"{where}: column {name}: bbox must be lon or lat")
        if raw["type"] == "code" and not raw.get("codes"):
            raise ExpectationConfigError(f"{where}: column {name}: a code column needs `codes`")
        cols.append(ColumnRule(name=name, **raw))
    rules = tuple(
        RowRule(name=r["name"], expr=r["expr"], reason=r.get("reason") or f"inconsistent:{r['name']}")
        for r in data.get("rules") or []
    )
    spec = TableSpec(
        source=source, table=str(data.get("table", f"silver.{source}")),
        key=tuple(data.get("key") or ()), columns=tuple(cols), rules=rules,
        village=str(data.get("village", "none")), updated_at=str(data.get("updated_at", "column")),
    )
    if not spec.key or not set(spec.key) <= set(spec.names):
        raise ExpectationConfigError(f"{where}: key {spec.key} must name declared columns")
    if spec.village not in VILLAGE_MODES or spec.updated_at not in UPDATED_AT_MODES:
        raise ExpectationConfigError(
            f"{where}: village must be one of {VILLAGE_MODES}, updated_at one of {UPDATED_AT_MODES}"
        )
    return spec



def load_specs() -> dict[str, TableSpec]:
    """Every source's spec from conf/expectations/<source>.yaml: the one reading of the rules
    that ingest, check-landing, the contract document and the table catalog share."""
    from conf import CONF_DIR, load_yaml

    return {p.stem: parse_spec(p.stem, load_yaml(p)) for p in sorted((CONF_DIR / "expectations").glob("*.yaml"))}

def code_lookup(codes: Mapping[str, Any], list_name: str) -> dict[str, str]:
    """label-or-code -> code for one list of conf/codes.yaml."""
    if list_name not in codes:
        raise ExpectationConfigError(f"conf/codes.yaml has no code list '{list_name}'")
    out: dict[str, str] = {}
    for code, labels in (codes[list_name] or {}).items():
        out[str(code)] = str(code)
        for label in labels or []:
            out[str(label)] = str(code)
    return out


def _map_expr(lookup: Mapping[str, str]) -> Column:
    return F.create_map(*[F.lit(x) for kv in sorted(lookup.items()) for x in kv])


def clean(col: Column) -> Column:
    """Trimmed text, empty string = missing."""
    t = F.trim(col)
    return F.when(t != "", t)


def typed_value(raw: Column, rule: ColumnRule, lookup: Mapping[str, str] | None) -> Column:
    """Value in the contract type; null when missing or not parseable. A code that is not
    mapped keeps its raw text so the suite sees it (it is quarantined as bad_code)."""
    v = clean(raw)
    if rule.type == "string":
        return v
    if rule.type == "code":
        return F.coalesce(F.element_at(_map_expr(lookup or {}), v), v)
    if rule.type == "int":
        return F.when(v.rlike(INT_RE), v.try_cast(T.IntegerType()))
    if rule.type == "double":
        return F.when(v.rlike(NUMBER_RE), v.try_cast(T.DoubleType()))
    if rule.type == "bool":
        low = F.lower(v)
        return F.when(low.isin(*TRUE_WORDS), F.lit(True)).when(low.isin(*FALSE_WORDS), F.lit(False))
    if rule.type == "date":
        return F.when(v.rlike(DATE_RE), F.to_date(F.try_to_timestamp(v, F.lit("yyyy-MM-dd"))))
    if rule.type == "timestamp":
        local = F.try_to_timestamp(v, F.lit("yyyy-MM-dd HH:mm:ss"))
        offset = F.try_to_timestamp(
            F.regexp_replace(v, " ", "T"), F.lit("yyyy-MM-dd'T'HH:mm:ss[.SSSSSSSSS]XXX")
        )
        return F.when(v.rlike(LOCAL_TS_RE), local).when(v.rlike(OFFSET_TS_RE), offset)
    if rule.type == "json_list":
        return F.when(v.startswith("["), F.json_array_length(v))
    raise ExpectationConfigError(f"unknown type {rule.type}")


def typed_frame(
    bronze: DataFrame, spec: TableSpec, codes: Mapping[str, Any], carry: list[str]
) -> DataFrame:
    """Typed columns `<name>` next to the cleaned landed text `_in_<name>` (for reasons)."""
    cols = [F.col(c) for c in carry]
    for rule in spec.columns:
        raw = F.col(rule.name) if rule.name in bronze.columns else F.lit(None).cast("string")
        lookup = code_lookup(codes, rule.codes) if rule.type == "code" else None
        cols.append(typed_value(raw, rule, lookup).alias(rule.name))
        cols.append(clean(raw).alias(f"_in_{rule.name}"))
    return bronze.select(*cols)


def range_ok(rule: ColumnRule, bbox: Mapping[str, float]) -> Column | None:
    """True when the typed value is inside its range (null when missing)."""
    lo, hi = rule.min, rule.max
    if rule.bbox:
        lo, hi = float(bbox[f"{rule.bbox}_min"]), float(bbox[f"{rule.bbox}_max"])
    if lo is None and hi is None:
        return None
    c = F.col(rule.name)
    conds = [c >= F.lit(lo)] if lo is not None else []
    conds += [c <= F.lit(hi)] if hi is not None else []
    out = conds[0]
    for cond in conds[1:]:
        out = out & cond
    return out


def code_ok(rule: ColumnRule, codes: Mapping[str, Any]) -> Column:
    allowed = sorted({str(c) for c in (codes[rule.codes] or {})})
    return F.col(rule.name).isin(*allowed)


def check_columns(
    spec: TableSpec, codes: Mapping[str, Any], bbox: Mapping[str, float], ingest_time: datetime
) -> dict[str, Column]:
    """Boolean check columns `_ok__...` (true = fine, null = not applicable), one per
    expectation; their names carry the reason code they stand for."""
    checks: dict[str, Column] = {}
    for rule in spec.columns:
        c, landed = F.col(rule.name), F.col(f"_in_{rule.name}")
        if rule.required:
            checks[f"missing_required:{rule.name}"] = landed.isNotNull()
        if rule.type not in ("string", "code"):
            checks[f"bad_type:{rule.name}"] = F.when(landed.isNotNull(), c.isNotNull())
        rng = range_ok(rule, bbox)
        if rng is not None:
            checks[f"{rule.range_reason}|range:{rule.name}"] = rng
        if rule.type == "code":
            checks[f"bad_code:{rule.name}"] = code_ok(rule, codes)
        if rule.not_future:
            checks[f"future_timestamp:{rule.name}"] = c <= F.lit(ingest_time).cast(T.TimestampType())
    for rr in spec.rules:
        checks[f"{rr.reason}|rule:{rr.name}"] = F.expr(rr.expr).cast(T.BooleanType())
    return checks


def reason_of(check_name: str) -> str:
    """The quarantine reason code a check stands for."""
    return check_name.split("|", 1)[0]


def check_column_name(check_name: str) -> str:
    """A column-safe name for a check, e.g. `_ok__out_of_range_severity__range_severity`."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in check_name)
    return f"_ok__{safe}"


def with_checks(typed: DataFrame, checks: Mapping[str, Column]) -> DataFrame:
    """Add every check column and `_reasons` (sorted distinct reason codes of failed checks)."""
    out = typed.select("*", *[col.alias(check_column_name(name)) for name, col in checks.items()])
    failed = [
        F.when(F.col(check_column_name(name)) == F.lit(False), F.lit(reason_of(name)))
        for name in checks
    ]
    reasons = F.array_sort(F.array_distinct(F.filter(F.array(*failed), lambda x: x.isNotNull())))
    return out.withColumn("_reasons", reasons if failed else F.array().cast("array<string>"))
