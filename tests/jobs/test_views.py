"""The analysts' views (jobs/views.py) without Spark: every view reads catalog tables only and
names each table it reads, and the table views' SQL quotes paths and comments safely."""

from __future__ import annotations

import re

from jobs import views
from store import catalog
from store.lakehouse import Lakehouse


def test_every_view_reads_only_the_tables_it_needs_and_they_are_catalog_tables():
    names = [v.name for v in views.VIEWS]
    assert len(names) == len(set(names)) and all(n.startswith(f"{views.ANALYST}.") for n in names)
    for v in views.VIEWS:
        assert set(v.needs) <= set(catalog.TABLES), v.name
        read = set(re.findall(r"\b(?:FROM|JOIN)\s+((?:bronze|silver|gold|ops)\.[a-z_]+)", v.sql))
        assert read == set(v.needs), v.name  # a view created before a table it reads exists would fail
        assert v.answers and not v.answers.endswith(".")


def test_a_table_view_reads_the_delta_path_with_its_catalog_comment(tmp_path):
    lh = Lakehouse(str(tmp_path / "lake`house"))
    sql = views.table_view_sql(lh, catalog.VILLAGE_RISK)
    path = lh.path(catalog.VILLAGE_RISK).replace("`", "``")
    assert sql.startswith("CREATE OR REPLACE VIEW gold.village_risk WITH SCHEMA EVOLUTION COMMENT '")
    assert sql.endswith(f"AS SELECT * FROM delta.`{path}`") and "lake``house" in sql
    assert views._sql_string("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert "COMMENT" not in views.table_view_sql(lh, "gold.not_in_the_catalog")


def test_views_whose_tables_are_missing_are_not_attempted():
    class NoSpark:
        def sql(self, text):
            raise AssertionError(f"no view should be created: {text[:60]}")

    assert views.create_analyst_views(NoSpark(), present=[catalog.SILVER_VILLAGES]) == []
