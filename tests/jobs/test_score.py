"""`score` with a registered model: ranks, flags, reasons, a reproducible artifact, the audit."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from test_train import N_VILLAGES, model_ctx, write_inputs

from jobs import registry
from jobs.model_runs import panel_from_lakehouse
from models.classifiers import RiskModel
from models.panel import FeatureTableError, to_pandas
from models.registry import ArtifactError, file_sha256, load_artifact, registry_row

NEIGHBOURS = {"k": 5, "max_km": 15.0, "min_km": 0.5}  # conf/features.yaml's


def _register(ctx) -> str:
    """Fit a logistic model on the panel the scorer will see and register it as champion."""
    conf = ctx.settings.section("models")
    panel_df, inputs, _ = panel_from_lakehouse(ctx.spark, ctx.lakehouse, conf, "month", None, neighbours=NEIGHBOURS)
    panel = to_pandas(panel_df, inputs)
    model = RiskModel.classifier("logistic", "logistic", inputs, {"C": 0.5}).fit(panel, 3)
    path = registry.save_artifact(model, ctx.lakehouse, "v-test-logistic")
    row = registry_row(model, "v-test-logistic", "champion", path, {}, {}, "r0", "label")
    registry.append(ctx.spark, ctx.lakehouse, [row])
    return path


def test_score_writes_ranked_risk_with_reasons_and_audit(ctx):
    from jobs.score import score

    mctx = model_ctx(ctx)
    write_inputs(mctx)
    path = _register(mctx)
    risk = score(mctx).sort_values("rank")
    assert set(risk["period_start"]) == {date(2021, 3, 1)}  # after the last period, Feb 2021
    assert list(risk["rank"]) == list(range(1, N_VILLAGES + 1))
    assert (np.diff(risk["probability"].to_numpy()) <= 0).all()
    assert risk["flagged"].tolist() == [True] + [False] * (N_VILLAGES - 1)  # round(0.1 * 12) = 1
    assert set(risk["model_version"]) == {"v-test-logistic"}
    assert risk["village_name"].notna().all() and (risk["expected_weighted_count"] >= 0).all()
    top = risk.iloc[0]
    assert 1 <= len(top["reasons"]) <= 3 and all(isinstance(r, str) and r for r in top["reasons"])
    # reasons are words from the data dictionary, never a column name
    written = [r for rs in risk["reasons"] for r in rs]
    assert written and not [r for r in written if "_" in r]

    # the artifact reloads and reproduces the scores Spark wrote
    conf = mctx.settings.section("models")
    panel_df, inputs, last = panel_from_lakehouse(mctx.spark, mctx.lakehouse, conf, "month", None, neighbours=NEIGHBOURS)
    rows = to_pandas(panel_df, inputs)
    rows = rows[rows["period_start"] == last].sort_values("village_id").reset_index(drop=True)
    again = load_artifact(path).predict(rows)
    by_id = risk.set_index("village_id").loc[rows["village_id"]]
    np.testing.assert_allclose(by_id["probability"].to_numpy(), again["probability"].to_numpy(), rtol=1e-9)

    audit = mctx.lakehouse.read(mctx.spark, "gold.township_audit").toPandas()
    scored = audit[audit["flags_from"] == "scored"]
    assert scored["villages"].sum() == N_VILLAGES and scored["villages_flagged"].sum() == 1
    assert scored["recall"].isna().all()  # no outcome yet for the scored period

    # the registry holds the artifact's hash; a file changed after training is not unpickled
    assert registry.current_champion(mctx.spark, mctx.lakehouse).artifact_sha256 == file_sha256(path)
    with open(path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match="was changed after training"):
        score(mctx, force=True)


def test_score_as_of_picks_the_period_and_refuses_the_future(ctx):
    from jobs.score import score
    from models.baselines import BaselineSpec

    mctx = model_ctx(ctx)
    features = write_inputs(mctx)
    # a baseline champion fit without Spark: this period's count is inc_all_1 in the toy table
    model = RiskModel.baseline(BaselineSpec("prev", (("hist_prev", 1.0),)))
    model.fit(features.assign(hist_prev=features["inc_all_1"]), 3)
    path = registry.save_artifact(model, mctx.lakehouse, "v-prev")
    row = registry_row(model, "v-prev", "champion", path, {}, {}, "r0", "label")
    registry.append(mctx.spark, mctx.lakehouse, [row])
    risk = score(mctx, as_of=date(2020, 12, 15))  # last complete: November 2020
    assert set(risk["period_start"]) == {date(2020, 12, 1)}
    # the baseline ranks by November's count (ties by village_id)
    nov = features[features["period_start"] == date(2020, 11, 1)]
    expected = nov.sort_values(["inc_all_1", "village_id"], ascending=[False, True])["village_id"]
    assert risk.sort_values("rank")["village_id"].tolist() == expected.tolist()
    assert risk.sort_values("rank")["score"].tolist() == sorted(nov["inc_all_1"], reverse=True)
    with pytest.raises(FeatureTableError, match="ends at 2021-02-01"):
        score(mctx, as_of=date(2021, 6, 1))


def test_a_second_score_on_the_same_inputs_writes_nothing(ctx, caplog):
    from deltalake import DeltaTable

    from jobs.context import RunContext
    from jobs.reuse import MARK
    from jobs.score import AUDIT, RISK, score
    from models.baselines import BaselineSpec

    mctx = model_ctx(ctx)
    features = write_inputs(mctx)
    model = RiskModel.baseline(BaselineSpec("prev", (("hist_prev", 1.0),)))
    model.fit(features.assign(hist_prev=features["inc_all_1"]), 3)
    path = registry.save_artifact(model, mctx.lakehouse, "v-prev")
    registry.append(mctx.spark, mctx.lakehouse,
                    [registry_row(model, "v-prev", "champion", path, {}, {}, "r0", "label")])
    first = score(mctx, as_of=date(2020, 12, 15))
    lh = mctx.lakehouse

    def versions() -> tuple[int, int]:
        return DeltaTable(str(lh.local_path(RISK))).version(), DeltaTable(str(lh.local_path(AUDIT))).version()

    written = versions()
    record = DeltaTable(str(lh.local_path(RISK))).history(1)[0]["userMetadata"]
    assert f'"{MARK}"' in record and '"run_id": "test-run"' in record
    # A new process (no Spark session) on the same inputs and arguments: nothing to do.
    idle = RunContext(settings=mctx.settings, lakehouse=lh, run_id="rerun")
    with caplog.at_level("INFO", logger="rural-risk"):
        assert score(idle, as_of=date(2020, 12, 15)) is None
    assert idle._spark is None and versions() == written
    assert "written by run test-run" in caplog.text
    # Another as-of date is another result; --force recomputes the same one.
    assert score(mctx, as_of=date(2021, 1, 15)) is not None
    again = score(mctx, as_of=date(2021, 1, 15), force=True)
    assert versions() == (written[0] + 2, written[1] + 2)
    assert set(again["period_start"]) == {date(2021, 1, 1)} and len(first) == len(again)


def test_a_risk_table_of_an_earlier_release_gets_the_new_column_names(ctx):
    """gold.village_risk written with `high_risk` (an earlier release) is rewritten once with
    `flagged`, every row kept; a table of this release is left as it is."""
    from jobs.score import RISK, rename_old_columns
    from store.schemas import VILLAGE_RISK_SCHEMA as RISK_SCHEMA

    old = [(f.name if f.name != "flagged" else "high_risk") for f in RISK_SCHEMA.fields]
    rows = [("V1", date(2024, 4, 1), "Dongcun", "T1", "East", 2.0, 0.8, 3.0, 1, True, ["r"], "m1", "s"),
            ("V2", date(2024, 4, 1), "Xicun", "T1", "East", 1.0, 0.1, 0.5, 2, False, [], "m1", "s")]
    ctx.spark.createDataFrame(rows, RISK_SCHEMA).toDF(*old).write.format("delta").save(ctx.lakehouse.path(RISK))
    ctx.lakehouse.register(ctx.spark, RISK)
    assert rename_old_columns(ctx) == ["high_risk"]
    table = ctx.lakehouse.read(ctx.spark, RISK)
    assert table.columns == RISK_SCHEMA.fieldNames()
    assert {r["village_id"]: r["flagged"] for r in table.collect()} == {"V1": True, "V2": False}
    assert {r["village_id"]: list(r["reasons"]) for r in table.collect()} == {"V1": ["r"], "V2": []}
    version = ctx.lakehouse.version(ctx.spark, RISK)
    assert rename_old_columns(ctx) == [] and ctx.lakehouse.version(ctx.spark, RISK) == version
