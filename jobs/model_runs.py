"""The backtest and training runs against the lakehouse: gold.backtest_predictions,
gold.model_metrics and ops.model_registry read and written around the computations of
models/training.py (the backtest, the selection, the final fits).

The backtest's Delta commits carry what it was made from (models.training.BacktestInputs) in
their userMetadata, so `train` reuses the rows the `backtest` stage wrote when that record
matches its own inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import registry
from models.backtest import choose_champion, paired_differences, window_mean
from models.classifiers import TrainingDataError
from models.panel import build_panel
from models.registry import registry_row
from models.training import (
    BACKTEST_TABLES,
    INPUT_TABLES,
    LABEL_OVERLAP,
    LABEL_SOURCES_MODEL,
    MADE_FROM,
    BacktestInputs,
    StageFn,
    TrainResult,
    backtest_config,
    commit_record,
    compute_backtest,
    driver_footprint,
    for_the_outcome_period,
    from_the_outcome_period,
    model_factories,
    selection_windows,
    summary_metrics,
)
from store.catalog import BACKTEST_PREDICTIONS, MODEL_METRICS, SILVER_VILLAGES, VILLAGE_FEATURES
from store.frames import pandas_frame
from store.lakehouse import Lakehouse
from store.schemas import BACKTEST_PREDICTIONS_SCHEMA, MODEL_METRICS_SCHEMA


def _dates(pdf: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    out = pdf.copy()
    for c in cols:
        out[c] = pd.to_datetime(out[c]).dt.date
        out[c] = out[c].astype("object").where(out[c].notna(), None)
    return out


def panel_from_lakehouse(
    spark: SparkSession, lakehouse: Lakehouse, conf: Mapping[str, Any], grain: str, as_of: Any,
    history_only: bool = False, *, neighbours: Mapping[str, Any],
) -> tuple[DataFrame, list[str], Any]:
    """models.panel.build_panel over the lakehouse's gold.village_features and silver.villages."""
    return build_panel(spark, lakehouse.read(spark, VILLAGE_FEATURES), lakehouse.read_optional(spark, SILVER_VILLAGES),
                       conf, grain, as_of, history_only, neighbours=neighbours)


def table_versions(spark: SparkSession, lakehouse: Lakehouse) -> dict[str, int | None]:
    return {t: lakehouse.version(spark, t) for t in BACKTEST_TABLES}


def write_backtest(spark: SparkSession, lakehouse: Lakehouse, preds: pd.DataFrame, metrics: pd.DataFrame,
                   run_id: str, made_from: BacktestInputs | None, grain: str) -> None:
    """Replace gold.backtest_predictions and gold.model_metrics, each commit carrying the record."""
    meta = None if made_from is None else json.dumps(
        {MADE_FROM: {**asdict(made_from), "run_id": run_id}}, sort_keys=True
    )
    preds_out = _dates(for_the_outcome_period(preds, grain).assign(run_id=run_id),
                       ["period_start", "feature_period_start", "trained_through"])
    lakehouse.overwrite(spark, BACKTEST_PREDICTIONS, preds_out, BACKTEST_PREDICTIONS_SCHEMA, user_metadata=meta)
    metrics_out = _dates(for_the_outcome_period(metrics, grain).assign(run_id=run_id),
                         ["period_start", "feature_period_start"])
    lakehouse.overwrite(spark, MODEL_METRICS, metrics_out, MODEL_METRICS_SCHEMA, user_metadata=meta)


def read_predictions(spark: SparkSession, lakehouse: Lakehouse,
                     log: Callable[[str], None]) -> DataFrame | None:
    """gold.backtest_predictions as this release writes it; None (saying why) when it is missing
    or was written by an earlier release, whose period_start was the feature period (the next
    `backtest` or `train` rewrites it: its code record no longer matches)."""
    if not lakehouse.exists(spark, BACKTEST_PREDICTIONS):
        log(f"{BACKTEST_PREDICTIONS} does not exist yet: run `rural-risk backtest`")
        return None
    preds = lakehouse.read(spark, BACKTEST_PREDICTIONS)
    if "feature_period_start" not in preds.columns:
        log(f"{BACKTEST_PREDICTIONS} was written by an earlier release (no feature_period_start): "
            "not used until `rural-risk backtest` rewrites it")
        return None
    return preds


def recorded_backtest(
    spark: SparkSession, lakehouse: Lakehouse, made_from: BacktestInputs
) -> tuple[pd.DataFrame, pd.DataFrame, str] | str:
    """The backtest in the lakehouse when it was made from `made_from`: (predictions, metrics,
    run id that made them); otherwise why not, in words (missing or stale)."""
    if not (lakehouse.exists(spark, BACKTEST_PREDICTIONS) and lakehouse.exists(spark, MODEL_METRICS)):
        return "no backtest in the lakehouse"
    last = lakehouse.delta(spark, BACKTEST_PREDICTIONS).history(1).select("version", "userMetadata").first()
    made = commit_record(last["userMetadata"]).get(MADE_FROM)
    if not isinstance(made, dict):
        return f"{BACKTEST_PREDICTIONS} version {last['version']} carries no record of what it was made from"
    changed = made_from.differences(made)
    if changed:
        return f"{BACKTEST_PREDICTIONS} is stale: " + "; ".join(changed)
    # The metrics of the same backtest: the latest commit other than train's label-overlap rows.
    metrics_version = None
    for c in lakehouse.delta(spark, MODEL_METRICS).history(20).select("version", "userMetadata").collect():
        record = commit_record(c["userMetadata"])
        if LABEL_OVERLAP in record:
            continue
        if record.get(MADE_FROM) == made:
            metrics_version = int(c["version"])
        break
    if metrics_version is None:
        return f"{MODEL_METRICS} were not written by the backtest of {BACKTEST_PREDICTIONS} version {last['version']}"

    def read(name: str, version: int):
        return spark.read.format("delta").option("versionAsOf", version).load(lakehouse.path(name))

    preds = from_the_outcome_period(pandas_frame(read(BACKTEST_PREDICTIONS, int(last["version"])).drop("run_id")))
    preds = preds.sort_values(["period_start", "model", "village_id"], kind="stable").reset_index(drop=True)
    metrics = from_the_outcome_period(pandas_frame(
        read(MODEL_METRICS, metrics_version).filter(F.col("model") != LABEL_SOURCES_MODEL).drop("run_id")
    ))
    # Per model and metric in period order, as metrics_table makes them: the same means.
    metrics = metrics.sort_values(
        ["model", "metric", "coverage", "period_start", "bin"], kind="stable", na_position="last"
    ).reset_index(drop=True)
    return preds, metrics, str(made.get("run_id"))


def backtest(
    spark: SparkSession,
    lakehouse: Lakehouse,
    panel: pd.DataFrame,
    inputs: Sequence[str],
    conf: Mapping[str, Any],
    run_id: str,
    area: pd.Series | None,
    stage: StageFn,
    log_progress: Callable[[str], None],
    made_from: BacktestInputs | None = None,
    reuse: bool = True,
    *,
    grain: str,
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(predictions, metrics, reused): the recorded backtest when it was made from `made_from`
    (and `reuse`), else a new one, written with its record. No record: always a new one."""
    if reuse and made_from is not None:
        with stage("look for a recorded backtest of the same inputs") as st:
            found = recorded_backtest(spark, lakehouse, made_from)
            st.done(detail="found" if not isinstance(found, str) else "none usable")
        if not isinstance(found, str):
            preds, metrics, by = found
            log_progress(
                f"backtest: reusing the rows of run {by} in {BACKTEST_PREDICTIONS} and {MODEL_METRICS} "
                f"({len(preds):,} predictions, {len(metrics):,} metric rows): made from the same "
                f"inputs (gold.village_features version {made_from.features_version}, periods up to "
                f"{made_from.last_period}, same model settings and code)"
            )
            return preds, metrics, True
        log_progress(f"backtest: running it ({found})")
    preds, metrics = compute_backtest(panel, inputs, conf, area, stage, log_progress)
    write_backtest(spark, lakehouse, preds, metrics, run_id, made_from, grain)
    return preds, metrics, False


def train_run(
    spark: SparkSession,
    lakehouse: Lakehouse,
    panel: pd.DataFrame,
    inputs: Sequence[str],
    conf: Mapping[str, Any],
    run_id: str,
    area: pd.Series | None,
    stage: StageFn,
    log_progress: Callable[[str], None],
    made_from: BacktestInputs | None = None,
    *,
    grain: str,
) -> TrainResult:
    """Backtest (reused when recorded for `made_from`), metrics, selection, final fits, artifacts
    and registry rows."""
    factories = model_factories(conf, inputs)
    cfg = backtest_config(conf)
    mconf = conf["metrics"]
    preds, metrics, reused = backtest(
        spark, lakehouse, panel, inputs, conf, run_id, area, stage, log_progress, made_from, grain=grain
    )

    sel = conf["selection"]
    metric, coverage = str(sel["metric"]), float(sel["coverage"])
    windows = selection_windows(metrics, sel)
    # Chosen on the selection periods only; the later report periods stay untouched by the choice.
    scores = window_mean(metrics, metric, coverage, windows.selection)
    incumbent = registry.current_champion(spark, lakehouse)
    champion, note = choose_champion(
        scores, incumbent.model if incumbent else None, float(sel.get("min_improvement", 0.0)),
        differences=lambda a, b: paired_differences(metrics, metric, coverage, a, b, windows.selection).to_numpy(),
        draws=int(sel.get("bootstrap_draws", 2000)),
    )
    note = f"{note} (chosen on {len(windows.selection)} backtest periods, reported on the {len(windows.report)} after)"
    input_versions = {t: lakehouse.version(spark, t) for t in INPUT_TABLES}
    summary = summary_metrics(metrics, sel, mconf)
    rows, fitted, candidate_version = [], {}, ""
    with stage("fit final models and register") as st:
        for name, make in factories.items():
            try:
                model = make().fit(panel, cfg.calibration_periods, cfg.random_state)
            except TrainingDataError as exc:
                if name == champion:
                    raise
                log_progress(f"model {name} not registered: {exc}")
                continue
            fitted[name] = model
            version = f"{run_id}-{name}"
            path = registry.save_artifact(model, lakehouse, version)
            # The selection's choice waits for `rural-risk promote` to become the champion.
            role = "candidate" if name == champion else "challenger"
            if role == "candidate":
                candidate_version = version
            rows.append(registry_row(
                model, version, role, path, summary.get(name, {}), input_versions, run_id,
                label="label_high_risk_next", note=note if role == "candidate" else "",
            ))
        registry.append(spark, lakehouse, rows)
        st.done(rows=len(rows), detail=f"candidate {candidate_version}: {note}; {driver_footprint(panel)}")
    return TrainResult(champion, candidate_version, note, scores, preds, metrics, fitted, reused)
