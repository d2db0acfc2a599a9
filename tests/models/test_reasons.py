"""Reasons: occlusion against the township mean, in plain words from the templates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.baselines import BaselineSpec
from models.classifiers import RiskModel
from models.reasons import ReasonTemplateError, attributions, render, top_reasons, township_baseline

TEMPLATES = [
    {"pattern": "^hist_nb_", "text": "incidents in neighbouring villages {change}"},
    {"pattern": "days_since_patrol", "text": "no patrol for {value:.0f} days"},
    {"pattern": ".", "text": "{label} {change} the township average"},
]


def _model() -> RiskModel:
    spec = BaselineSpec("hot", (("hist_own_decayed", 1.0), ("hist_nb_decayed", 0.5)))
    return RiskModel.baseline(spec)


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village_id": ["a", "b", "c"], "township_id": ["t", "t", "t"],
            "period_start": [date(2021, 1, 1)] * 3,
            "hist_own_decayed": [3.0, 3.0, 0.0], "hist_nb_decayed": [8.0, 0.0, 4.0],
        }
    )


def test_attribution_is_the_margin_drop_at_the_township_mean():
    rows, model = _rows(), _model()
    base = pd.concat([rows[["township_id", "period_start"]], township_baseline(rows, model.features)], axis=1)
    # township means: own 2, neighbours 4; margin = log1p(own + 0.5 * nb)
    contrib = attributions(model, rows, base)
    expected_a = [np.log1p(7) - np.log1p(2 + 4), np.log1p(7) - np.log1p(3 + 2)]
    assert contrib[0] == pytest.approx(expected_a)
    reasons = top_reasons(model, rows, base, TEMPLATES, n=3)
    # village a: neighbours (8 vs 4: up 100%) push more than its own count (3 vs 2: up 50%)
    assert reasons[0] == [
        "incidents in neighbouring villages 100% above",
        "recent incidents (decayed count) 50% above the township average",
    ]
    assert reasons[1] == ["recent incidents (decayed count) 50% above the township average"]
    assert reasons[2] == []  # nothing above its township's average raises c's risk


def test_render_templates_and_edge_cases():
    assert render("days_since_patrol", 30.0, 5.0, TEMPLATES) == "no patrol for 30 days"
    assert render("camera_per_km2", 0.5, 1.0, TEMPLATES) == "camera per km2 50% below the township average"
    assert render("hist_nb_decayed", 2.0, 0.0, TEMPLATES) == "incidents in neighbouring villages above"
    labels = [
        {"pattern": "inc_sev_1", "text": "severity-weighted incidents last month"},
        {"pattern": "inc_([a-z]+)_(\\d+)", "text": "{1} incidents in the last {2} months"},
    ]
    assert render("inc_fraud_6", 4.0, 1.0, TEMPLATES, labels) == (
        "fraud incidents in the last 6 months 300% above the township average"
    )
    assert render("inc_sev_1", 1.0, 2.0, TEMPLATES, labels) == (
        "severity-weighted incidents last month 50% below the township average"
    )
    with pytest.raises(ReasonTemplateError):
        render("x", 1.0, 1.0, [{"pattern": ".", "text": "{nope}"}])
