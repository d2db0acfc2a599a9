"""`rural-risk backtest`: the rolling-origin backtest of every model, on its own.

The first task of the Airflow training DAG (backtest -> train -> promote): it writes
gold.backtest_predictions and gold.model_metrics for the periods complete by the as-of
date, so a month's evidence is in the lakehouse (and a failure shows) before any model is
fit. It reuses models.training; `rural-risk train` computes the same backtest again to
select the champion (the same rows: fixed random state, tables replaced in full).
"""

from __future__ import annotations

import argparse

from jobs.arguments import add_as_of
from jobs.context import RunContext

HELP = "backtest every model (rolling origin) and write gold.backtest_predictions and gold.model_metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(
        parser,
        "backtest on periods complete by this date (default: the latest period with features)",
    )


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from jobs.train import resolve_as_of
    from models.backtest import metrics_table, run_backtest
    from models.panel import build_panel, to_pandas, villages_frame
    from models.training import (
        METRICS,
        METRICS_SCHEMA,
        PREDICTIONS,
        PREDICTIONS_SCHEMA,
        _dates,
        area_series,
        backtest_config,
        model_factories,
        write_overwrite,
    )

    conf = ctx.settings.section("models")
    grain = str(ctx.settings.get("period", "month"))
    spark, lh = ctx.spark, ctx.lakehouse
    as_of = resolve_as_of(ctx, args.as_of)
    with ctx.stage("collect training panel") as st:
        panel_df, inputs, last = build_panel(spark, lh, conf, grain, as_of)
        panel = to_pandas(panel_df, inputs)
        st.done(rows=len(panel), detail=f"{len(inputs)} inputs, periods up to {last}")
    factories = model_factories(conf, inputs)
    with ctx.stage(f"backtest {len(factories)} models") as st:
        preds = run_backtest(panel, factories, backtest_config(conf))
        st.done(rows=len(preds), detail=f"{preds['period_start'].nunique()} origins")
    mconf = conf["metrics"]
    area = area_series(villages_frame(spark, lh))
    metrics = metrics_table(preds, area, [float(c) for c in mconf["coverages"]], int(mconf["calibration_bins"]))
    preds_out = _dates(preds.assign(run_id=ctx.run_id), ["period_start", "trained_through"])
    write_overwrite(spark, lh, PREDICTIONS, preds_out, PREDICTIONS_SCHEMA,
                    "Out-of-sample rolling-origin predictions of every model")
    metrics_out = _dates(metrics.assign(run_id=ctx.run_id), ["period_start"])
    for col in ("bin", "coverage"):
        metrics_out[col] = metrics_out[col].astype("object").where(metrics_out[col].notna(), None)
    write_overwrite(spark, lh, METRICS, metrics_out, METRICS_SCHEMA,
                    "Backtest metrics per model and period (period_start null: pooled)")
    print(f"backtest: {len(preds)} predictions of {len(factories)} models, periods up to {last}")
    return 0
