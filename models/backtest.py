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


def metric_periods(metrics: pd.DataFrame, metric: str, coverage: float) -> list:
    """The backtest periods holding a value of the metric at the coverage, oldest first."""
    m = _metric_rows(metrics, metric, coverage)
    return sorted(m["period_start"].unique())


def _metric_rows(metrics: pd.DataFrame, metric: str, coverage: float) -> pd.DataFrame:
    return metrics[
        (metrics["metric"] == metric)
        & np.isclose(metrics["coverage"].astype(float).fillna(-1), coverage)
        & metrics["period_start"].notna()
    ]


@dataclass(frozen=True)
class Windows:
    """The backtest's periods split in time: the champion is chosen on `selection` and reported
    on `report`, the later periods no choice has seen."""

    selection: list
    report: list

    @property
    def held_out(self) -> bool:
        """False when the backtest was too short to keep the two apart (both are all periods)."""
        return not set(self.selection) & set(self.report)


def split_windows(periods: Sequence, recent_periods: int, report_periods: int) -> Windows:
    """The latest `report_periods` periods (at most half of them) for reporting, the
    `recent_periods` before those for choosing. With fewer than two periods there is nothing to
    hold out: both windows are every period (Windows.held_out is False)."""
    periods = sorted(periods)
    if len(periods) < 2:
        return Windows(list(periods), list(periods))
    n_report = max(1, min(int(report_periods), len(periods) // 2))
    report = periods[-n_report:]
    before = periods[:-n_report]
    return Windows(before[-max(1, int(recent_periods)):], report)


def window_mean(metrics: pd.DataFrame, metric: str, coverage: float, periods: Sequence) -> pd.Series:
    """Mean of a metric per model over these backtest periods (NaN skipped), highest first;
    equal means in model-name order, so a choice made on it is deterministic."""
    m = _metric_rows(metrics, metric, coverage)
    m = m[m["period_start"].isin(list(periods))]
    means = m.groupby("model")["value"].mean()
    order = sorted(means.index, key=lambda k: (-means[k] if means[k] == means[k] else float("inf"), k))
    return means.reindex(order)


def recent_mean(
    metrics: pd.DataFrame, metric: str, coverage: float, recent_periods: int
) -> pd.Series:
    """Mean of a metric per model over the latest `recent_periods` backtest periods (NaN skipped)."""
    periods = metric_periods(metrics, metric, coverage)[-recent_periods:]
    return window_mean(metrics, metric, coverage, periods)


def paired_differences(metrics: pd.DataFrame, metric: str, coverage: float, model: str, other: str,
                       periods: Sequence) -> pd.Series:
    """Per period: model's metric minus other's, over the periods where both have a value."""
    m = _metric_rows(metrics, metric, coverage)
    m = m[m["period_start"].isin(list(periods)) & m["model"].isin([model, other])]
    wide = m.pivot_table(index="period_start", columns="model", values="value", aggfunc="mean")
    if model not in wide or other not in wide:
        return pd.Series(dtype=float)
    return (wide[model] - wide[other]).dropna().sort_index()


def bootstrap_interval(differences: Sequence[float], draws: int = 2000, level: float = 0.90,
                       seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of per-period differences and a percentile bootstrap interval
    of it (periods resampled with replacement; seeded, so a rerun gives the same interval).
    One difference: the interval is that value; none: NaNs."""
    d = np.asarray(list(differences), dtype=float)
    if len(d) == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(d.mean())
    if len(d) == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(int(draws), len(d)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return mean, float(low), float(high)


def best_baseline(metrics: pd.DataFrame, metric: str, coverage: float, periods: Sequence,
                  baselines: Sequence[str]) -> str | None:
    """The baseline with the best mean on these periods (ties by name), None without one."""
    means = window_mean(metrics, metric, coverage, periods)
    means = means[means.index.isin(list(baselines))].dropna()
    return None if means.empty else str(means.index[0])


def comparison_rows(metrics: pd.DataFrame, metric: str, coverage: float, windows: Windows,
                    baselines: Sequence[str], draws: int = 2000) -> pd.DataFrame:
    """Every model against the best simple baseline, on the report periods: one row per model
    and period with the paired difference (metric `<metric>_vs_best_baseline`), and per model
    three pooled rows (period_start null): its mean and the bootstrap 90% interval's ends
    (`..._mean`, `..._low90`, `..._high90`). The best baseline is chosen on the selection
    periods, so nothing about the reported periods chose it."""
    cols = ["model", "period_start", "metric", "coverage", "bin", "value"]
    base = best_baseline(metrics, metric, coverage, windows.selection, baselines)
    if base is None:
        return pd.DataFrame(columns=cols)
    name = f"{metric}_vs_best_baseline"
    rows = []
    for model in sorted(set(_metric_rows(metrics, metric, coverage)["model"])):
        diff = paired_differences(metrics, metric, coverage, model, base, windows.report)
        rows += [(model, p, name, coverage, None, float(v)) for p, v in diff.items()]
        mean, low, high = bootstrap_interval(diff.to_numpy(), draws)
        rows += [(model, None, f"{name}_{k}", coverage, None, v)
                 for k, v in (("mean", mean), ("low90", low), ("high90", high))]
    return pd.DataFrame(rows, columns=cols)


def choose_champion(
    scores: pd.Series, incumbent: str | None, min_improvement: float = 0.0,
    differences: Callable[[str, str], Sequence[float]] | None = None, draws: int = 2000,
) -> tuple[str, str]:
    """The best model by `scores` unless the incumbent holds: (champion, why).

    With `differences` (per-period paired differences of one model against another on the
    selection periods), a challenger replaces the incumbent only when the low end of the
    bootstrap 90% interval of its mean difference is above `min_improvement`: a gain the
    period-to-period noise could make does not change the model in use. Without it, the plain
    difference of the means is compared with `min_improvement`.
    """
    scores = scores.dropna()
    if scores.empty:
        raise BacktestError("no model has a selection metric: nothing to choose from")
    best = str(scores.idxmax())
    if incumbent is None or incumbent not in scores.index:
        return best, f"{best} has the best selection metric ({scores[best]:.4f}); no incumbent"
    if best == incumbent:
        return best, f"incumbent {best} is still the best ({scores[best]:.4f})"
    if differences is not None:
        diff = list(differences(best, incumbent))
        mean, low, high = bootstrap_interval(diff, draws)
        if len(diff) >= 2 and low > min_improvement:
            return best, (
                f"challenger {best} ({scores[best]:.4f}) beats incumbent {incumbent} "
                f"({scores[incumbent]:.4f}): paired gain {mean:.4f} over {len(diff)} periods, "
                f"90% interval {low:.4f} to {high:.4f}, above {min_improvement}"
            )
        return incumbent, (
            f"incumbent {incumbent} ({scores[incumbent]:.4f}) kept: challenger {best} "
            f"({scores[best]:.4f}) gains {mean:.4f} over {len(diff)} periods, 90% interval "
            f"{low:.4f} to {high:.4f}, not above {min_improvement}"
        )
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
