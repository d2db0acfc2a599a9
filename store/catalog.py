"""The lakehouse's tables in one place: every table's name, what one row is, its description
and its schema with a comment on every column.

Every reader and writer takes a table's name from the constants below (a test fails on a
table name written as a literal elsewhere). The schemas of bronze, silver and the ingest's ops
tables come from the landing contract (features/landing) and those of the feature tables from
the feature dictionary (features/dictionary.py), since they follow the settings; every other
schema is in store/schemas.py. The catalog names each one, so `Lakehouse.create` takes a table's description from here, the
docs' table reference (docs/tables.md) is rendered from here, and a test compares every table
of a real lakehouse with it. `python -m store.catalog` rewrites the reference in docs/tables.md;
`--check` exits 1 when it is stale.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "tables.md"

SOURCES = ("villages", "population", "incidents", "patrols", "organizations", "resources", "survey")


def bronze(source: str) -> str:
    """Name of a landing source's bronze table."""
    return f"bronze.{source}"


def silver(source: str) -> str:
    """Name of a landing source's silver table."""
    return f"silver.{source}"


# Table names (bronze and silver: `bronze(source)`, `silver(source)` and the constants below).
SILVER_VILLAGES = "silver.villages"
SILVER_POPULATION = "silver.population"
SILVER_INCIDENTS = "silver.incidents"
SILVER_PATROLS = "silver.patrols"
SILVER_ORGANIZATIONS = "silver.organizations"
SILVER_RESOURCES = "silver.resources"
SILVER_SURVEY = "silver.survey"
INGEST_LOG = "ops.ingest_log"
QUARANTINE = "ops.quarantine"
CHANGED_PERIODS = "ops.changed_periods"
MODEL_REGISTRY = "ops.model_registry"
MAINTENANCE_LOG = "ops.maintenance_log"
DATA_DICTIONARY = "ops.data_dictionary"
VILLAGE_FEATURES = "gold.village_features"
GOVERNANCE_INDEX = "gold.governance_index"
BACKTEST_PREDICTIONS = "gold.backtest_predictions"
MODEL_METRICS = "gold.model_metrics"
VILLAGE_RISK = "gold.village_risk"
TOWNSHIP_AUDIT = "gold.township_audit"
LABEL_SOURCE_COMPARISON = "gold.label_source_comparison"
PATROL_PLAN = "gold.patrol_plan"
PATROL_CAPACITY_USED = "gold.patrol_capacity_used"
ALLOCATION_BACKTEST = "gold.allocation_backtest"


@dataclass(frozen=True)
class Table:
    name: str
    grain: str  # what one row is
    description: str
    schema: Callable[[Mapping[str, Any]], Any]  # sections of the settings -> StructType
    # Partition columns; none of today's tables is partitioned (`Lakehouse.create` applies them).
    partition_by: tuple[str, ...] = ()
    # CHECK constraints (name -> SQL condition) every write of the table must meet;
    # `Lakehouse.create` sets them at creation and adds those an older table lacks.
    constraints: Callable[[], Mapping[str, str]] | None = None
    # Delta table properties beyond the defaults every table has (store/lakehouse.TABLE_DEFAULTS);
    # `Lakehouse.create` sets them at creation and on an existing table that lacks them.
    properties: Mapping[str, str] = field(default_factory=dict)


# Change data feed on the gold tables downstream systems follow: each commit also records the
# rows it inserted, updated and deleted, read with table_changes (docs/analysts.md).
CHANGE_DATA_FEED = {"delta.enableChangeDataFeed": "true"}
_PROPERTIES: dict[str, Mapping[str, str]] = {
    VILLAGE_RISK: CHANGE_DATA_FEED,
    PATROL_PLAN: CHANGE_DATA_FEED,
}


def _spec(source: str) -> Any:
    from features.landing.rules import load_specs

    return load_specs()[source]


def _bronze(source: str) -> Callable[[Mapping[str, Any]], Any]:
    def schema(sections: Mapping[str, Any]) -> Any:
        from features.landing import tables

        fields, personal = tables.landed_fields(source, _spec(source), sections["ingest"])
        return tables.bronze_schema(fields, list(personal))
    return schema


def _silver(source: str) -> Callable[[Mapping[str, Any]], Any]:
    def schema(sections: Mapping[str, Any]) -> Any:
        from features.landing import conform

        return conform.silver_schema(_spec(source))
    return schema


def _fixed(module: str, attribute: str) -> Callable[[Mapping[str, Any]], Any]:
    def schema(sections: Mapping[str, Any]) -> Any:
        import importlib

        return getattr(importlib.import_module(module), attribute)
    return schema


def _silver_checks(source: str) -> Callable[[], Mapping[str, str]]:
    def checks() -> Mapping[str, str]:
        from features.landing import conform

        return conform.silver_constraints(_spec(source))
    return checks


def _landing_checks(attribute: str) -> Callable[[], Mapping[str, str]]:
    def checks() -> Mapping[str, str]:
        from features.landing import tables

        return getattr(tables, attribute)
    return checks


def _features(sections: Mapping[str, Any]) -> Any:
    from features import dictionary

    grain = str(sections.get("period", "month"))
    return dictionary.schema_of(dictionary.village_feature_columns(sections["features"], grain))


def _governance(sections: Mapping[str, Any]) -> Any:
    from features import dictionary

    return dictionary.schema_of(dictionary.governance_columns())


def _tables() -> list[Table]:
    out: list[Table] = []
    for s in SOURCES:
        out.append(Table(bronze(s), "one row per landed record (every version, exact duplicates once)",
                         f"{s} as landed, with lineage; personal fields as keyed pseudonyms",
                         _bronze(s)))
    for s in SOURCES:
        out.append(Table(silver(s), "one row per key: the latest version",
                         f"{s}: typed, conformed, latest version per key", _silver(s),
                         constraints=_silver_checks(s)))
    out += [
        Table(INGEST_LOG, "one row per landed file content and run",
              "file manifest: what each ingest run did with each file",
              _fixed("features.landing.tables", "INGEST_LOG"), constraints=_landing_checks("INGEST_LOG_CHECKS")),
        Table(QUARANTINE, "one row per rejected landed record",
              "rejected rows with reason codes (docs/landing.md)",
              _fixed("features.landing.tables", "QUARANTINE"), constraints=_landing_checks("QUARANTINE_CHECKS")),
        Table(CHANGED_PERIODS, "one row per source, village and period an ingest run changed",
              "village-periods whose silver inputs changed, per ingest run (features recompute them)",
              _fixed("features.landing.tables", "CHANGED_PERIODS")),
        Table(MODEL_REGISTRY, "one row per model fit by a training run",
              "trained risk models: the candidate each training run chose, challengers, and champions (the latest promoted one is what the scorer uses)",
              _fixed("store.schemas", "MODEL_REGISTRY_SCHEMA")),
        Table(MAINTENANCE_LOG, "one row per table and maintenance action of a run",
              "what `rural-risk maintain` did: compaction and vacuum, files and versions",
              _fixed("store.schemas", "MAINTENANCE_LOG_SCHEMA")),
        Table(DATA_DICTIONARY, "one row per table and column",
              "every table's columns with type and comment, from the catalog (`rural-risk maintain`)",
              _fixed("store.schemas", "DATA_DICTIONARY_SCHEMA")),
        Table(VILLAGE_FEATURES, "one row per village and period",
              "point-in-time risk features of each village and period, and next-period labels "
              "(docs/features.md)", _features),
        Table(GOVERNANCE_INDEX, "one row per village and period",
              "governance-capacity index: subject, organization, resource and mechanism "
              "sub-scores 0-100 and their weighted mean", _governance),
        Table(BACKTEST_PREDICTIONS, "one row per village, feature period and model",
              "out-of-sample rolling-origin predictions of every model, with what happened next",
              _fixed("store.schemas", "BACKTEST_PREDICTIONS_SCHEMA")),
        Table(MODEL_METRICS, "one row per model, feature period, metric and coverage (or bin)",
              "backtest metrics per model and period; rows without a period are pooled",
              _fixed("store.schemas", "MODEL_METRICS_SCHEMA")),
        Table(VILLAGE_RISK, "one row per village and forecast period",
              "risk of every village for the period after the last complete one (champion model), "
              "with rank, flag and reasons", _fixed("store.schemas", "VILLAGE_RISK_SCHEMA")),
        Table(TOWNSHIP_AUDIT, "one row per township, period and source (backtest or scored)",
              "per township: how many villages were flagged against how many turned out high risk",
              _fixed("store.schemas", "TOWNSHIP_AUDIT_SCHEMA")),
        Table(LABEL_SOURCE_COMPARISON, "one row per village of the forecast period",
              "flags of the forecast period with the champion fit on citizen-reported labels "
              "and on labels from every source", _fixed("store.schemas", "LABEL_SOURCE_COMPARISON_SCHEMA")),
        Table(PATROL_PLAN, "one row per village, forecast period and actor type with hours",
              "patrol hours per village and actor type for the forecast period, within capacity",
              _fixed("store.schemas", "PATROL_PLAN_SCHEMA"),
              constraints=lambda: {"hours_not_negative": "hours >= 0"}),
        Table(PATROL_CAPACITY_USED, "one row per period, actor type and scope",
              "hours each actor type has in each scope and how many the plan uses",
              _fixed("store.schemas", "PATROL_CAPACITY_USED_SCHEMA")),
        Table(ALLOCATION_BACKTEST, "one row per backtest period and strategy",
              "the optimized plan against proportional and equal hours, scored on what happened",
              _fixed("store.schemas", "ALLOCATION_BACKTEST_SCHEMA")),
    ]
    return out


TABLES: dict[str, Table] = {t.name: replace(t, properties=_PROPERTIES.get(t.name, t.properties))
                            for t in _tables()}


def description(name: str) -> str | None:
    """The table's description, None for a table the catalog does not list (tests' own)."""
    t = TABLES.get(name)
    return t.description if t else None


def properties(name: str) -> Mapping[str, str]:
    """The table's own Delta properties (empty for a table the catalog does not list)."""
    t = TABLES.get(name)
    return dict(t.properties) if t else {}


def constraints(name: str) -> dict[str, str]:
    """The table's CHECK constraints (empty for a table without, or one the catalog does not list)."""
    t = TABLES.get(name)
    return dict(t.constraints()) if t and t.constraints else {}


def partition_by(name: str) -> tuple[str, ...]:
    """The table's partition columns (empty: not partitioned)."""
    t = TABLES.get(name)
    return tuple(t.partition_by) if t else ()


def schema(name: str, sections: Mapping[str, Any]) -> Any:
    """The table's schema with column comments under these settings (see `sections_of`)."""
    return TABLES[name].schema(sections)


def sections_of(settings: Any) -> dict[str, Any]:
    """What the schemas depend on: the ingest and features sections and the period grain."""
    return {"ingest": settings.section("ingest"), "features": settings.section("features"),
            "period": settings.get("period", "month")}


def _type(dtype: Any) -> str:
    return dtype.simpleString()


def render(sections: Mapping[str, Any]) -> str:
    """The table reference in Markdown: per table, one row per column."""
    lines = []
    for t in TABLES.values():
        lines += ["", f"### {t.name}", "", f"{t.description[0].upper()}{t.description[1:]}. "
                  f"Grain: {t.grain}.", "", "| column | type | comment |", "|---|---|---|"]
        for f in schema(t.name, sections).fields:
            comment = str(f.metadata.get("comment", "")).replace("|", "\\|")
            lines.append(f"| `{f.name}` | {_type(f.dataType)} | {comment} |")
        checks = constraints(t.name)
        if checks:
            lines += ["", "Constraints (every write must meet them):", ""]
            lines += [f"- `{k}`: `{v}`" for k, v in checks.items()]
        if t.partition_by:
            lines += ["", f"Partitioned by {', '.join(f'`{c}`' for c in t.partition_by)}."]
    return "\n".join(lines[1:])


def rewrite(doc: Path, sections: Mapping[str, Any]) -> tuple[str, str]:
    """(current text, text with the generated reference) of docs/tables.md."""
    from features.dictionary import replace_generated

    text = doc.read_text(encoding="utf-8")
    return text, replace_generated(text, "catalog", render(sections), str(doc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m store.catalog",
        description="Rewrite the generated table reference of docs/tables.md from the catalog "
                    "(the default settings); --check only says whether it is current.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/tables.md is stale")
    args = parser.parse_args(argv)
    from conf import load_settings
    from features.dictionary import write_or_check

    current, wanted = rewrite(DOC, sections_of(load_settings()))
    return write_or_check(DOC, current, wanted, "python -m store.catalog", args.check)


if __name__ == "__main__":
    raise SystemExit(main())
