"""Rolling-origin backtest, per-period metrics and champion selection (pandas, on the collected panel).

For every origin t after the warm-up the models are trained on periods before t and predict
the rows of period t (whose label is the outcome of t+1). Never a random split. A model fit
at origin t serves the next `retrain_every - 1` origins too: still trained only on the past.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.baselines import LABEL_HIGH, LABEL_WEIGHTED
from models.classifiers import RiskModel, TrainingDataError
from models.metrics import period_metrics, reliability_bins


class BacktestError(ValueError):
    """The panel is too short for the backtest or lacks the columns it needs."""


@dataclass(frozen=True)
class BacktestConfig:
    warmup_periods: int = 12
    retrain_every: int = 3
    max_origins: int | None = None
    calibration_periods: int = 6
    random_state: int = 0


ModelFactory = Callable[[], RiskModel]


def labelled_periods(panel: pd.DataFrame) -> list:
    rows = panel[panel[LABEL_HIGH].notna() & panel[LABEL_WEIGHTED].notna()]
    return sorted(rows["period_start"].unique())


def origins(panel: pd.DataFrame, cfg: BacktestConfig) -> list:
    periods = labelled_periods(panel)
    if len(periods) <= cfg.warmup_periods:
        raise BacktestError(
            f"backtest needs more than {cfg.warmup_periods} labelled periods (warm-up), "
            f"the features hold {len(periods)}"
        )
    out = periods[cfg.warmup_periods:]
    return out[-cfg.max_origins:] if cfg.max_origins else out


def run_backtest(
    panel: pd.DataFrame,
    factories: dict[str, ModelFactory],
    cfg: BacktestConfig,
    progress: Callable[[int, int, object], None] | None = None,
) -> pd.DataFrame:
    """Out-of-sample predictions of every model at every origin.

    Returns village_id, township_id, period_start, model, score, probability,
    expected_weighted, actual_weighted, actual_label, trained_through.
    """
    ts = origins(panel, cfg)
    fitted: dict[str, RiskModel | None] = {}
    trained_through: dict[str, object] = {}
    out = []
    for i, t in enumerate(ts):
        refit = i % max(1, cfg.retrain_every) == 0
        train = panel[panel["period_start"] < t]
        test = panel[(panel["period_start"] == t) & panel[LABEL_HIGH].notna()]
        test = test.sort_values("village_id")
        for name, make in factories.items():
            if refit or name not in fitted:
                try:
                    fitted[name] = make().fit(train, cfg.calibration_periods, cfg.random_state)
                    trained_through[name] = max(train["period_start"])
                except TrainingDataError:
                    fitted[name] = None  # e.g. one class only so far: no prediction this origin
            model = fitted[name]
            if model is None:
                continue
            pred = model.predict(test)
            out.append(
                pd.DataFrame(
                    {
                        "village_id": test["village_id"].to_numpy(),
                        "township_id": test["township_id"].to_numpy(),
                        "period_start": t,
                        "model": name,
                        "score": pred["score"].to_numpy(),
                        "probability": pred["probability"].to_numpy(),
                        "expected_weighted": pred["expected_weighted"].to_numpy(),
                        "actual_weighted": test[LABEL_WEIGHTED].astype(float).to_numpy(),
                        "actual_label": test[LABEL_HIGH].astype(bool).to_numpy(),
                        "trained_through": trained_through[name],
                    }
                )
            )
        if progress:
            progress(i + 1, len(ts), t)
    if not out:
        raise BacktestError("no model could be trained at any backtest origin")
    return pd.concat(out, ignore_index=True)


def metrics_table(
    predictions: pd.DataFrame,
    area: pd.Series | None,
    coverages: Sequence[float],
    bins: int = 10,
) -> pd.DataFrame:
    """model, period_start, metric, coverage, bin, value: per period, plus pooled reliability bins.

    Pooled rows (period_start null) hold the reliability diagram over all backtest periods:
    metrics reliability_rows / reliability_predicted / reliability_observed, one per `bin`.
    """
    rows = []
    for (model, period), g in predictions.groupby(["model", "period_start"], sort=True):
        g = g.sort_values("village_id")
        a = area.reindex(g["village_id"]).to_numpy() if area is not None else None
        if a is not None and np.isnan(a).any():
            a = np.where(np.isnan(a), np.nanmean(a) if not np.isnan(a).all() else 1.0, a)
        for metric, cov, value in period_metrics(
            g["score"], g["probability"].fillna(0.0), g["actual_weighted"],
            g["actual_label"].astype(float), a, coverages, bins,
        ):
            rows.append((model, period, metric, cov, None, value))
    for model, g in predictions.groupby("model", sort=True):
        ok = g["probability"].notna()
        for b, n, pred, obs in reliability_bins(
            g.loc[ok, "actual_label"].astype(float), g.loc[ok, "probability"], bins
        ):
            rows += [
                (model, None, "reliability_rows", None, b, float(n)),
                (model, None, "reliability_predicted", None, b, pred),
                (model, None, "reliability_observed", None, b, obs),
            ]
    return pd.DataFrame(rows, columns=["model", "period_start", "metric", "coverage", "bin", "value"])


def recent_mean(
    metrics: pd.DataFrame, metric: str, coverage: float, recent_periods: int
) -> pd.Series:
    """Mean of a metric per model over the latest `recent_periods` backtest periods (NaN skipped)."""
    m = metrics[
        (metrics["metric"] == metric)
        & np.isclose(metrics["coverage"].astype(float).fillna(-1), coverage)
        & metrics["period_start"].notna()
    ]
    periods = sorted(m["period_start"].unique())[-recent_periods:]
    m = m[m["period_start"].isin(periods)]
    means = m.groupby("model")["value"].mean()
    # Highest first; equal means in model-name order, so the choice is deterministic.
    order = sorted(means.index, key=lambda k: (-means[k] if means[k] == means[k] else float("inf"), k))
    return means.reindex(order)


def choose_champion(
    scores: pd.Series, incumbent: str | None, min_improvement: float = 0.0
) -> tuple[str, str]:
    """The best model unless the incumbent is within min_improvement of it: (champion, why)."""
    scores = scores.dropna()
    if scores.empty:
        raise BacktestError("no model has a selection metric: nothing to choose from")
    best = str(scores.idxmax())
    if incumbent is None or incumbent not in scores.index:
        return best, f"{best} has the best selection metric ({scores[best]:.4f}); no incumbent"
    if best == incumbent:
        return best, f"incumbent {best} is still the best ({scores[best]:.4f})"
    gain = float(scores[best] - scores[incumbent])
    if gain > min_improvement and not math.isclose(gain, 0.0, abs_tol=1e-12):
        return best, (
            f"challenger {best} ({scores[best]:.4f}) beats incumbent {incumbent} "
            f"({scores[incumbent]:.4f}) by {gain:.4f}"
        )
    return incumbent, (
        f"incumbent {incumbent} ({scores[incumbent]:.4f}) kept: challenger {best} "
        f"({scores[best]:.4f}) is not better by more than {min_improvement}"
    )
