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
