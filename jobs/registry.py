"""ops.model_registry and the model artifacts in the lakehouse: register, read, promote.

The rules (which row is the champion, which candidate may be promoted, how an artifact is
checked) are models/registry.py's; this module only reads and writes. Artifacts live under
<lakehouse>/_artifacts/models/<version>/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from models.classifiers import RiskModel
from models.registry import (
    CHAMPION_ORDER,
    RegistryEntry,
    candidate_of,
    champion_of,
    champion_version_of,
    check_candidate,
    write_artifact,
)
from store.catalog import MODEL_REGISTRY
from store.lakehouse import Lakehouse
from store.schemas import MODEL_REGISTRY_SCHEMA


def artifact_dir(lakehouse: Lakehouse, version: str) -> str:
    return f"{lakehouse.root}/_artifacts/models/{version}"


def save_artifact(model: RiskModel, lakehouse: Lakehouse, version: str) -> str:
    """The fitted model pickled under the lakehouse's artifact folder of `version`; its path."""
    return write_artifact(model, artifact_dir(lakehouse, version))


def append(spark: SparkSession, lakehouse: Lakehouse, rows: list[dict[str, Any]]) -> None:
    lakehouse.create(spark, MODEL_REGISTRY, MODEL_REGISTRY_SCHEMA, add_missing_columns=True)
    df = spark.createDataFrame(rows, schema=MODEL_REGISTRY_SCHEMA)
    df.write.format("delta").mode("append").save(lakehouse.path(MODEL_REGISTRY))


def read(spark: SparkSession, lakehouse: Lakehouse) -> DataFrame | None:
    return lakehouse.read_optional(spark, MODEL_REGISTRY)


def current_champion(spark: SparkSession, lakehouse: Lakehouse) -> RegistryEntry | None:
    """The latest promoted champion, or None before the first promotion."""
    reg = read(spark, lakehouse)
    return None if reg is None else champion_of(reg)


def current_candidate(spark: SparkSession, lakehouse: Lakehouse) -> RegistryEntry | None:
    """The candidate waiting for promotion (models.registry.candidate_of), or None."""
    reg = read(spark, lakehouse)
    return None if reg is None else candidate_of(reg)


def promote(spark: SparkSession, lakehouse: Lakehouse, version: str) -> datetime:
    """Make the candidate `version` champion (role and promoted_at, one Delta commit); returns
    the promotion time. Refuses a version that is not a candidate."""
    lakehouse.create(spark, MODEL_REGISTRY, MODEL_REGISTRY_SCHEMA, add_missing_columns=True)
    table = lakehouse.delta(spark, MODEL_REGISTRY)
    found = [r["role"] for r in table.toDF().filter(F.col("version") == version).select("role").collect()]
    check_candidate(version, found)
    at = datetime.now(UTC).replace(tzinfo=None)
    table.update(
        condition=(F.col("version") == F.lit(version)) & (F.col("role") == F.lit("candidate")),
        set={"role": F.lit("champion"), "promoted_at": F.lit(at).cast("timestamp")},
    )
    return at


def current_champion_version(lakehouse: Lakehouse, spark: Callable[[], SparkSession]) -> str | None:
    """Version of the current champion, None before the first training run. A local lakehouse
    is read with delta-rs, so no Spark session starts; other roots through `spark()`."""
    table = lakehouse.local_delta(MODEL_REGISTRY)
    if table is False:
        return None
    if table is None:
        champ = current_champion(spark(), lakehouse)
        return champ.version if champ else None
    names = {f.name for f in table.schema().fields}
    return champion_version_of(table.to_pandas(columns=["version", "role", *[c for c in CHAMPION_ORDER if c in names]]))
