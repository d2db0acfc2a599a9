"""Calibrated models: held-out calibration, ranking kept, artifacts that reproduce their scores."""

from __future__ import annotations

import numpy as np
import pytest

from models.baselines import BaselineSpec
from models.classifiers import RiskModel, TrainingDataError
from models.registry import ArtifactError, load_artifact, write_artifact


@pytest.mark.parametrize("kind", ["logistic", "hgb", "hgb_count"])
def test_classifier_calibrates_on_the_last_periods_and_keeps_the_ranking(panel, kind):
    train = panel[panel["period_start"] < panel["period_start"].max()]
    model = RiskModel.classifier(kind, kind, ["x_rate", "hist_prev"], {"max_iter": 30})
    model.fit(train, calibration_periods=4)
    # 17 labelled periods: the base model sees the first 13, calibration the last 4
    assert model.train_periods == ("2020-01-01", "2021-05-01")
    assert model.calibration_periods == ("2021-02-01", "2021-05-01")
    pred = model.predict(panel)
    assert pred["probability"].between(0, 1).all()
    order_score = np.argsort(-pred["score"].to_numpy(), kind="stable")
    assert np.all(np.diff(pred["probability"].to_numpy()[order_score]) <= 1e-12)  # monotone
    # the rate drives the label: high-rate villages outrank low-rate ones on average
    top = panel.assign(p=pred["probability"]).groupby("village_id")["p"].mean()
    assert top[["v18", "v19"]].min() > top[["v00", "v01"]].max()


def test_baseline_model_scores_its_weighted_history(panel):
    spec = BaselineSpec("two_cols", (("hist_prev", 1.0), ("x_rate", 0.5)))
    model = RiskModel.baseline(spec).fit(panel, calibration_periods=3)
    row = panel.iloc[[5]]
    expected = row["hist_prev"].iloc[0] + 0.5 * row["x_rate"].iloc[0]
    assert model.predict(row)["score"].iloc[0] == pytest.approx(expected)


def test_artifact_reloads_and_reproduces_scores(panel, tmp_path):
    model = RiskModel.classifier("hgb", "hgb", ["x_rate", "hist_prev"], {"max_iter": 20})
    model.fit(panel, calibration_periods=4)
    path = write_artifact(model, str(tmp_path / "v1-hgb"))
    assert path == str(tmp_path / "v1-hgb" / "model.joblib")
    again = load_artifact(path)
    assert again.features == model.features
    np.testing.assert_array_equal(again.predict(panel).to_numpy(), model.predict(panel).to_numpy())
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(str(tmp_path / "nowhere.joblib"))
    # the registry's hash: the same file loads, a changed one is refused before unpickling
    import hashlib

    from models.registry import file_sha256

    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert file_sha256(path) == sha and load_artifact(path, sha).features == model.features
    with open(path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match=f"was changed after training: its SHA-256 is [0-9a-f]{{64}}, "
                                            f"the registry recorded {sha}"):
        load_artifact(path, sha)


def test_one_class_training_window_is_refused(panel):
    flat = panel.assign(label_high_risk_next=panel["label_high_risk_next"].map(
        lambda v: None if v is None else False))
    model = RiskModel.classifier("logistic", "logistic", ["x_rate"], {})
    with pytest.raises(TrainingDataError, match="one class"):
        model.fit(flat, calibration_periods=3)
    with pytest.raises(TrainingDataError, match="needs columns"):
        RiskModel.classifier("logistic", "logistic", ["nope"], {}).fit(panel, 3)


def _exposure_panel(rate, periods: int = 14):
    """Villages whose next-period count is exactly exposure x rate(x): y = pop x exp(-6 + 0.8 x)."""
    from datetime import date

    import pandas as pd

    rows = []
    for i in range(30):
        x, pop = (i % 10) / 3.0, 200.0 + 100.0 * (i % 7)
        for t in range(periods):
            rows.append({"village_id": f"v{i:02d}", "township_id": "t0", "period_start": date(2020 + t // 12, t % 12 + 1, 1),
                         "x": x, "resident_pop": pop, "label_weighted_next": pop * rate(x)})
    df = pd.DataFrame(rows)
    df["label_high_risk_next"] = df["label_weighted_next"] > df["label_weighted_next"].quantile(0.9)
    return df


def test_poisson_glm_recovers_a_rate_and_scales_with_the_exposure():
    rate = lambda x: np.exp(-6.0 + 0.8 * x)  # noqa: E731
    panel = _exposure_panel(rate)
    model = RiskModel.classifier("glm", "poisson_glm", ["x", "resident_pop"],
                                 {"exposure": "resident_pop", "alpha": 0.0, "tol": 1e-10}).fit(panel, calibration_periods=3)
    rows = panel[panel["period_start"] == panel["period_start"].max()].reset_index(drop=True)
    got = model.predict(rows)["score"].to_numpy()
    # the counts are exactly pop x exp(-6 + 0.8 x) (resident_pop also an input, with no effect of
    # its own): the fit gives them back
    np.testing.assert_allclose(got, rows["resident_pop"] * rate(rows["x"]), rtol=1e-3)
    # the offset: the same village with twice the residents expects twice the incidents
    doubled = rows.assign(resident_pop=rows["resident_pop"] * 2)
    np.testing.assert_allclose(model.predict(doubled)["score"].to_numpy() / got, 2.0, rtol=1e-3)
    # a missing population counts as the training median (500)
    missing = rows.iloc[[0]].assign(resident_pop=np.nan)
    median_pop = float(np.median(panel["resident_pop"]))
    assert model.params["_exposure_median"] == median_pop == 500.0
    assert model.predict(missing)["score"].iloc[0] > 0


def test_poisson_glm_needs_its_exposure_among_the_inputs():
    panel = _exposure_panel(lambda x: np.exp(-6.0 + 0.8 * x))
    model = RiskModel.classifier("glm", "poisson_glm", ["x"], {"exposure": "resident_pop"})
    with pytest.raises(TrainingDataError, match="exposure column resident_pop is not among its inputs"):
        model.fit(panel, calibration_periods=3)


def test_boosted_models_never_lower_the_risk_when_a_constrained_input_rises(panel):
    model = RiskModel.classifier("hgb_count", "hgb_count", ["x_rate", "hist_prev"],
                                 {"max_iter": 40, "increasing": ["hist_"]}).fit(panel, calibration_periods=3)
    assert list(model.base.monotonic_cst) == [0, 1]
    grid = panel.iloc[[0] * 25].assign(hist_prev=np.arange(25.0))
    assert np.all(np.diff(model.predict(grid)["score"].to_numpy()) >= 0)
