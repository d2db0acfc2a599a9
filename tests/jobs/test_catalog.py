"""The table catalog: every table described, every column commented, docs/tables.md current."""

from __future__ import annotations

import re

import pytest

from conf import load_settings
from jobs import catalog


@pytest.fixture(scope="module")
def sections():
    return catalog.sections_of(load_settings())


def test_docs_table_reference_is_rendered_from_the_catalog(sections):
    current, wanted = catalog.rewrite(catalog.DOC, sections)
    assert current == wanted, "docs/tables.md is stale: run `python -m jobs.catalog`"
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

