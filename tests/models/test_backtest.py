"""Rolling origin: never a future row in training; metrics and champion choice by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.backtest import (
    BacktestConfig,
    BacktestError,
    choose_champion,
    metrics_table,
    origins,
    recent_mean,
    run_backtest,
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
