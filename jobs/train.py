"""`rural-risk train`: backtest every model, write metrics, register the champion."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from jobs.arguments import add_as_of
from jobs.context import RunContext
from store.catalog import (
    LABEL_SOURCE_COMPARISON,
    MODEL_METRICS,
    SILVER_INCIDENTS,
    SILVER_VILLAGES,
)

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "backtest baselines and classifiers, write metrics, register the chosen model as the candidate `promote` makes champion"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "trains on the complete periods")
    parser.add_argument(
        "--if-no-champion", action="store_true",
        help=("train only when ops.model_registry holds no champion yet, and promote that first "
              "candidate after `promote`'s checks; else exit at once (on a local lakehouse without "
              "starting Spark): the pipeline DAG's step that lets a new lakehouse score on its "
              "first day, while retraining and promotion stay with the training DAG"),
    )


def resolve_as_of(ctx: RunContext, as_of: date | None) -> date | None:
    """The given date, else the shared default when incidents exist, else None (latest features)."""
    if as_of is not None or not ctx.lakehouse.exists(ctx.spark, SILVER_INCIDENTS):
        return as_of
    return ctx.resolve_as_of(None)


def collect_panel(ctx: RunContext, conf: dict, grain: str, as_of: date | None) -> tuple[Any, list[str], date, Any]:
    """(pandas panel, model inputs, last complete period, what a backtest of it is made from)."""
    from jobs.model_runs import panel_from_lakehouse, table_versions
    from models.panel import to_pandas
    from models.training import BacktestInputs, driver_footprint

    spark, lh = ctx.spark, ctx.lakehouse
    with ctx.stage("collect training panel") as st:
        versions = table_versions(spark, lh)  # before the panel is read: see BacktestInputs.of
        panel_df, inputs, last = panel_from_lakehouse(spark, lh, conf, grain, as_of,
                                                      neighbours=ctx.settings.section("features")["neighbours"])
        panel = to_pandas(panel_df, inputs)
        st.done(rows=len(panel), detail=f"{len(inputs)} inputs, periods up to {last}; {driver_footprint(panel)}")
    return panel, inputs, last, BacktestInputs.of(versions, conf, grain, last)


def train(ctx: RunContext, as_of: date | None = None) -> Any:
    """Backtest (the recorded one when made from the same inputs), metrics, selection, registry;
    then the label-source comparison. Returns TrainResult."""
    from jobs.model_runs import train_run
    from models.training import area_series, driver_footprint

    conf = ctx.settings.section("models")
    grain = str(ctx.settings.get("period", "month"))
    spark, lh = ctx.spark, ctx.lakehouse
    as_of = resolve_as_of(ctx, as_of)
    panel, inputs, last, made_from = collect_panel(ctx, conf, grain, as_of)
    villages = lh.read_optional(spark, SILVER_VILLAGES)
    result = train_run(
        spark, lh, panel, inputs, conf, ctx.run_id, area_series(villages),
        ctx.stage, ctx.log.info, made_from=made_from, grain=grain,
    )
    if lh.exists(spark, SILVER_INCIDENTS):
        with ctx.stage("label-source comparison (feedback-loop guard)") as st:
            summary = compare_sources(ctx, panel, result, conf, grain, last)
            st.done(detail=f"{summary}; {driver_footprint(panel)}")
    return result


def compare_sources(ctx: RunContext, panel: Any, result: Any, conf: dict, grain: str, last: date) -> str:
    """Write gold.label_source_comparison and the label-overlap metrics; return a summary line."""
    from features.periods import next_period
    from models.audit import (
        all_source_counts,
        compare_label_sources,
        label_overlap,
        relabel,
    )
    from models.training import (
        LABEL_OVERLAP,
        LABEL_SOURCES_MODEL,
        backtest_config,
        for_the_outcome_period,
        model_factories,
    )
    from store.frames import pandas_frame
    from store.schemas import LABEL_SOURCE_COMPARISON_SCHEMA, MODEL_METRICS_SCHEMA

    spark, lh = ctx.spark, ctx.lakehouse
    fconf = ctx.settings.section("features")
    weights = {int(k): float(v) for k, v in fconf["severity_weights"].items()}  # conf only: no second default
    ls = conf["label_sources"]
    counts = pandas_frame(all_source_counts(lh.read(spark, SILVER_INCIDENTS), grain, weights, ls["all"]))
    share = float(fconf["label"]["high_risk_share"])  # the label's own share: only the sources differ
    panel_all = relabel(panel, counts, lambda p: next_period(p, grain), share)
    cfg = backtest_config(conf)
    make = model_factories(conf, result.models[result.candidate].features)[result.candidate]
    rows = panel[panel["period_start"] == last]
    cmp = compare_label_sources(
        result.models[result.candidate], make, panel_all, rows,
        float(conf["scoring"]["flag_share"]), cfg.calibration_periods, cfg.random_state,
    )
    cmp = cmp.assign(period_start=next_period(last, grain), model=result.candidate, run_id=ctx.run_id)
    lh.overwrite(spark, LABEL_SOURCE_COMPARISON, cmp, LABEL_SOURCE_COMPARISON_SCHEMA)
    overlap = label_overlap(panel, panel_all)
    # Replaces the label_sources rows only: the backtest's rows (perhaps reused, so not
    # rewritten by this run) stay, and a rerun leaves no duplicates. Tagged, so the check for
    # a recorded backtest looks past this commit.
    lh.overwrite(
        spark, MODEL_METRICS, for_the_outcome_period(overlap, grain).assign(run_id=ctx.run_id), MODEL_METRICS_SCHEMA,
        user_metadata=json.dumps({LABEL_OVERLAP: {"run_id": ctx.run_id}}),
        replace_where=f"model = '{LABEL_SOURCES_MODEL}'",
    )
    changed = int((cmp["flagged_citizen_label"] != cmp["flagged_all_source_label"]).sum())
    return (
        f"{changed // 2} of {int(cmp['flagged_citizen_label'].sum())} flags change with all-source labels; mean high-risk label overlap "
        f"{overlap['value'].mean() if len(overlap) else float('nan'):.2f}"
    )


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    if getattr(args, "if_no_champion", False):
        from jobs.registry import current_champion_version

        version = current_champion_version(ctx.lakehouse, lambda: ctx.spark)
        if version is not None:
            ctx.log.info("train: nothing to do: ops.model_registry has a champion (%s); "
                         "the training DAG retrains", version)
            print(f"champion: {version} (already registered; nothing trained)")
            return 0
        ctx.log.info("train: ops.model_registry holds no champion yet: training the first one")
    result = train(ctx, as_of=args.as_of)
    print(f"candidate: {result.candidate_version} ({result.note})")
    if getattr(args, "if_no_champion", False):
        # The first champion of a new lakehouse: promoted at once (after promote's checks), so
        # the pipeline scores on its first day; later candidates wait for the training DAG.
        from jobs.promote import promote

        print(promote(ctx, args.as_of))
    return 0
