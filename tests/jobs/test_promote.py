"""`promote`: a trained candidate becomes the champion only after its checks; the scorer uses
the latest promoted champion and nothing else."""

from __future__ import annotations

import argparse

import pytest
from test_train import model_ctx, write_inputs

from jobs import registry
from jobs.model_runs import panel_from_lakehouse
from jobs.promote import PromotionError, promote
from jobs.promote import run as promote_run
from models.classifiers import RiskModel
from models.panel import to_pandas
from models.registry import ArtifactError, registry_row


def _register(ctx, version: str, role: str, run_id: str) -> str:
    conf = ctx.settings.section("models")
    panel_df, inputs, _ = panel_from_lakehouse(ctx.spark, ctx.lakehouse, conf, "month", None,
                                      neighbours=ctx.settings.section("features")["neighbours"])
    model = RiskModel.classifier("logistic", "logistic", inputs, {"C": 0.5}).fit(to_pandas(panel_df, inputs), 3)
    path = registry.save_artifact(model, ctx.lakehouse, version)
    registry.append(ctx.spark, ctx.lakehouse,
                    [registry_row(model, version, role, path, {}, {}, run_id, "label")])
    return path


def _roles(ctx) -> dict[str, str]:
    return {r["version"]: r["role"] for r in registry.read(ctx.spark, ctx.lakehouse).collect()}


def test_a_candidate_serves_only_after_promote(ctx, capsys):
    from jobs.score import score

    mctx = model_ctx(ctx)
    write_inputs(mctx)
    _register(mctx, "r1-logistic", "candidate", "r1")
    assert registry.current_champion(mctx.spark, mctx.lakehouse) is None
    with pytest.raises(ArtifactError, match="holds no champion: run `rural-risk train` first"):
        score(mctx)  # a candidate is not served

    assert promote_run(mctx, argparse.Namespace(as_of=None)) == 0
    assert capsys.readouterr().out.strip() == (
        "champion r1-logistic (logistic) promoted: artifact loads, 8 features present")  # 3 + 5 history signals
    assert _roles(mctx) == {"r1-logistic": "champion"}
    champ = registry.current_champion(mctx.spark, mctx.lakehouse)
    assert champ is not None and champ.version == "r1-logistic"
    promoted = registry.read(mctx.spark, mctx.lakehouse).first()["promoted_at"]
    assert promoted is not None

    # nothing newer: the champion is checked and stays, no registry commit
    version = mctx.lakehouse.version(mctx.spark, "ops.model_registry")
    assert promote(mctx).startswith("nothing to promote: champion r1-logistic (logistic) has no newer candidate")
    assert mctx.lakehouse.version(mctx.spark, "ops.model_registry") == version

    # a later candidate whose artifact was changed after training is refused; r1 still serves
    path = _register(mctx, "r2-logistic", "candidate", "r2")
    with open(path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(PromotionError, match=r"candidate r2-logistic: artifact .* does not load: .*was changed after training"):
        promote(mctx)
    assert _roles(mctx) == {"r1-logistic": "champion", "r2-logistic": "candidate"}
    assert registry.current_champion(mctx.spark, mctx.lakehouse).version == "r1-logistic"
    assert set(score(mctx)["model_version"]) == {"r1-logistic"}

    # promoting a version that is not a candidate is refused by the registry itself
    with pytest.raises(ArtifactError, match="version r1-logistic is not a candidate"):
        registry.promote(mctx.spark, mctx.lakehouse, "r1-logistic")
