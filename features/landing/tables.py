"""Schemas of the bronze and ops tables ingestion writes (silver: features/landing/conform.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import types as T

KEY_ID_COMMENT = ("id of the pseudonymization key this row's pseudonyms were made with "
                  "(features.landing.pseudonym.key_id; a key rotation starts a new id)")


def _f(name: str, dtype: T.DataType, comment: str) -> T.StructField:
    return T.StructField(name, dtype, True, {"comment": comment})


def landed_fields(source: str, spec: Any, ingest_conf: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, str]]:
    """(bronze columns in order, personal field -> pseudonym kind) of a source: the contract's
    columns, then the personal fields its exports may carry (conf/ingest.yaml `personal`)."""
    personal = dict(ingest_conf["personal"]["fields"]) if ingest_conf["sources"][source].get("personal") else {}
    return tuple(spec.names) + tuple(personal), personal


def bronze_schema(fields: Sequence[str], personal: Sequence[str]) -> T.StructType:
    """Every landed field as a string (personal ones as pseudonyms), extras as JSON, lineage."""
    cols = [
        _f(n, T.StringType(), "keyed HMAC-SHA256 pseudonym" if n in personal else "as landed")
        for n in fields
    ]
    return T.StructType([
        *cols,
        _f("_extra", T.StringType(), "unknown extra columns as a JSON object (personal-looking ones pseudonymized)"),
        _f("_source", T.StringType(), "landing source"),
        _f("_file", T.StringType(), "file path relative to the landing root"),
        _f("_file_hash", T.StringType(), "SHA-256 of the file content"),
        _f("_line", T.LongType(), "1-based physical line the record starts on (CSV header = 1)"),
        _f("_run_id", T.StringType(), "ingest run"),
        _f("_ingested_at", T.TimestampType(), "ingest run time"),
        _f("_raw", T.StringType(), "text of a malformed line (personal fields redacted), else null"),
        _f("_key_id", T.StringType(), KEY_ID_COMMENT),
    ])


INGEST_LOG = T.StructType([
    _f("source", T.StringType(), "landing source"),
    _f("file", T.StringType(), "file path relative to the landing root"),
    _f("file_hash", T.StringType(), "SHA-256 of the file content"),
    _f("size_bytes", T.LongType(), "file size"),
    _f("run_id", T.StringType(), "ingest run"),
    _f("ingested_at", T.TimestampType(), "ingest run time"),
    _f("status", T.StringType(), "loaded or rejected"),
    _f("rows_read", T.LongType(), "records read (malformed lines included)"),
    _f("rows_accepted", T.LongType(), "valid, non-duplicate rows"),
    _f("rows_quarantined", T.LongType(), "rows sent to ops.quarantine"),
    _f("rows_duplicate", T.LongType(), "exact duplicates counted once"),
    _f("message", T.StringType(), "why a file was rejected"),
])
INGEST_LOG_CHECKS = {
    "status_known": "status IN ('loaded', 'rejected')",
    "rows_reconcile": "rows_read = rows_accepted + rows_quarantined + rows_duplicate",
}

QUARANTINE = T.StructType([
    _f("source", T.StringType(), "landing source"),
    _f("file", T.StringType(), "file path relative to the landing root"),
    _f("file_hash", T.StringType(), "SHA-256 of the file content"),
    _f("line", T.LongType(), "1-based physical line of the record"),
    _f("record", T.StringType(), "the bronze record as JSON (pseudonyms only)"),
    _f("reasons", T.ArrayType(T.StringType()), "reason codes (docs/quality.md)"),
    _f("run_id", T.StringType(), "ingest run"),
    _f("quarantined_at", T.TimestampType(), "ingest run time"),
])
QUARANTINE_CHECKS = {"has_reason": "size(reasons) > 0"}

CHANGED_PERIODS = T.StructType([
    _f("source", T.StringType(), "source whose silver rows changed"),
    _f("village_id", T.StringType(), "village whose inputs changed"),
    _f("period_start", T.DateType(), "first day of the period (conf `period` grain)"),
    _f("run_id", T.StringType(), "ingest run"),
])
