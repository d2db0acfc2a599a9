"""jobs/model_runs.py through the `backtest` and `train` stages: train reuses the recorded backtest of the
same inputs and reruns a stale one."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import date

import pytest
from test_train import N_VILLAGES, PERIODS, model_ctx, write_inputs

from jobs.context import RunContext

AS_OF = date(2021, 3, 1)  # last complete period: February 2021, the table's last
PREDICTIONS, METRICS = "gold.backtest_predictions", "gold.model_metrics"
MODELS = {"baseline_prev", "baseline_ma3", "baseline_ewm", "baseline_hotspot", "logistic"}


def _versions(ctx: RunContext) -> tuple[int | None, int | None]:
    return ctx.lakehouse.version(ctx.spark, PREDICTIONS), ctx.lakehouse.version(ctx.spark, METRICS)


def _no_backtest(*args, **kwargs):
    raise AssertionError("the backtest ran again")


def test_train_reuses_the_backtest_stage_rows_then_reruns_when_stale(ctx, caplog, monkeypatch):
    import models.training
    from jobs import backtest
    from jobs.train import train

    mctx = model_ctx(ctx)
    features = write_inputs(mctx)
    spark, lh = mctx.spark, mctx.lakehouse
    caplog.set_level(logging.INFO, logger="rural-risk")
    assert backtest.run(mctx, argparse.Namespace(as_of=AS_OF)) == 0
    written = _versions(mctx)
    assert written == (1, 1)  # version 0: the empty table as created; 1: the backtest's rows
    commit = lh.delta(spark, PREDICTIONS).history(1).first()
    made = json.loads(commit["userMetadata"])["rural_risk_backtest"]
    assert made["features_version"] == 0 and made["last_period"] == "2021-02-01"
    assert made["grain"] == "month" and made["run_id"] == "test-run"
    stage_rows = lh.read(spark, PREDICTIONS).toPandas()
    origins = PERIODS[6:13]  # 13 labelled periods, 6 of warm-up
    assert len(stage_rows) == len(MODELS) * len(origins) * N_VILLAGES
    assert sorted(stage_rows["feature_period_start"].unique()) == origins
    assert sorted(stage_rows["period_start"].unique()) == PERIODS[7:14]  # the periods predicted

    # Reuse: same feature table version, same settings -> no second backtest, tables untouched.
    caplog.clear()
    with monkeypatch.context() as m:
        m.setattr(models.training, "run_backtest", _no_backtest)
        result = train(mctx, as_of=AS_OF)
    assert result.backtest_reused
    assert _versions(mctx) == written
    assert "backtest: reusing the rows of run test-run" in caplog.text
    assert len(result.predictions) == len(stage_rows)
    assert sorted(result.predictions["period_start"].unique()) == origins  # in memory: feature periods
    assert set(result.predictions["model"]) == MODELS
    assert set(result.metrics["model"]) == MODELS and "run_id" not in result.metrics.columns
    # Selection on the reused metrics, by hand: best mean pei_star@0.1 over the last 6 periods.
    m = lh.read(spark, METRICS).toPandas()
    pei = m[(m["metric"] == "pei_star") & (m["coverage"] == 0.1) & m["feature_period_start"].isin(origins[-6:])]
    means = pei.groupby("model")["value"].mean()
    assert means[result.candidate] == pytest.approx(means.max())
    reg = lh.read(spark, "ops.model_registry").toPandas()
    assert set(reg["model"]) == MODELS and (reg["role"] == "candidate").sum() == 1

    # Stale: the feature table has a new version (same rows, rewritten) -> the backtest runs again.
    caplog.clear()
    lh.read(spark, "gold.village_features").write.format("delta").mode("overwrite").save(
        lh.path("gold.village_features")
    )
    result = train(mctx, as_of=AS_OF)
    assert not result.backtest_reused
    assert _versions(mctx) == (2, 2)
    assert "backtest: running it (gold.backtest_predictions is stale: features_version 0 -> 1)" in caplog.text
    assert "backtest 5 models: done" in caplog.text
    made = json.loads(lh.delta(spark, PREDICTIONS).history(1).first()["userMetadata"])["rural_risk_backtest"]
    assert made["features_version"] == 1
    # The same inputs give the same rows: the rerun equals the backtest stage's rows.
    again = lh.read(spark, PREDICTIONS).toPandas()
    key = ["model", "period_start", "village_id"]
    assert again.sort_values(key).reset_index(drop=True).equals(stage_rows.sort_values(key).reset_index(drop=True))
    assert len(features) == N_VILLAGES * len(PERIODS)


def test_other_model_settings_make_the_recorded_backtest_stale(ctx):
    from jobs import backtest
    from jobs.model_runs import recorded_backtest, table_versions
    from models.training import BacktestInputs

    mctx = model_ctx(ctx)
    write_inputs(mctx)
    assert backtest.run(mctx, argparse.Namespace(as_of=AS_OF)) == 0
    spark, lh = mctx.spark, mctx.lakehouse
    versions = table_versions(spark, lh)
    assert versions == {"gold.village_features": 0, "silver.villages": 0}
    conf = mctx.settings.section("models")
    same = BacktestInputs.of(versions, conf, "month", date(2021, 2, 1))
    found = recorded_backtest(spark, lh, same)
    assert not isinstance(found, str) and found[2] == "test-run"
    assert len(found[0]) == len(MODELS) * 7 * N_VILLAGES

    other = {**conf, "backtest": {**conf["backtest"], "retrain_every": 2}}
    changed = BacktestInputs.of(versions, other, "month", date(2021, 2, 1))
    assert changed.settings_sha256 != same.settings_sha256 and changed.code_sha256 == same.code_sha256
    assert recorded_backtest(spark, lh, changed) == (
        f"gold.backtest_predictions is stale: settings_sha256 {same.settings_sha256!r} -> {changed.settings_sha256!r}"
    )
    # Settings the backtest does not read (the incumbent rule, scoring) leave it usable.
    unread = {**conf, "selection": {**conf["selection"], "min_improvement": 0.5},
              "scoring": {**conf["scoring"], "flag_share": 0.2}}
    assert BacktestInputs.of(versions, unread, "month", date(2021, 2, 1)) == same
    earlier = BacktestInputs.of(versions, conf, "month", date(2021, 1, 1))
    assert recorded_backtest(spark, lh, earlier) == (
        "gold.backtest_predictions is stale: last_period '2021-02-01' -> '2021-01-01'"
    )
    # Metrics rewritten by anything but the same backtest (or train's label-overlap rows): stale.
    lh.read(spark, METRICS).write.format("delta").mode("overwrite").save(lh.path(METRICS))
    assert recorded_backtest(spark, lh, same) == (
        "gold.model_metrics were not written by the backtest of gold.backtest_predictions version 1"
    )
