"""`train` on a tiny hand-made feature table: out-of-sample rows, metrics, one champion, registry."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import types as T

from conf import Settings
from jobs.context import RunContext

N_VILLAGES, N_PERIODS = 12, 14
PERIODS = [date(2020 + m // 12, m % 12 + 1, 1) for m in range(N_PERIODS)]
FEATURE_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType()), T.StructField("township_id", T.StringType()),
        T.StructField("period_start", T.DateType()), T.StructField("inc_all_1", T.DoubleType()),
        T.StructField("pop_resident", T.IntegerType()), T.StructField("is_harvest", T.BooleanType()),
        T.StructField("label_weighted_next", T.DoubleType()),
        T.StructField("label_high_risk_next", T.BooleanType()),
    ]
)
MODEL_OVERRIDES = {
    "baselines": {"moving_average_windows": [3], "history_lags": 6},
    "classifiers": {"enabled": ["logistic"], "calibration_periods": 3},
    "backtest": {"warmup_periods": 6, "retrain_every": 4},
    "selection": {"recent_periods": 6},
}


def toy_inputs(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features (count of the period = previous label) and villages on a line 1 km apart."""
    rng = np.random.default_rng(seed)
    rate = np.linspace(0.3, 5.0, N_VILLAGES)
    counts = rng.poisson(rate[:, None], (N_VILLAGES, N_PERIODS + 1)).astype(float)
    rows = []
    for i in range(N_VILLAGES):
        for t, p in enumerate(PERIODS):
            last = t == N_PERIODS - 1
            rows.append((f"v{i:02d}", f"t{i // 6}", p, counts[i, t], 100 + 10 * i, p.month in (9, 10),
                         None if last else counts[i, t + 1], None))
    f = pd.DataFrame(rows, columns=[x.name for x in FEATURE_SCHEMA.fields])
    for _, g in f[f["label_weighted_next"].notna()].groupby("period_start"):
        g = g.sort_values(["label_weighted_next", "village_id"], ascending=[False, True])
        f.loc[g.index, "label_high_risk_next"] = [True] + [False] * (len(g) - 1)
    villages = pd.DataFrame(
        {
            "village_id": [f"v{i:02d}" for i in range(N_VILLAGES)],
            "village_name": [f"Village {i}" for i in range(N_VILLAGES)],
            "township_id": [f"t{i // 6}" for i in range(N_VILLAGES)],
            "township_name": [f"Town {i // 6}" for i in range(N_VILLAGES)],
            "longitude": [110 + 0.01 * i for i in range(N_VILLAGES)],
            "latitude": [30.0] * N_VILLAGES, "area_km2": [2.0 + i for i in range(N_VILLAGES)],
        }
    )
    return f, villages


def model_ctx(ctx: RunContext) -> RunContext:
    """The suite's context with small backtest settings (profile block `models`)."""
    data = dict(ctx.settings.data)
    data["models"] = MODEL_OVERRIDES
    return RunContext(settings=Settings(profile=ctx.settings.profile, data=data),
                      lakehouse=ctx.lakehouse, run_id=ctx.run_id).attach(ctx.spark)


def write_inputs(ctx: RunContext, with_incidents: bool = False) -> pd.DataFrame:
    spark, lh = ctx.spark, ctx.lakehouse
    features, villages = toy_inputs()
    records = [tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in r)
               for r in features.itertuples(index=False, name=None)]
    spark.createDataFrame(records, FEATURE_SCHEMA).write.format("delta").save(lh.path("gold.village_features"))
    spark.createDataFrame(villages).write.format("delta").save(lh.path("silver.villages"))
    if with_incidents:
        inc = "village_id string, reported_at timestamp, severity int, source string, status string, is_false_alarm boolean"
        rows = [("v00", datetime(2020, 5, 3, 9), 4, "patrol_found", "open", False)]
        spark.createDataFrame(rows, inc).write.format("delta").save(lh.path("silver.incidents"))
    ctx.lakehouse.register_all(spark)
    return features


def test_train_backtests_registers_and_compares_label_sources(ctx, caplog):
    from jobs.train import train

    mctx = model_ctx(ctx)
    features = write_inputs(mctx, with_incidents=True)
    caplog.set_level(logging.INFO, logger="rural-risk")
    result = train(mctx, as_of=date(2021, 3, 1))  # last complete period: February 2021 (the last)
    spark, lh = mctx.spark, mctx.lakehouse
    assert "backtest: running it (no backtest in the lakehouse)" in caplog.text
    # Driver-side steps log their size (168 rows = 12 villages x 14 periods; 13 columns = 3 keys,
    # 2 labels, 3 features, 5 history signals) and the driver's peak RSS.
    for stage in ("collect training panel", "backtest 5 models", "fit final models and register",
                  "label-source comparison \\(feedback-loop guard\\)"):
        assert re.search(stage + r": done in .*panel 168 x 13 on the driver, driver peak RSS [\d,]+ MiB",
                         caplog.text), stage

    preds = lh.read(spark, "gold.backtest_predictions").toPandas()
    models = {"baseline_prev", "baseline_ma3", "baseline_ewm", "baseline_hotspot", "logistic"}
    assert set(preds["model"]) == models
    origins = PERIODS[6:13]  # 13 labelled periods, 6 of warm-up
    # period_start: the period predicted (the origin's next), as in gold.village_risk
    assert sorted(preds["feature_period_start"].unique()) == origins
    assert sorted(preds["period_start"].unique()) == PERIODS[7:14]
    assert len(preds) == len(models) * len(origins) * N_VILLAGES
    assert (preds["trained_through"] < preds["feature_period_start"]).all()
    # baseline_prev scores the count of the feature period: the label of the period before it
    label = features.set_index(["village_id", "period_start"])["label_weighted_next"]
    prev = preds[preds["model"] == "baseline_prev"]
    for r in prev.itertuples():
        assert PERIODS.index(r.period_start) == PERIODS.index(r.feature_period_start) + 1
        before = PERIODS[PERIODS.index(r.feature_period_start) - 1]
        assert r.score == label[(r.village_id, before)]
        assert r.actual_weighted == label[(r.village_id, r.feature_period_start)]

    metrics = lh.read(spark, "gold.model_metrics").toPandas()
    pei = metrics[(metrics["metric"] == "pei_star") & (metrics["coverage"] == 0.1)]
    assert sorted(pei["period_start"].unique()) == PERIODS[7:14]
    # 7 origins: the last 3 (at most half) are reported on, the champion is chosen on the 4 before
    chosen_on, reported_on = origins[:4], origins[4:]
    selection = pei[pei["feature_period_start"].isin(chosen_on)].groupby("model")["value"].mean()
    assert selection[result.candidate] == pytest.approx(selection.max())
    assert "(chosen on 4 backtest periods, reported on the 3 after)" in result.note
    # every model against the best baseline of the selection periods, on the report periods
    baselines = sorted(m for m in models if m.startswith("baseline_"))
    best = max(baselines, key=lambda b: (selection[b], [-ord(c) for c in b]))
    at = pei.set_index(["model", "feature_period_start"])["value"]
    vs = metrics[metrics["metric"] == "pei_star_vs_best_baseline"]
    assert sorted(vs["feature_period_start"].unique()) == reported_on
    for r in vs.itertuples():
        assert r.value == pytest.approx(at[(r.model, r.feature_period_start)] - at[(best, r.feature_period_start)])
    pooled = metrics[metrics["metric"] == "pei_star_vs_best_baseline_mean"].set_index("model")["value"]
    assert pooled[result.candidate] == pytest.approx(vs[vs["model"] == result.candidate]["value"].mean())
    overlap = metrics[metrics["model"] == "label_sources"]
    assert len(overlap) == 13 and overlap["value"].between(0, 1).all()

    reg = lh.read(spark, "ops.model_registry").toPandas()
    # train registers the selection's choice as the candidate; only `promote` makes a champion
    assert len(reg) == len(models) and (reg["role"] == "candidate").sum() == 1
    assert set(reg["role"]) == {"candidate", "challenger"} and reg["promoted_at"].isna().all()
    champ = reg[reg["role"] == "candidate"].iloc[0]
    assert champ["model"] == result.candidate and champ["version"] == f"test-run-{result.candidate}"
    assert dict(champ["input_versions"])["gold.village_features"] == 0
    assert str(champ["train_end"]) == "2021-01-01"  # the last labelled period before as-of
    assert champ["metrics"]["pei_star@0.1_selection"] == pytest.approx(selection.max())
    assert champ["metrics"]["pei_star@0.1_vs_best_baseline_mean"] == pytest.approx(pooled[result.candidate])

    cmp = lh.read(spark, "gold.label_source_comparison").toPandas()
    assert len(cmp) == N_VILLAGES and set(cmp["period_start"]) == {date(2021, 3, 1)}
    assert cmp["flagged_citizen_label"].sum() == 1 and cmp["flagged_all_source_label"].sum() == 1

    # Again on the same inputs: the backtest is reused, the label-overlap rows are replaced
    # (not appended twice), and the metrics are those of the first run.
    again = train(mctx, as_of=date(2021, 3, 1))
    assert again.backtest_reused and again.candidate == result.candidate
    assert lh.version(spark, "gold.backtest_predictions") == 1  # 0: created empty, 1: first run's rows
    metrics_again = lh.read(spark, "gold.model_metrics").toPandas()
    assert (metrics_again["model"] == "label_sources").sum() == 13
    key = ["model", "metric", "coverage", "bin", "period_start"]
    assert len(metrics_again) == len(metrics)
    pd.testing.assert_frame_equal(
        metrics_again.sort_values(key).reset_index(drop=True), metrics.sort_values(key).reset_index(drop=True)
    )


def test_if_no_champion_finds_the_registered_one_without_spark(tmp_path, capsys):
    """`train --if-no-champion` (the pipeline DAG's first_champion task) on a lakehouse that has
    a champion: the latest champion row is named and nothing starts."""
    import argparse

    from deltalake import write_deltalake

    from conf import load_settings
    from jobs.registry import current_champion_version
    from jobs.train import run
    from store.lakehouse import Lakehouse

    lh = Lakehouse(str(tmp_path / "lakehouse"))
    ctx = RunContext(settings=load_settings("test"), lakehouse=lh, run_id="first-day")
    assert current_champion_version(lh, lambda: ctx.spark) is None and ctx._spark is None  # no registry yet
    write_deltalake(str(lh.local_path("ops.model_registry")), pd.DataFrame({
        "version": ["r1-hgb", "r2-logistic", "r2-hgb"],
        "role": ["champion", "champion", "challenger"],
        "created_at": [datetime(2024, 1, 1), datetime(2024, 2, 1), datetime(2024, 2, 1)],
        "run_id": ["r1", "r2", "r2"],
    }))
    args = argparse.Namespace(if_no_champion=True, as_of=None)
    assert run(ctx, args) == 0
    assert capsys.readouterr().out.strip() == "champion: r2-logistic (already registered; nothing trained)"
    assert ctx._spark is None
