"""Training, the pure part: the models of the settings, the backtest and its metrics, what a
backtest is made from, and the summary the registry keeps.

The backtest's rows carry what they were made from (`BacktestInputs`: Delta versions of the
tables read, the last complete period, a hash of the model settings and of the model code),
recorded as the userMetadata of the Delta commits that write them (jobs/backtest.py), so
`train` reuses the rows the `backtest` stage wrote when that record matches its own inputs.
Reading and writing the tables and the registry is the stages' (jobs/backtest.py,
jobs/train.py).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.backtest import (
    BacktestConfig,
    Windows,
    comparison_rows,
    fit_workers,
    metric_periods,
    metrics_table,
    run_backtest,
    split_windows,
    window_mean,
)
from models.baselines import baseline_specs
from models.classifiers import RiskModel
from store.catalog import SILVER_INCIDENTS, SILVER_VILLAGES, VILLAGE_FEATURES
from store.frames import pandas_frame

INPUT_TABLES = (VILLAGE_FEATURES, SILVER_VILLAGES, SILVER_INCIDENTS)


StageFn = Callable[[str], AbstractContextManager[Any]]

# What a backtest's rows depend on: the tables the panel is built from, the model settings
# that shape the panel, the models, the origins and the metrics, and the code computing them.
BACKTEST_TABLES = (VILLAGE_FEATURES, SILVER_VILLAGES)
# selection shapes the backtest's comparison rows (its windows), all but min_improvement,
# which is the incumbent rule of `train` only.
BACKTEST_SETTINGS = ("features", "baselines", "classifiers", "backtest", "metrics", "selection")
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
        chosen["selection"] = {k: v for k, v in (chosen.get("selection") or {}).items() if k != "min_improvement"}
        settings = json.dumps(chosen, sort_keys=True, default=str)
        code = hashlib.sha256()
        for name in BACKTEST_CODE:  # the source as imported (a file, or a zip under --py-files)
            code.update(inspect.getsource(importlib.import_module(f"models.{name}")).encode())
        return cls(
            versions.get(VILLAGE_FEATURES), versions.get(SILVER_VILLAGES),
            last.isoformat(), grain, hashlib.sha256(settings.encode()).hexdigest(), code.hexdigest(),
        )

    def differences(self, recorded: Mapping[str, Any]) -> list[str]:
        """What differs from a recorded backtest's inputs, in words (empty: the same)."""
        return [
            f"{f.name} {recorded.get(f.name)!r} -> {getattr(self, f.name)!r}"
            for f in fields(self) if recorded.get(f.name) != getattr(self, f.name)
        ]


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


def baseline_names(conf: Mapping[str, Any]) -> list[str]:
    """Names of the simple baselines of the settings (what every model is compared with)."""
    bl = conf["baselines"]
    return [s.name for s in baseline_specs(bl["moving_average_windows"], bl["hotspot"]["neighbour_weight"])]


def selection_windows(metrics: pd.DataFrame, sel: Mapping[str, Any]) -> Windows:
    """The backtest periods the champion is chosen on, and the later ones it is reported on
    (conf/models.yaml selection.recent_periods and report_periods)."""
    periods = metric_periods(metrics, str(sel["metric"]), float(sel["coverage"]))
    return split_windows(periods, int(sel["recent_periods"]), int(sel.get("report_periods", 12)))


def compute_backtest(
    panel: pd.DataFrame,
    inputs: Sequence[str],
    conf: Mapping[str, Any],
    area: pd.Series | None,
    stage: StageFn,
    log_progress: Callable[[str], None],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, metrics) of the rolling-origin backtest of every model (on the driver).
    The metrics end with every model's paired comparison against the best simple baseline on
    the report periods (models.backtest.comparison_rows)."""
    factories = model_factories(conf, inputs)
    with stage(f"backtest {len(factories)} models") as st:
        def progress(i: int, n: int, t: object) -> None:
            log_progress(f"backtest origin {i}/{n} (period {str(t)[:10]})")

        preds = run_backtest(panel, factories, backtest_config(conf), progress)
        st.done(rows=len(preds), detail=f"{preds['period_start'].nunique()} origins; {driver_footprint(panel)}")
    mconf, sel = conf["metrics"], conf["selection"]
    with stage("backtest metrics") as st:
        metrics = metrics_table(preds, area, [float(c) for c in mconf["coverages"]], int(mconf["calibration_bins"]))
        windows = selection_windows(metrics, sel)
        paired = comparison_rows(metrics, str(sel["metric"]), float(sel["coverage"]), windows,
                                 baseline_names(conf), int(sel.get("bootstrap_draws", 2000)))
        metrics = pd.concat([metrics, paired], ignore_index=True) if len(paired) else metrics
        st.done(rows=len(metrics), detail=(
            f"chosen on {len(windows.selection)} periods, reported on {len(windows.report)}"
            f"{'' if windows.held_out else ' (too few periods to hold any out)'}; "
            f"{driver_footprint(preds, 'predictions')}"))
    return preds, metrics


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


def from_the_outcome_period(frame: pd.DataFrame) -> pd.DataFrame:
    """The in-memory form of rows read from the backtest tables (see for_the_outcome_period)."""
    return frame.drop(columns=["period_start"]).rename(columns={"feature_period_start": "period_start"})


def commit_record(user_metadata: str | None) -> dict[str, Any]:
    """The JSON record of a Delta commit's userMetadata ({} when it holds none)."""
    try:
        record = json.loads(user_metadata) if user_metadata else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def summary_metrics(metrics: pd.DataFrame, sel: Mapping[str, Any], mconf: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per model (registry column): the mean of each metric over the periods the champion was
    chosen on (`..._selection`) and over the later ones it is reported on (`..._report`), and
    its paired comparison with the best baseline on those (`..._vs_best_baseline_mean`, `_low90`,
    `_high90`)."""
    out: dict[str, dict[str, float]] = {}
    windows = selection_windows(metrics, sel)
    for name, periods in (("selection", windows.selection), ("report", windows.report)):
        for metric in ("roc_auc", "pr_auc", "brier", "ece"):
            for model, v in window_mean(metrics.fillna({"coverage": -1.0}), metric, -1.0, periods).items():
                out.setdefault(str(model), {})[f"{metric}_{name}"] = float(v)
        for c in mconf["coverages"]:
            for metric in ("hit_rate", "pai", "pei_star"):
                for model, v in window_mean(metrics, metric, float(c), periods).items():
                    out.setdefault(str(model), {})[f"{metric}@{float(c):g}_{name}"] = float(v)
    pooled = metrics[metrics["period_start"].isna() & metrics["metric"].str.contains("_vs_best_baseline_")]
    for r in pooled.itertuples():
        out.setdefault(str(r.model), {})[f"{r.metric.split('_vs_')[0]}@{float(r.coverage):g}_vs_{r.metric.split('_vs_')[1]}"] = float(r.value)
    return out
