"""Model registry: ops.model_registry rows and joblib artifacts under <lakehouse>/_artifacts/models/.

One row per model fit by a training run. A run registers the model its selection chose as
`candidate` and the rest as `challenger`; `rural-risk promote` checks a candidate and makes it
`champion` (stamping `promoted_at`). The scorer uses the latest promoted champion only, so a
fit that fails promotion never serves.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.lakehouse import Lakehouse
from models.classifiers import RiskModel

REGISTRY = "ops.model_registry"

REGISTRY_SCHEMA = T.StructType(
    [
        T.StructField("version", T.StringType(), False, {"comment": "Model version: <run id>-<model name>; gold.village_risk.model_version points here."}),
        T.StructField("model", T.StringType(), False, {"comment": "Model name."}),
        T.StructField("kind", T.StringType(), False, {"comment": "baseline or classifier."}),
        T.StructField("role", T.StringType(), False, {"comment": "candidate (chosen by its training run, not promoted), champion (promoted; the latest promoted one is the one the scorer uses) or challenger."}),
        T.StructField("params", T.StringType(), True, {"comment": "The model's settings as JSON."}),
        T.StructField("features", T.ArrayType(T.StringType()), True, {"comment": "Input columns the model uses."}),
        T.StructField("label", T.StringType(), True, {"comment": "Label column it was trained on."}),
        T.StructField("train_start", T.DateType(), True, {"comment": "First feature period of the final fit."}),
        T.StructField("train_end", T.DateType(), True, {"comment": "Last feature period of the final fit."}),
        T.StructField("calibration_start", T.DateType(), True, {"comment": "First feature period held out for calibration; null without calibration."}),
        T.StructField("metrics", T.MapType(T.StringType(), T.DoubleType()), True, {"comment": "Selection metrics: mean over the recent backtest periods."}),
        T.StructField("selection_note", T.StringType(), True, {"comment": "Why the champion was chosen (champion row only)."}),
        T.StructField("artifact_path", T.StringType(), False, {"comment": "Where the fitted model is stored."}),
        T.StructField("artifact_sha256", T.StringType(), True, {"comment": "SHA-256 of the artifact file, checked before it is loaded; null for rows of releases before the check."}),
        T.StructField("input_versions", T.MapType(T.StringType(), T.LongType()), True, {"comment": "Delta versions of the tables it was trained from."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Training run."}),
        T.StructField("created_at", T.TimestampType(), False, {"comment": "When the row was registered."}),
        T.StructField("promoted_at", T.TimestampType(), True, {"comment": "When `rural-risk promote` made the candidate champion; null otherwise (and on champions of releases before promotion, ordered by created_at)."}),
    ]
)


class ArtifactError(ValueError):
    """An artifact is missing, unreadable, or the registry holds no champion."""


@dataclass(frozen=True)
class RegistryEntry:
    version: str
    model: str
    role: str
    artifact_path: str
    features: list[str]
    artifact_sha256: str | None = None


def artifact_dir(lakehouse: Lakehouse, version: str) -> str:
    return f"{lakehouse.root}/_artifacts/models/{version}"


def _local(path: str) -> str:
    if path.startswith("file:"):
        return path.removeprefix("file:").replace("///", "/", 1) if path.startswith("file:///") else path[5:]
    if "://" in path:
        # Artifacts are written with plain file IO: a remote lakehouse needs a mounted path.
        raise ArtifactError(f"artifact path {path} is not on a local or mounted file system")
    return path


def save_artifact(model: RiskModel, lakehouse: Lakehouse, version: str) -> str:
    import joblib

    folder = _local(artifact_dir(lakehouse, version))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.joblib")
    joblib.dump(model, path)
    return path


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(_local(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_artifact(path: str, sha256: str | None = None) -> RiskModel:
    """Unpickle a model artifact; with `sha256` (its registry row's) only when the file still
    has that hash: a pickle runs code when loaded, so a file changed after training is refused."""
    import joblib

    local = _local(path)
    if not os.path.exists(local):
        raise ArtifactError(f"model artifact {path} does not exist (train again, or restore it)")
    if sha256 is not None:
        found = file_sha256(local)
        if found != sha256:
            raise ArtifactError(
                f"model artifact {path} was changed after training: its SHA-256 is {found}, the "
                f"registry recorded {sha256}; not loading it (train again, or restore the file)"
            )
    model = joblib.load(local)
    if not isinstance(model, RiskModel):
        raise ArtifactError(f"artifact {path} holds a {type(model).__name__}, expected a RiskModel")
    return model


def registry_row(
    model: RiskModel,
    version: str,
    role: str,
    artifact_path: str,
    metrics: dict[str, float],
    input_versions: dict[str, int | None],
    run_id: str,
    label: str,
    note: str = "",
) -> dict[str, Any]:
    def d(s: str | None) -> date | None:
        return date.fromisoformat(s) if s else None

    train = model.train_periods or (None, None)
    cal = model.calibration_periods or (None, None)
    return {
        "version": version, "model": model.name, "kind": model.kind, "role": role,
        "params": json.dumps(model.params, sort_keys=True, default=str),
        "features": list(model.features), "label": label,
        "train_start": d(train[0]), "train_end": d(train[1]), "calibration_start": d(cal[0]),
        "metrics": {k: float(v) for k, v in metrics.items() if v == v},
        "selection_note": note, "artifact_path": artifact_path,
        "artifact_sha256": file_sha256(artifact_path) if os.path.exists(_local(artifact_path)) else None,
        "input_versions": {k: int(v) for k, v in input_versions.items() if v is not None},
        "run_id": run_id, "created_at": datetime.now(UTC).replace(tzinfo=None), "promoted_at": None,
    }


def append(spark: SparkSession, lakehouse: Lakehouse, rows: list[dict[str, Any]]) -> None:
    lakehouse.create(spark, REGISTRY, REGISTRY_SCHEMA, add_missing_columns=True)
    df = spark.createDataFrame(rows, schema=REGISTRY_SCHEMA)
    df.write.format("delta").mode("append").save(lakehouse.path(REGISTRY))


def read(spark: SparkSession, lakehouse: Lakehouse) -> DataFrame | None:
    return lakehouse.read(spark, REGISTRY) if lakehouse.exists(spark, REGISTRY) else None


# Which champion row is current: the latest promoted, by these columns (a champion of a
# release before promotion has no promoted_at and comes before every promoted one).
CHAMPION_ORDER = ("promoted_at", "created_at", "run_id")


def _column(reg: DataFrame, name: str, dtype: str) -> Any:
    """A column a registry of an earlier release may lack (null there)."""
    return F.col(name) if name in reg.columns else F.lit(None).cast(dtype).alias(name)


def _latest(reg: DataFrame, role: str, order: tuple[str, ...]) -> Any:
    return (
        reg.filter(F.col("role") == role)
        .select("version", "model", "role", "artifact_path", "features", "run_id", "created_at",
                _column(reg, "artifact_sha256", "string"), _column(reg, "promoted_at", "timestamp"))
        .orderBy(*[F.col(c).desc_nulls_last() for c in order])
        .first()
    )


def _entry(row: Any) -> RegistryEntry:
    return RegistryEntry(row["version"], row["model"], row["role"], row["artifact_path"], list(row["features"]),
                         row["artifact_sha256"])


def current_champion(spark: SparkSession, lakehouse: Lakehouse) -> RegistryEntry | None:
    """The latest promoted champion, or None before the first promotion."""
    reg = read(spark, lakehouse)
    row = None if reg is None else _latest(reg, "champion", CHAMPION_ORDER)
    return None if row is None else _entry(row)


def current_candidate(spark: SparkSession, lakehouse: Lakehouse) -> RegistryEntry | None:
    """The candidate of the latest training run registered after the current champion, or None
    (nothing to promote: no run since, or its candidate was promoted already)."""
    reg = read(spark, lakehouse)
    if reg is None:
        return None
    row = _latest(reg, "candidate", ("created_at", "run_id"))
    if row is None:
        return None
    champ = _latest(reg, "champion", CHAMPION_ORDER)
    if champ is not None and (row["created_at"], row["run_id"]) <= (champ["created_at"], champ["run_id"]):
        return None
    return _entry(row)


def promote(spark: SparkSession, lakehouse: Lakehouse, version: str) -> datetime:
    """Make the candidate `version` champion (role and promoted_at, one Delta commit); returns
    the promotion time. Refuses a version that is not a candidate."""
    lakehouse.create(spark, REGISTRY, REGISTRY_SCHEMA, add_missing_columns=True)
    table = lakehouse.delta(spark, REGISTRY)
    found = [r["role"] for r in table.toDF().filter(F.col("version") == version).select("role").collect()]
    if found != ["candidate"]:
        raise ArtifactError(f"{REGISTRY}: version {version} is not a candidate "
                            f"({'roles ' + ', '.join(found) if found else 'no such version'})")
    at = datetime.now(UTC).replace(tzinfo=None)
    table.update(
        condition=(F.col("version") == F.lit(version)) & (F.col("role") == F.lit("candidate")),
        set={"role": F.lit("champion"), "promoted_at": F.lit(at).cast("timestamp")},
    )
    return at


def current_champion_version(lakehouse: Lakehouse, spark: Callable[[], SparkSession]) -> str | None:
    """Version of the current champion, None before the first training run. A local lakehouse
    is read with delta-rs, so no Spark session starts; other roots through `spark()`."""
    table = lakehouse.local_delta(REGISTRY)
    if table is False:
        return None
    if table is None:
        champ = current_champion(spark(), lakehouse)
        return champ.version if champ else None
    names = {f.name for f in table.schema().fields}
    rows = table.to_pandas(columns=["version", "role", *[c for c in CHAMPION_ORDER if c in names]])
    rows = rows[rows["role"] == "champion"].reindex(columns=["version", "role", *CHAMPION_ORDER])
    rows = rows.sort_values(list(CHAMPION_ORDER), na_position="first")
    return None if rows.empty else str(rows["version"].iloc[-1])
