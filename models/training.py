"""Training run: backtest every model, write predictions and metrics, pick and register the champion."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.lakehouse import Lakehouse
from models import registry
from models.backtest import (
    BacktestConfig,
    choose_champion,
    metrics_table,
    recent_mean,
    run_backtest,
)
from models.baselines import baseline_specs
from models.classifiers import RiskModel, TrainingDataError
from models.panel import pandas_frame, spark_frame

PREDICTIONS = "gold.backtest_predictions"
METRICS = "gold.model_metrics"
INPUT_TABLES = ("gold.village_features", "silver.villages", "silver.incidents")

PREDICTIONS_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False),
        T.StructField("township_id", T.StringType(), True),
        T.StructField("period_start", T.DateType(), False),
        T.StructField("model", T.StringType(), False),
        T.StructField("score", T.DoubleType(), True),
        T.StructField("probability", T.DoubleType(), True),
        T.StructField("expected_weighted", T.DoubleType(), True),
        T.StructField("actual_weighted", T.DoubleType(), True),
        T.StructField("actual_label", T.BooleanType(), True),
        T.StructField("trained_through", T.DateType(), True),
        T.StructField("run_id", T.StringType(), False),
    ]
)
METRICS_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType(), False),
        T.StructField("period_start", T.DateType(), True),
        T.StructField("metric", T.StringType(), False),
        T.StructField("coverage", T.DoubleType(), True),
        T.StructField("bin", T.IntegerType(), True),
        T.StructField("value", T.DoubleType(), True),
        T.StructField("run_id", T.StringType(), False),
    ]
)

StageFn = Callable[[str], AbstractContextManager[Any]]


@dataclass
class TrainResult:
    champion: str
    champion_version: str
    note: str
    selection: pd.Series
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    models: dict[str, RiskModel]


def model_factories(conf: Mapping[str, Any], inputs: Sequence[str]) -> dict[str, Callable[[], RiskModel]]:
    bl, cl = conf["baselines"], conf["classifiers"]
    specs = baseline_specs(bl["moving_average_windows"], bl["hotspot"]["neighbour_weight"])
    out: dict[str, Callable[[], RiskModel]] = {s.name: (lambda s=s: RiskModel.baseline(s)) for s in specs}
    for kind in cl.get("enabled", ["logistic", "hgb"]):
        out[kind] = lambda kind=kind: RiskModel.classifier(kind, kind, list(inputs), dict(cl.get(kind) or {}))
    return out


def backtest_config(conf: Mapping[str, Any]) -> BacktestConfig:
    bt, cl = conf["backtest"], conf["classifiers"]
    return BacktestConfig(
        warmup_periods=int(bt["warmup_periods"]), retrain_every=int(bt["retrain_every"]),
        max_origins=int(bt["max_origins"]) if bt.get("max_origins") else None,
        calibration_periods=int(cl["calibration_periods"]), random_state=int(cl.get("random_state", 0)),
    )


def area_series(villages: DataFrame | None) -> pd.Series | None:
    if villages is None or "area_km2" not in villages.columns:
        return None
    pdf = pandas_frame(villages.select("village_id", F.col("area_km2").cast("double").alias("a")))
    return pdf.drop_duplicates("village_id").set_index("village_id")["a"]


def write_overwrite(spark: SparkSession, lakehouse: Lakehouse, name: str, pdf: pd.DataFrame,
                    schema: T.StructType, comment: str) -> int:
    """Replace the table's content with this run's rows (the backtest is recomputed in full)."""
    lakehouse.create(spark, name, schema, comment=comment)
    df = spark_frame(spark, pdf, schema)
    df.write.format("delta").mode("overwrite").save(lakehouse.path(name))
    return len(pdf)


def _dates(pdf: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    out = pdf.copy()
    for c in cols:
        out[c] = pd.to_datetime(out[c]).dt.date
        out[c] = out[c].astype("object").where(out[c].notna(), None)
    return out


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
) -> TrainResult:
    """Backtest, metrics, selection, final fits, artifacts and registry rows."""
    factories = model_factories(conf, inputs)
    cfg = backtest_config(conf)
    with stage(f"backtest {len(factories)} models") as st:
        def progress(i: int, n: int, t: object) -> None:
            log_progress(f"backtest origin {i}/{n} (period {str(t)[:10]})")

        preds = run_backtest(panel, factories, cfg, progress)
        st.done(rows=len(preds), detail=f"{preds['period_start'].nunique()} origins")
    mconf = conf["metrics"]
    with stage("backtest metrics") as st:
        metrics = metrics_table(preds, area, [float(c) for c in mconf["coverages"]], int(mconf["calibration_bins"]))
        st.done(rows=len(metrics))
    preds_out = _dates(preds.assign(run_id=run_id), ["period_start", "trained_through"])
    write_overwrite(spark, lakehouse, PREDICTIONS, preds_out, PREDICTIONS_SCHEMA,
                    "Out-of-sample rolling-origin predictions of every model")
    metrics_out = _dates(metrics.assign(run_id=run_id), ["period_start"])
    write_overwrite(spark, lakehouse, METRICS, metrics_out, METRICS_SCHEMA,
                    "Backtest metrics per model and period (period_start null: pooled)")

    sel = conf["selection"]
    scores = recent_mean(metrics, sel["metric"], float(sel["coverage"]), int(sel["recent_periods"]))
    incumbent = registry.current_champion(spark, lakehouse)
    champion, note = choose_champion(
        scores, incumbent.model if incumbent else None, float(sel.get("min_improvement", 0.0))
    )
    input_versions = {t: lakehouse.version(spark, t) for t in INPUT_TABLES}
    summary = summary_metrics(metrics, sel, mconf)
    rows, fitted, champion_version = [], {}, ""
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
            role = "champion" if name == champion else "challenger"
            if role == "champion":
                champion_version = version
            rows.append(registry.registry_row(
                model, version, role, path, summary.get(name, {}), input_versions, run_id,
                label="label_high_risk_next", note=note if role == "champion" else "",
            ))
        registry.append(spark, lakehouse, rows)
        st.done(rows=len(rows), detail=f"champion {champion_version}: {note}")
    return TrainResult(champion, champion_version, note, scores, preds, metrics, fitted)


def summary_metrics(metrics: pd.DataFrame, sel: Mapping[str, Any], mconf: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per model: mean of each metric over the selection's recent periods (registry column)."""
    out: dict[str, dict[str, float]] = {}
    recent = int(sel["recent_periods"])
    for metric in ("roc_auc", "pr_auc", "brier", "ece"):
        for model, v in recent_mean(metrics.fillna({"coverage": -1.0}), metric, -1.0, recent).items():
            out.setdefault(str(model), {})[f"{metric}_recent{recent}"] = float(v)
    for c in mconf["coverages"]:
        for metric in ("hit_rate", "pai", "pei_star"):
            for model, v in recent_mean(metrics, metric, float(c), recent).items():
                out.setdefault(str(model), {})[f"{metric}@{float(c):g}_recent{recent}"] = float(v)
    return out


def as_date(x: Any) -> date:
    return pd.Timestamp(x).date()
