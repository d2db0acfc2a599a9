"""features/assemble.py: the stand-in tables of absent optional sources match the silver contract,
the lookback per grain, and the closing select that casts every column and carries its comment.
(The whole join, build_village_features, runs in tests/jobs/test_features.py.)"""

from __future__ import annotations

from datetime import date

from features import dictionary
from features.assemble import SILVER_DDL, _contract, empty_silver, lookback_periods
from features.landing.conform import LINEAGE, silver_fields
from features.landing.rules import load_specs


def test_lookback_is_one_year_of_periods():
    assert [lookback_periods(g) for g in ("month", "week", "quarter", "year")] == [12, 52, 4, 1]


def test_empty_optional_sources_have_the_silver_columns_and_types(spark):
    specs = load_specs()
    assert sorted(SILVER_DDL) == ["organizations", "patrols", "population", "resources", "survey"]
    for source in SILVER_DDL:
        df = empty_silver(spark, source)
        # the silver table without its lineage columns (features never read those)
        wanted = [(n, t) for n, t, _ in silver_fields(specs[source]) if n not in LINEAGE and n != "_key_id"]
        assert [(f.name, f.dataType) for f in df.schema.fields] == wanted, source


def test_the_closing_select_casts_orders_and_comments(spark):
    cols = [
        dictionary.Column("village_id", "string", "Village code.", "-", "silver.villages"),
        dictionary.Column("period_start", "date", "First day.", "-", "periods"),
        dictionary.Column("inc_all_1", "int", "Incidents.", "t", "silver.incidents"),
        dictionary.Column("rate", "double", "A rate.", "t", "silver.population"),
    ]
    # computed columns arrive as long / int / text, in another order and with extra columns
    df = spark.createDataFrame([(3, "V1", date(2024, 1, 1), 7, "x")],
                               "inc_all_1 long, village_id string, period_start date, rate int, scratch string")
    out = df.select(*_contract(cols))
    assert out.columns == ["village_id", "period_start", "inc_all_1", "rate"]
    assert [f.dataType.simpleString() for f in out.schema.fields] == ["string", "date", "int", "double"]
    assert out.schema["rate"].metadata == {"comment": "A rate. Window: t. Source: silver.population."}
    assert tuple(out.first()) == ("V1", date(2024, 1, 1), 3, 7.0)
