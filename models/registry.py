"""Model registry, the pure part: ops.model_registry rows, which row is current, and the joblib
artifacts (written and checked by path). Reading and writing the table is jobs/registry.py's.

One row per model fit by a training run. A run registers the model its selection chose as
`candidate` and the rest as `challenger`; `rural-risk promote` checks a candidate and makes it
`champion` (stamping `promoted_at`). The scorer uses the latest promoted champion only, so a
fit that fails promotion never serves.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.classifiers import RiskModel


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


def _local(path: str) -> str:
    if path.startswith("file:"):
        return path.removeprefix("file:").replace("///", "/", 1) if path.startswith("file:///") else path[5:]
    if "://" in path:
        # Artifacts are written with plain file IO: a remote lakehouse needs a mounted path.
        raise ArtifactError(f"artifact path {path} is not on a local or mounted file system")
    return path


def write_artifact(model: RiskModel, folder: str) -> str:
    """Pickle a fitted model as <folder>/model.joblib; returns its path."""
    import joblib

    local = _local(folder)
    os.makedirs(local, exist_ok=True)
    path = os.path.join(local, "model.joblib")
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


def champion_of(reg: DataFrame) -> RegistryEntry | None:
    """The latest promoted champion of the registry's rows, or None before the first promotion."""
    row = _latest(reg, "champion", CHAMPION_ORDER)
    return None if row is None else _entry(row)


def candidate_of(reg: DataFrame) -> RegistryEntry | None:
    """The candidate of the latest training run registered after the current champion, or None
    (nothing to promote: no run since, or its candidate was promoted already)."""
    row = _latest(reg, "candidate", ("created_at", "run_id"))
    if row is None:
        return None
    champ = _latest(reg, "champion", CHAMPION_ORDER)
    if champ is not None and (row["created_at"], row["run_id"]) <= (champ["created_at"], champ["run_id"]):
        return None
    return _entry(row)


def champion_version_of(rows: pd.DataFrame) -> str | None:
    """Version of the current champion among registry rows read without Spark (version, role and
    whichever of CHAMPION_ORDER the table has), None without a champion."""
    rows = rows[rows["role"] == "champion"].reindex(columns=["version", "role", *CHAMPION_ORDER])
    rows = rows.sort_values(list(CHAMPION_ORDER), na_position="first")
    return None if rows.empty else str(rows["version"].iloc[-1])


def check_candidate(version: str, roles: list[str]) -> None:
    """Refuse to promote a version whose registry rows are not exactly one candidate."""
    if roles != ["candidate"]:
        raise ArtifactError(f"ops.model_registry: version {version} is not a candidate "
                            f"({'roles ' + ', '.join(roles) if roles else 'no such version'})")
