"""Training run: backtest every model, write predictions and metrics, pick and register the champion.

The backtest's rows carry what they were made from (`BacktestInputs`: Delta versions of the
tables read, the last complete period, a hash of the model settings and of the model code),
recorded as the userMetadata of the Delta commits that write them. `train` reuses the rows the
`backtest` stage wrote when that record matches its own inputs, and runs the backtest only
when they are missing or stale.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
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
    fit_workers,
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
        T.StructField("village_id", T.StringType(), False, {"comment": "Village code."}),
        T.StructField("township_id", T.StringType(), True, {"comment": "Township code of the village."}),
        T.StructField("period_start", T.DateType(), False, {"comment": "The period the prediction is for, whose outcome is in actual_weighted and actual_label (as period_start in gold.village_risk)."}),
        T.StructField("feature_period_start", T.DateType(), False, {"comment": "The period whose features the prediction was made from: the one before period_start."}),
        T.StructField("model", T.StringType(), False, {"comment": "Model name (a baseline or a classifier of conf/models.yaml)."}),
        T.StructField("score", T.DoubleType(), True, {"comment": "The model's ranking score; higher is riskier."}),
        T.StructField("probability", T.DoubleType(), True, {"comment": "Predicted chance of being among the highest-risk villages of the period (null for baselines without one)."}),
        T.StructField("expected_weighted_count", T.DoubleType(), True, {"comment": "Predicted severity-weighted count of the label's incidents in the period."}),
        T.StructField("actual_weighted", T.DoubleType(), True, {"comment": "Severity-weighted count of the label's incidents reported in the period."}),
        T.StructField("actual_label", T.BooleanType(), True, {"comment": "The period's high-risk label (label_high_risk_next of the feature period)."}),
        T.StructField("trained_through", T.DateType(), True, {"comment": "Last feature period of the fit that made the prediction (rolling origin)."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)
METRICS_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType(), False, {"comment": "Model name."}),
        T.StructField("period_start", T.DateType(), True, {"comment": "The period whose outcome was scored (the predictions' period_start); null for rows pooled over every period (reliability bins)."}),
        T.StructField("feature_period_start", T.DateType(), True, {"comment": "The period whose features the scored predictions were made from: the one before period_start; null when period_start is."}),
        T.StructField("metric", T.StringType(), False, {"comment": "Metric name: hit_rate, pei_star, pai, roc_auc, pr_auc, brier, ece, reliability_* (docs/models.md)."}),
        T.StructField("coverage", T.DoubleType(), True, {"comment": "Share of villages flagged for the coverage metrics (hit_rate, pei_star, pai); null otherwise."}),
        T.StructField("bin", T.IntegerType(), True, {"comment": "Reliability bin (0 = lowest predicted chance) for reliability_* rows; null otherwise."}),
        T.StructField("value", T.DoubleType(), True, {"comment": "Metric value."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)

StageFn = Callable[[str], AbstractContextManager[Any]]

# What a backtest's rows depend on: the tables the panel is built from, the model settings
# that shape the panel, the models, the origins and the metrics, and the code computing them.
BACKTEST_TABLES = ("gold.village_features", "silver.villages")
BACKTEST_SETTINGS = ("features", "baselines", "classifiers", "backtest", "metrics")
BACKTEST_CODE = ("backtest", "baselines", "classifiers", "metrics", "panel", "training")
# Keys of the JSON userMetadata of the commits: the backtest's record, and train's own
# label-overlap rows in gold.model_metrics (which leave the backtest's rows as they are).
MADE_FROM = "rural_risk_backtest"
LABEL_OVERLAP = "rural_risk_label_overlap"
LABEL_SOURCES_MODEL = "label_sources"


@dataclass
class TrainResult:
    candidate: str  # the model the selection chose, registered for `rural-risk promote`
    candidate_version: str
    note: str
    selection: pd.Series
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    models: dict[str, RiskModel]
    backtest_reused: bool = False


@dataclass(frozen=True)
class BacktestInputs:
    """What a backtest is made from; equal inputs give equal rows (fixed random state)."""

    features_version: int | None
    villages_version: int | None
    last_period: str
    grain: str
    settings_sha256: str
    code_sha256: str

    @classmethod
    def of(cls, versions: Mapping[str, int | None], conf: Mapping[str, Any], grain: str,
           last: date) -> BacktestInputs:
        """From table versions read BEFORE the panel (a concurrent write then makes the record
        older than the rows read, so the next train recomputes: never the other way round)."""
        chosen = {k: conf.get(k) for k in BACKTEST_SETTINGS}
        # How many fits run at once does not change a prediction (models.backtest.run_backtest).
        chosen["backtest"] = {k: v for k, v in (chosen.get("backtest") or {}).items() if k != "workers"}
        settings = json.dumps(chosen, sort_keys=True, default=str)
        code = hashlib.sha256()
        for name in BACKTEST_CODE:  # the source as imported (a file, or a zip under --py-files)
            code.update(inspect.getsource(importlib.import_module(f"models.{name}")).encode())
        return cls(
            versions.get("gold.village_features"), versions.get("silver.villages"),
            last.isoformat(), grain, hashlib.sha256(settings.encode()).hexdigest(), code.hexdigest(),
        )

    def differences(self, recorded: Mapping[str, Any]) -> list[str]:
        """What differs from a recorded backtest's inputs, in words (empty: the same)."""
        return [
            f"{f.name} {recorded.get(f.name)!r} -> {getattr(self, f.name)!r}"
            for f in fields(self) if recorded.get(f.name) != getattr(self, f.name)
        ]


def table_versions(spark: SparkSession, lakehouse: Lakehouse) -> dict[str, int | None]:
    return {t: lakehouse.version(spark, t) for t in BACKTEST_TABLES}


def driver_footprint(frame: pd.DataFrame, what: str = "panel") -> str:
    """Size of a driver-side pandas step and the driver's peak memory so far, for stage lines.

    Peak RSS is the Python driver process's (resource.getrusage); the JVM is another process.
    """
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        mib = f"{peak / 2**20 if sys.platform == 'darwin' else peak / 1024:,.0f} MiB"
    except (ImportError, OSError):  # not a Unix system
        mib = "unknown"
    return f"{what} {len(frame):,} x {frame.shape[1]} on the driver, driver peak RSS {mib}"


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
        workers=fit_workers(bt.get("workers")),
    )


def area_series(villages: DataFrame | None) -> pd.Series | None:
    if villages is None or "area_km2" not in villages.columns:
        return None
    pdf = pandas_frame(villages.select("village_id", F.col("area_km2").cast("double").alias("a")))
    return pdf.drop_duplicates("village_id").set_index("village_id")["a"]


def write_overwrite(spark: SparkSession, lakehouse: Lakehouse, name: str, pdf: pd.DataFrame,
                    schema: T.StructType, user_metadata: str | None = None,
                    replace_where: str | None = None) -> int:
    """Replace the table's content (or the rows matching `replace_where`) with these rows.

    `user_metadata` is recorded in the Delta commit (readable in the table's history); the
    table's description comes from the catalog (jobs/catalog.py).
    """
    lakehouse.create(spark, name, schema)
    writer = spark_frame(spark, pdf, schema).write.format("delta").mode("overwrite")
    if user_metadata is not None:
        writer = writer.option("userMetadata", user_metadata)
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    else:  # the whole table is replaced: so is its schema (a table of an older release takes
        writer = writer.option("overwriteSchema", "true")  # this release's columns and comments)
    writer.save(lakehouse.path(name))
    return len(pdf)


def _dates(pdf: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    out = pdf.copy()
    for c in cols:
        out[c] = pd.to_datetime(out[c]).dt.date
        out[c] = out[c].astype("object").where(out[c].notna(), None)
    return out


def compute_backtest(
    panel: pd.DataFrame,
    inputs: Sequence[str],
    conf: Mapping[str, Any],
    area: pd.Series | None,
    stage: StageFn,
    log_progress: Callable[[str], None],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, metrics) of the rolling-origin backtest of every model (on the driver)."""
    factories = model_factories(conf, inputs)
    with stage(f"backtest {len(factories)} models") as st:
        def progress(i: int, n: int, t: object) -> None:
            log_progress(f"backtest origin {i}/{n} (period {str(t)[:10]})")

        preds = run_backtest(panel, factories, backtest_config(conf), progress)
        st.done(rows=len(preds), detail=f"{preds['period_start'].nunique()} origins; {driver_footprint(panel)}")
    mconf = conf["metrics"]
    with stage("backtest metrics") as st:
        metrics = metrics_table(preds, area, [float(c) for c in mconf["coverages"]], int(mconf["calibration_bins"]))
        st.done(rows=len(metrics), detail=driver_footprint(preds, "predictions"))
    return preds, metrics


def write_backtest(spark: SparkSession, lakehouse: Lakehouse, preds: pd.DataFrame, metrics: pd.DataFrame,
                   run_id: str, made_from: BacktestInputs | None, grain: str) -> None:
    """Replace gold.backtest_predictions and gold.model_metrics, each commit carrying the record."""
    meta = None if made_from is None else json.dumps(
        {MADE_FROM: {**asdict(made_from), "run_id": run_id}}, sort_keys=True
    )
    preds_out = _dates(for_the_outcome_period(preds, grain).assign(run_id=run_id),
                       ["period_start", "feature_period_start", "trained_through"])
    write_overwrite(spark, lakehouse, PREDICTIONS, preds_out, PREDICTIONS_SCHEMA, user_metadata=meta)
    metrics_out = _dates(for_the_outcome_period(metrics, grain).assign(run_id=run_id),
                         ["period_start", "feature_period_start"])
    write_overwrite(spark, lakehouse, METRICS, metrics_out, METRICS_SCHEMA, user_metadata=meta)


def for_the_outcome_period(frame: pd.DataFrame, grain: str) -> pd.DataFrame:
    """Backtest rows as the tables hold them: in memory a row's period_start is the feature
    period it was predicted from; in gold.backtest_predictions and gold.model_metrics it is the
    period predicted, the one the row's outcome is of (as in every table about a forecast), and
    the feature period is feature_period_start. `from_the_outcome_period` is the inverse."""
    from features.periods import next_period

    out = frame.rename(columns={"period_start": "feature_period_start"})
    # Once per distinct period, not per row: the predictions are villages x origins x models.
    following = {p: next_period(pd.Timestamp(p).date(), grain)
                 for p in out["feature_period_start"].dropna().unique()}
    out.insert(0, "period_start", [following.get(p) if p is not None and p == p else None
                                   for p in out["feature_period_start"]])
    return out


def read_predictions(spark: SparkSession, lakehouse: Lakehouse,
                     log: Callable[[str], None]) -> DataFrame | None:
    """gold.backtest_predictions as this release writes it; None (saying why) when it is missing
    or was written by an earlier release, whose period_start was the feature period (the next
    `backtest` or `train` rewrites it: its code record no longer matches)."""
    if not lakehouse.exists(spark, PREDICTIONS):
        log(f"{PREDICTIONS} does not exist yet: run `rural-risk backtest`")
        return None
    preds = lakehouse.read(spark, PREDICTIONS)
    if "feature_period_start" not in preds.columns:
        log(f"{PREDICTIONS} was written by an earlier release (no feature_period_start): "
            "not used until `rural-risk backtest` rewrites it")
        return None
    return preds


def from_the_outcome_period(frame: pd.DataFrame) -> pd.DataFrame:
    """The in-memory form of rows read from the backtest tables (see for_the_outcome_period)."""
    return frame.drop(columns=["period_start"]).rename(columns={"feature_period_start": "period_start"})


def _commit_record(user_metadata: str | None) -> dict[str, Any]:
    try:
        record = json.loads(user_metadata) if user_metadata else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def recorded_backtest(
    spark: SparkSession, lakehouse: Lakehouse, made_from: BacktestInputs
) -> tuple[pd.DataFrame, pd.DataFrame, str] | str:
    """The backtest in the lakehouse when it was made from `made_from`: (predictions, metrics,
    run id that made them); otherwise why not, in words (missing or stale)."""
    if not (lakehouse.exists(spark, PREDICTIONS) and lakehouse.exists(spark, METRICS)):
        return "no backtest in the lakehouse"
    last = lakehouse.delta(spark, PREDICTIONS).history(1).select("version", "userMetadata").first()
    made = _commit_record(last["userMetadata"]).get(MADE_FROM)
    if not isinstance(made, dict):
        return f"{PREDICTIONS} version {last['version']} carries no record of what it was made from"
    changed = made_from.differences(made)
    if changed:
        return f"{PREDICTIONS} is stale: " + "; ".join(changed)
    # The metrics of the same backtest: the latest commit other than train's label-overlap rows.
    metrics_version = None
    for c in lakehouse.delta(spark, METRICS).history(20).select("version", "userMetadata").collect():
        record = _commit_record(c["userMetadata"])
        if LABEL_OVERLAP in record:
            continue
        if record.get(MADE_FROM) == made:
            metrics_version = int(c["version"])
        break
    if metrics_version is None:
        return f"{METRICS} were not written by the backtest of {PREDICTIONS} version {last['version']}"

    def read(name: str, version: int):
        return spark.read.format("delta").option("versionAsOf", version).load(lakehouse.path(name))

    preds = from_the_outcome_period(pandas_frame(read(PREDICTIONS, int(last["version"])).drop("run_id")))
    preds = preds.sort_values(["period_start", "model", "village_id"], kind="stable").reset_index(drop=True)
    metrics = from_the_outcome_period(pandas_frame(
        read(METRICS, metrics_version).filter(F.col("model") != LABEL_SOURCES_MODEL).drop("run_id")
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
                f"backtest: reusing the rows of run {by} in {PREDICTIONS} and {METRICS} "
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
    scores = recent_mean(metrics, sel["metric"], float(sel["coverage"]), int(sel["recent_periods"]))
    incumbent = registry.current_champion(spark, lakehouse)
    champion, note = choose_champion(
        scores, incumbent.model if incumbent else None, float(sel.get("min_improvement", 0.0))
    )
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
            rows.append(registry.registry_row(
                model, version, role, path, summary.get(name, {}), input_versions, run_id,
                label="label_high_risk_next", note=note if role == "candidate" else "",
            ))
        registry.append(spark, lakehouse, rows)
        st.done(rows=len(rows), detail=f"candidate {candidate_version}: {note}; {driver_footprint(panel)}")
    return TrainResult(champion, candidate_version, note, scores, preds, metrics, fitted, reused)


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
