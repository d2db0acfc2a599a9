"""jobs/registry.py (this file is not test_registry.py: tests/models holds that name, and pytest needs one
basename per test module). ops.model_registry in the lakehouse (jobs/registry.py): rows appended, the current champion
and candidate read back, a candidate promoted in one commit, and the champion's version read
with delta-rs without Spark."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from jobs import registry
from models.baselines import BaselineSpec
from models.classifiers import RiskModel
from models.registry import ArtifactError, load_artifact, registry_row


def _row(ctx, version: str, role: str, run_id: str, created: datetime) -> dict:
    model = RiskModel.baseline(BaselineSpec("baseline_prev", (("hist_prev", 1.0),)))
    path = registry.save_artifact(model, ctx.lakehouse, version)
    row = registry_row(model, version, role, path, {"pei_star@0.1_selection": 0.5}, {"gold.village_features": 3},
                       run_id, "label_high_risk_next")
    return {**row, "created_at": created}


def test_register_read_promote_and_read_without_spark(ctx):
    spark, lh = ctx.spark, ctx.lakehouse
    assert registry.read(spark, lh) is None and registry.current_champion(spark, lh) is None
    assert registry.current_champion_version(lh, lambda: pytest.fail("no Spark for a missing table")) is None
    registry.append(spark, lh, [
        _row(ctx, "r1-baseline_prev", "candidate", "r1", datetime(2024, 5, 1)),
        _row(ctx, "r1-other", "challenger", "r1", datetime(2024, 5, 1)),
    ])
    # the artifact sits under the lakehouse, and its hash is on the row
    path = Path(lh.root) / "_artifacts" / "models" / "r1-baseline_prev" / "model.joblib"
    entry = registry.current_candidate(spark, lh)
    assert (entry.version, entry.role, entry.artifact_path) == ("r1-baseline_prev", "candidate", str(path))
    assert load_artifact(entry.artifact_path, entry.artifact_sha256).name == "baseline_prev"
    assert registry.current_champion(spark, lh) is None

    with pytest.raises(ArtifactError, match="version r1-other is not a candidate \\(roles challenger\\)"):
        registry.promote(spark, lh, "r1-other")
    before = lh.version(spark, "ops.model_registry")
    at = registry.promote(spark, lh, "r1-baseline_prev")
    assert lh.version(spark, "ops.model_registry") == before + 1  # one commit
    champ = registry.current_champion(spark, lh)
    assert (champ.version, champ.role) == ("r1-baseline_prev", "champion")
    roles = {r["version"]: (r["role"], r["promoted_at"]) for r in registry.read(spark, lh).collect()}
    assert roles == {"r1-baseline_prev": ("champion", at), "r1-other": ("challenger", None)}
    assert registry.current_candidate(spark, lh) is None  # nothing newer than the champion
    # a local lakehouse: delta-rs reads the champion's version, Spark is not asked
    assert registry.current_champion_version(lh, lambda: pytest.fail("Spark was started")) == "r1-baseline_prev"
