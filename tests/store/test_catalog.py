"""The table catalog: every table described, every column commented, docs/tables.md current."""

from __future__ import annotations

import re

import pytest

from conf import load_settings
from store import catalog


@pytest.fixture(scope="module")
def sections():
    return catalog.sections_of(load_settings())


def test_docs_table_reference_is_rendered_from_the_catalog(sections):
    current, wanted = catalog.rewrite(catalog.DOC, sections)
    assert current == wanted, "docs/tables.md is stale: run `python -m store.catalog`"
    assert catalog.main(["--check"]) == 0


def test_every_table_is_described_and_every_column_commented(sections):
    assert len(catalog.TABLES) == 30
    for name, table in catalog.TABLES.items():
        assert re.fullmatch(r"(bronze|silver|gold|ops)\.[a-z_]+", name)
        assert table.description and table.grain, name
        fields = catalog.schema(name, sections).fields
        names = [f.name for f in fields]
        assert len(names) == len(set(names)), name
        blank = [f.name for f in fields if not str(f.metadata.get("comment", "")).strip()]
        assert blank == [], f"{name}: columns without a comment: {blank}"


def test_the_lakehouse_takes_descriptions_from_the_catalog():
    assert catalog.description("gold.village_risk").startswith("risk of every village")
    assert catalog.description("gold.not_a_table") is None  # a test's own table keeps its comment



def test_a_column_name_has_one_type_across_the_lakehouse(sections):
    """Past bronze (text as landed), a name is one idea: one type wherever it appears."""
    types: dict[str, set[str]] = {}
    for name in (n for n in catalog.TABLES if not n.startswith("bronze.")):
        for f in catalog.schema(name, sections).fields:
            types.setdefault(f.name, set()).add(f.dataType.simpleString())
    assert {c: t for c, t in types.items() if len(t) > 1} == {}


def test_forecast_tables_name_the_predicted_period_period_start(sections):
    """period_start of a row about a forecast is the period predicted; rows made from an
    earlier period's features name that one feature_period_start (docs/tables.md)."""
    with_features = {n for n in catalog.TABLES
                     if "feature_period_start" in catalog.schema(n, sections).fieldNames()}
    assert with_features == {"gold.backtest_predictions", "gold.model_metrics"}
    for name in ("gold.backtest_predictions", "gold.model_metrics", "gold.village_risk",
                 "gold.township_audit", "gold.label_source_comparison", "gold.patrol_plan",
                 "gold.allocation_backtest"):
        fields = {f.name: f for f in catalog.schema(name, sections).fields}
        assert "feature period" not in fields["period_start"].metadata["comment"].lower(), name
    # the forecast's flag is `flagged` everywhere; `high_risk` is only a label of the features
    holders = {n for n in catalog.TABLES if any(
        "high_risk" == f.name for f in catalog.schema(n, sections).fields)}
    assert holders == set()
