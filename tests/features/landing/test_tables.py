"""features/landing/tables.py: the bronze columns of a source (contract, then personal fields),
the bronze schema, and the ops tables' schemas against their own CHECK constraints."""

from __future__ import annotations

import re

from pyspark.sql import types as T

from conf import load_yaml
from features.landing.rules import load_specs
from features.landing.tables import (
    CHANGED_PERIODS,
    INGEST_LOG,
    INGEST_LOG_CHECKS,
    KEY_ID_COMMENT,
    QUARANTINE,
    QUARANTINE_CHECKS,
    bronze_schema,
    landed_fields,
)

INGEST = load_yaml("ingest.yaml")
SPECS = load_specs()
LINEAGE = ["_extra", "_source", "_file", "_file_hash", "_line", "_run_id", "_ingested_at", "_raw", "_key_id"]


def test_landed_fields_add_personal_fields_only_where_the_source_has_them():
    fields, personal = landed_fields("incidents", SPECS["incidents"], INGEST)
    assert fields == (*SPECS["incidents"].names, "reporter_name", "reporter_phone", "reporter_id_number")
    assert personal == {"reporter_name": "name", "reporter_phone": "phone", "reporter_id_number": "id_number"}
    assert landed_fields("patrols", SPECS["patrols"], INGEST) == (tuple(SPECS["patrols"].names), {})
    # `personal: false` is the same as leaving it out
    conf = {**INGEST, "sources": {"villages": {"format": "csv", "personal": False}}}
    assert landed_fields("villages", SPECS["villages"], conf) == (tuple(SPECS["villages"].names), {})


def test_bronze_schema_is_text_plus_lineage():
    schema = bronze_schema(("incident_id", "reporter_phone"), ["reporter_phone"])
    assert schema.fieldNames() == ["incident_id", "reporter_phone", *LINEAGE]
    types = {f.name: f.dataType for f in schema.fields}
    assert types["_line"] == T.LongType() and types["_ingested_at"] == T.TimestampType()
    assert [n for n, t in types.items() if t != T.StringType()] == ["_line", "_ingested_at"]
    comments = {f.name: f.metadata["comment"] for f in schema.fields}
    assert comments["incident_id"] == "as landed"
    assert comments["reporter_phone"] == "keyed HMAC-SHA256 pseudonym"
    assert comments["_key_id"] == KEY_ID_COMMENT
    assert all(f.nullable for f in schema.fields)
    assert bronze_schema((), []).fieldNames() == LINEAGE


def _identifiers(expr: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", re.sub(r"'[^']*'", "", expr)))
    return words - {"IN", "size", "AND", "OR", "NOT", "IS", "NULL"}


def test_ops_checks_name_columns_of_their_table():
    assert INGEST_LOG_CHECKS["rows_reconcile"] == "rows_read = rows_accepted + rows_quarantined + rows_duplicate"
    for checks, schema in ((INGEST_LOG_CHECKS, INGEST_LOG), (QUARANTINE_CHECKS, QUARANTINE)):
        for name, expr in checks.items():
            assert _identifiers(expr) <= set(schema.fieldNames()), (name, expr)
    # every status the log may hold is allowed by its check
    assert re.findall(r"'([a-z_]+)'", INGEST_LOG_CHECKS["status_known"]) == ["loaded", "rejected"]
    assert QUARANTINE["reasons"].dataType == T.ArrayType(T.StringType())
    assert CHANGED_PERIODS.fieldNames() == ["source", "village_id", "period_start", "run_id"]
    assert CHANGED_PERIODS["period_start"].dataType == T.DateType()
