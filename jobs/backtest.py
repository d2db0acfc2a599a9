"""`rural-risk backtest`: the rolling-origin backtest of every model, on its own.

The first task of the Airflow training DAG (backtest -> train -> promote): it writes
gold.backtest_predictions and gold.model_metrics for the periods complete by the as-of
date, so a month's evidence is in the lakehouse (and a failure shows) before any model is
fit. It always computes the backtest, and records in the tables' Delta commits what it was
made from (table versions, last period, model settings and code); `rural-risk train` then
reuses these rows when its own inputs are the same, and backtests again only when they
are missing or stale. The reading and writing of those two tables is here; the backtest's
computation is models/training.py's.
"""

from __future__ import annotations

import argparse

from jobs.arguments import add_as_of
from jobs.context import RunContext

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "backtest every model (rolling origin) and write gold.backtest_predictions and gold.model_metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "backtests on the complete periods")


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from jobs.model_runs import backtest
    from jobs.train import collect_panel, resolve_as_of
    from models.training import area_series, model_factories
    from store.catalog import SILVER_VILLAGES

    conf = ctx.settings.section("models")
    grain = str(ctx.settings.get("period", "month"))
    spark, lh = ctx.spark, ctx.lakehouse
    as_of = resolve_as_of(ctx, args.as_of)
    panel, inputs, last, made_from = collect_panel(ctx, conf, grain, as_of)
    area = area_series(lh.read_optional(spark, SILVER_VILLAGES))
    preds, _, _ = backtest(
        spark, lh, panel, inputs, conf, ctx.run_id, area, ctx.stage, ctx.log.info,
        made_from=made_from, reuse=False, grain=grain,
    )
    n_models = len(model_factories(conf, inputs))
    print(f"backtest: {len(preds)} predictions of {n_models} models, periods up to {last}")
    return 0
