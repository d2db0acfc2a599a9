"""Rolling-origin backtest, per-period metrics and champion selection (pandas, on the collected panel).

For every origin t after the warm-up the models are trained on periods before t and predict
the rows of period t (whose label is the outcome of t+1). Never a random split. A model fit
at origin t serves the next `retrain_every - 1` origins too: still trained only on the past.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.baselines import LABEL_HIGH, LABEL_WEIGHTED
from models.classifiers import RiskModel, TrainingDataError, single_threaded_fits
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
    workers: int = 1  # refit groups fitted at once (threads); see run_backtest


def fit_workers(setting: object) -> int:
    """backtest.workers: a count, or null / "auto" for one per CPU core of the driver."""
    if setting in (None, "auto"):
        return os.cpu_count() or 1
    count = int(setting)  # type: ignore[call-overload]
    if count < 1:
        raise ValueError(f"backtest.workers must be at least 1 or auto, got {setting!r}")
    return count


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


def _group_predictions(panel: pd.DataFrame, factories: dict[str, ModelFactory], cfg: BacktestConfig,
                       group: Sequence) -> dict[tuple[object, str], pd.DataFrame]:
    """One refit group: every model fit on the periods before the group's first origin, then
    predicting each origin of the group (still only past periods in its training window)."""
    train = panel[panel["period_start"] < group[0]]
    tests = {t: panel[(panel["period_start"] == t) & panel[LABEL_HIGH].notna()].sort_values("village_id")
             for t in group}
    out: dict[tuple[object, str], pd.DataFrame] = {}
    for name, make in factories.items():
        try:
            model = make().fit(train, cfg.calibration_periods, cfg.random_state)
        except TrainingDataError:
            continue  # e.g. one class only so far: no prediction from this fit
        through = max(train["period_start"])
        for t, test in tests.items():
            pred = model.predict(test)
            out[(t, name)] = pd.DataFrame({
                "village_id": test["village_id"].to_numpy(),
                "township_id": test["township_id"].to_numpy(),
                "period_start": t,
                "model": name,
                "score": pred["score"].to_numpy(),
                "probability": pred["probability"].to_numpy(),
                "expected_weighted_count": pred["expected_weighted_count"].to_numpy(),
                "actual_weighted": test[LABEL_WEIGHTED].astype(float).to_numpy(),
                "actual_label": test[LABEL_HIGH].astype(bool).to_numpy(),
                "trained_through": through,
            })
    return out


def run_backtest(
    panel: pd.DataFrame,
    factories: dict[str, ModelFactory],
    cfg: BacktestConfig,
    progress: Callable[[int, int, object], None] | None = None,
) -> pd.DataFrame:
    """Out-of-sample predictions of every model at every origin.

    Refit groups (an origin that refits and the `retrain_every - 1` origins its fits serve) do
    not depend on each other: `cfg.workers` threads work on several at once, each fit on one
    OpenMP thread then. Every fit sees exactly the rows it sees serially, and the rows come out
    in the serial order (origin, then model), so the predictions are the same for any count.

    Returns village_id, township_id, period_start, model, score, probability,
    expected_weighted_count, actual_weighted, actual_label, trained_through.
    """
    ts = origins(panel, cfg)
    step = max(1, cfg.retrain_every)
    groups = [ts[k:k + step] for k in range(0, len(ts), step)]
    found: dict[tuple[object, str], pd.DataFrame] = {}
    done = 0

    def collect(group: Sequence, frames: dict[tuple[object, str], pd.DataFrame]) -> None:
        nonlocal done
        found.update(frames)
        done += len(group)
        if progress:
            progress(done, len(ts), group[-1])

    workers = min(max(1, cfg.workers), len(groups))
    if workers == 1:
        for group in groups:
            collect(group, _group_predictions(panel, factories, cfg, group))
    else:
        with single_threaded_fits(), ThreadPoolExecutor(workers, thread_name_prefix="backtest") as pool:
            futures = {pool.submit(_group_predictions, panel, factories, cfg, g): g for g in groups}
            for future in as_completed(futures):
                collect(futures[future], future.result())
    out = [found[(t, name)] for t in ts for name in factories if (t, name) in found]
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
