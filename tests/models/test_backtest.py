"""Rolling origin: never a future row in training; metrics and champion choice by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.backtest import (
    BacktestConfig,
    BacktestError,
    Windows,
    bootstrap_interval,
    choose_champion,
    comparison_rows,
    metrics_table,
    origins,
    paired_differences,
    recent_mean,
    run_backtest,
    split_windows,
)
from models.baselines import BaselineSpec
from models.classifiers import RiskModel


class SpyModel(RiskModel):
    """A baseline that records the periods it was trained on."""

    seen: list = []

    def fit(self, panel, calibration_periods, random_state=0):
        SpyModel.seen.append(sorted(panel["period_start"].unique()))
        return super().fit(panel, calibration_periods, random_state)


def test_rolling_origin_trains_on_the_past_only(panel):
    SpyModel.seen = []
    spec = BaselineSpec("prev", (("hist_prev", 1.0),))
    cfg = BacktestConfig(warmup_periods=12, retrain_every=2, calibration_periods=3)
    preds = run_backtest(panel, {"prev": lambda: SpyModel.baseline(spec)}, cfg)
    ts = origins(panel, cfg)
    assert ts == [date(2021, 1 + m, 1) for m in range(5)]  # periods 13..17 of 17 labelled
    assert sorted(preds["period_start"].unique()) == ts
    assert len(SpyModel.seen) == 3  # refit at origins 1, 3, 5
    assert [max(s) for s in SpyModel.seen] == [date(2020, 12, 1), date(2021, 2, 1), date(2021, 4, 1)]
    assert (pd.to_datetime(preds["trained_through"]) < pd.to_datetime(preds["period_start"])).all()
    # the baseline's score is the row's own count (hist_prev): check one by hand
    row = panel[(panel["village_id"] == "v07") & (panel["period_start"] == ts[2])]
    got = preds[(preds["village_id"] == "v07") & (preds["period_start"] == ts[2])]
    assert got["score"].iloc[0] == row["hist_prev"].iloc[0]
    assert got["actual_weighted"].iloc[0] == row["label_weighted_next"].iloc[0]


def test_a_learned_model_never_sees_what_came_after_its_origin(panel):
    """Leakage, on a learned model (not a baseline): scramble every label and input of the rows
    from origin 2021-03 on, and the predictions made at the origins before it do not change by a
    bit; at that origin and after they do. A row of period t carries the count of t + 1 as its
    label, so a fit for origin T may only use rows before T."""
    cfg = BacktestConfig(warmup_periods=12, retrain_every=1, calibration_periods=3)
    models = {"logistic": lambda: RiskModel.classifier("logistic", "logistic", ["x_rate", "hist_prev"],
                                                      {"C": 1.0, "max_iter": 500})}
    cut = date(2021, 3, 1)
    # the rows from the cut on whose label is known (the last period's stays unknown, so the
    # origins are the same)
    later = (panel["period_start"] >= cut) & panel["label_weighted_next"].notna()
    scrambled = panel.copy()
    rng = np.random.default_rng(0)
    for c in ("x_rate", "hist_prev", "label_weighted_next"):
        scrambled.loc[later, c] = rng.permutation(scrambled.loc[later, c].to_numpy())
    scrambled.loc[later, "label_high_risk_next"] = [not v for v in scrambled.loc[later, "label_high_risk_next"]]
    a = run_backtest(panel, models, cfg).sort_values(["period_start", "village_id"]).reset_index(drop=True)
    b = run_backtest(scrambled, models, cfg).sort_values(["period_start", "village_id"]).reset_index(drop=True)
    before = pd.to_datetime(a["period_start"]) < pd.Timestamp(cut)
    assert sorted(a.loc[before, "period_start"].unique()) == [date(2021, 1, 1), date(2021, 2, 1)]
    pd.testing.assert_frame_equal(a[before], b[before])
    assert not np.allclose(a.loc[~before, "probability"], b.loc[~before, "probability"])


def test_backtest_needs_more_periods_than_the_warmup(panel):
    with pytest.raises(BacktestError, match="warm-up"):
        origins(panel, BacktestConfig(warmup_periods=17))


def _preds(model: str, period: date, scores: list[float], actual: list[float]) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame(
        {
            "village_id": [f"v{i}" for i in range(n)], "period_start": period, "model": model,
            "score": scores, "probability": np.clip(np.array(scores) / 10, 0, 1),
            "actual_weighted": actual, "actual_label": [a >= 5 for a in actual],
        }
    )


def test_metrics_table_and_selection_by_hand():
    p1, p2 = date(2021, 1, 1), date(2021, 2, 1)
    actual1, actual2 = [9, 0, 5, 0, 0, 0, 0, 0, 0, 1], [0, 6, 0, 0, 0, 0, 0, 0, 0, 0]
    good = [9, 1, 8, 0, 0, 0, 0, 0, 0, 0]
    preds = pd.concat(
        [
            _preds("a", p1, good, actual1), _preds("a", p2, good, actual2),
            _preds("b", p1, list(range(10)), actual1), _preds("b", p2, list(range(10)), actual2),
        ]
    )
    m = metrics_table(preds, None, [0.2], bins=2)
    pei = m[(m["metric"] == "pei_star")].set_index(["model", "period_start"])["value"]
    # model a flags v0 and v2: 14 of the best 14 in p1; 0 of 6 in p2
    assert pei[("a", p1)] == pytest.approx(1.0) and pei[("a", p2)] == pytest.approx(0.0)
    # model b flags v9 and v8: 1 of 14 in p1; 0 of 6 in p2
    assert pei[("b", p1)] == pytest.approx(1 / 14) and pei[("b", p2)] == pytest.approx(0.0)
    mean = recent_mean(m, "pei_star", 0.2, recent_periods=1)  # latest period only: a tie at 0
    assert mean.to_dict() == {"a": 0.0, "b": 0.0}
    mean = recent_mean(m, "pei_star", 0.2, recent_periods=12)
    assert mean.to_dict() == pytest.approx({"a": 0.5, "b": 1 / 28})
    pooled = m[m["period_start"].isna() & (m["model"] == "a") & (m["metric"] == "reliability_rows")]
    assert pooled["value"].sum() == 20  # every prediction in one of the bins
    assert choose_champion(mean, None)[0] == "a"


def test_challenger_replaces_the_champion_only_when_better():
    scores = pd.Series({"hgb": 0.70, "logistic": 0.68, "baseline_ewm": 0.60})
    assert choose_champion(scores, "logistic")[0] == "hgb"
    assert choose_champion(scores, "logistic", min_improvement=0.05)[0] == "logistic"
    assert choose_champion(scores, "hgb")[0] == "hgb"
    tie = pd.Series({"hgb": 0.70, "logistic": 0.70})
    assert choose_champion(tie, "logistic")[0] == "logistic"
    assert choose_champion(scores, "retired_model")[0] == "hgb"


def _pei(values: dict[str, list[float]], start: date = date(2021, 1, 1)) -> pd.DataFrame:
    """pei_star rows at coverage 0.1: per model, one value per month from `start`."""
    rows = [(m, date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1), "pei_star", 0.1, None, v)
            for m, vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=["model", "period_start", "metric", "coverage", "bin", "value"])


def test_the_periods_are_split_into_selection_then_report():
    ps = [date(2021, m, 1) for m in range(1, 11)]  # 10 periods
    w = split_windows(ps, recent_periods=3, report_periods=4)
    assert w.report == ps[6:] and w.selection == ps[3:6] and w.held_out
    w = split_windows(ps, recent_periods=12, report_periods=12)  # the report half at most
    assert w.report == ps[5:] and w.selection == ps[:5]
    assert split_windows(ps[:1], 12, 12) == Windows(ps[:1], ps[:1]) and not split_windows(ps[:1], 12, 12).held_out
    assert split_windows(ps[:3], 12, 12) == Windows(ps[:2], ps[2:3])  # 3 // 2 = 1 report period


def test_paired_differences_and_their_bootstrap_interval_by_hand():
    m = _pei({"hgb": [0.5, 0.7, 0.6, 0.9], "baseline_ma12": [0.4, 0.7, 0.5, 0.6]})
    ps = sorted(m["period_start"].unique())
    diff = paired_differences(m, "pei_star", 0.1, "hgb", "baseline_ma12", ps)
    assert diff.round(10).tolist() == [0.1, 0.0, 0.1, 0.3]
    mean, low, high = bootstrap_interval(diff.to_numpy(), draws=4000)
    assert mean == pytest.approx(0.125)
    # resampled means of four values from {0, 0.1, 0.1, 0.3} lie in [0, 0.3]; the 90% interval is
    # inside and holds the mean
    assert 0.0 <= low < 0.125 < high <= 0.3
    assert bootstrap_interval([0.2, 0.2, 0.2]) == pytest.approx((0.2, 0.2, 0.2))  # no spread, no width
    assert bootstrap_interval([0.4]) == (0.4, 0.4, 0.4)
    nan = bootstrap_interval([])
    assert all(v != v for v in nan)
    # the same seed, the same interval
    assert bootstrap_interval(diff.to_numpy(), draws=500) == bootstrap_interval(diff.to_numpy(), draws=500)


def test_the_comparison_with_the_best_baseline_is_chosen_before_and_reported_after():
    # selection periods Jan-Feb, report periods Mar-Apr (4 periods: report_periods 2)
    m = _pei({
        "hgb": [0.60, 0.60, 0.80, 0.50],
        "baseline_ma3": [0.50, 0.50, 0.30, 0.30],   # best baseline on Jan-Feb (0.50)
        "baseline_ma12": [0.40, 0.40, 0.90, 0.90],  # would be best on Mar-Apr: not chosen
    })
    w = split_windows(sorted(m["period_start"].unique()), recent_periods=2, report_periods=2)
    rows = comparison_rows(m, "pei_star", 0.1, w, ["baseline_ma3", "baseline_ma12"], draws=200)
    per = rows[rows["period_start"].notna()]
    got = {(r.model, r.period_start): round(r.value, 10) for r in per.itertuples()}
    assert got == {
        ("baseline_ma12", date(2021, 3, 1)): 0.6, ("baseline_ma12", date(2021, 4, 1)): 0.6,
        ("baseline_ma3", date(2021, 3, 1)): 0.0, ("baseline_ma3", date(2021, 4, 1)): 0.0,
        ("hgb", date(2021, 3, 1)): 0.5, ("hgb", date(2021, 4, 1)): 0.2,
    }
    assert set(per["metric"]) == {"pei_star_vs_best_baseline"}
    pooled = rows[rows["period_start"].isna()].set_index(["model", "metric"])["value"]
    assert pooled[("hgb", "pei_star_vs_best_baseline_mean")] == pytest.approx(0.35)
    assert 0.2 <= pooled[("hgb", "pei_star_vs_best_baseline_low90")] <= 0.35 <= pooled[("hgb", "pei_star_vs_best_baseline_high90")] <= 0.5


def test_a_challenger_needs_a_gain_above_the_noise():
    scores = pd.Series({"hgb": 0.70, "logistic": 0.68})
    steady = {("hgb", "logistic"): [0.02, 0.03, 0.01, 0.02, 0.02, 0.03]}
    noisy = {("hgb", "logistic"): [0.30, -0.25, 0.20, -0.22, 0.15, -0.06]}  # mean 0.02 as well
    champ, note = choose_champion(scores, "logistic", differences=lambda a, b: steady[(a, b)])
    assert champ == "hgb" and "paired gain 0.0217 over 6 periods" in note
    champ, note = choose_champion(scores, "logistic", differences=lambda a, b: noisy[(a, b)])
    assert champ == "logistic" and "gains 0.0200 over 6 periods" in note and "not above 0.0" in note
    # one period is never enough evidence to switch
    assert choose_champion(scores, "logistic", differences=lambda a, b: [0.5])[0] == "logistic"
    assert choose_champion(scores, None, differences=lambda a, b: noisy[(a, b)])[0] == "hgb"


def test_refit_groups_in_threads_give_the_serial_predictions(panel):
    from models.backtest import fit_workers

    inputs = ["hist_prev"]
    factories = {
        "prev": lambda: RiskModel.baseline(BaselineSpec("prev", (("hist_prev", 1.0),))),
        "logistic": lambda: RiskModel.classifier("logistic", "logistic", inputs, {"C": 0.5}),
        "hgb": lambda: RiskModel.classifier("hgb", "hgb", inputs, {"max_iter": 20, "min_samples_leaf": 5}),
    }
    serial = run_backtest(panel, factories, BacktestConfig(warmup_periods=12, retrain_every=2,
                                                           calibration_periods=3, workers=1))
    seen: list[tuple[int, int]] = []
    threaded = run_backtest(panel, factories, BacktestConfig(warmup_periods=12, retrain_every=2,
                                                             calibration_periods=3, workers=3),
                            progress=lambda i, n, t: seen.append((i, n)))
    pd.testing.assert_frame_equal(threaded, serial)  # same rows, same order, same values
    assert list(serial["model"].unique()) == ["prev", "logistic", "hgb"]
    # three refit groups of origins (2, 2, 1), in whatever order they finish: progress counts
    # the origins done, once per group, up to all five
    assert len(seen) == 3 and seen[-1] == (5, 5) and seen[0][0] in (1, 2)
    assert [i for i, _ in seen] == sorted({i for i, _ in seen})
    assert fit_workers(None) >= 1 and fit_workers("auto") >= 1 and fit_workers(2) == 2
    with pytest.raises(ValueError, match="at least 1"):
        fit_workers(0)
