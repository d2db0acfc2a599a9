"""Reasons: occlusion against the township mean, in plain words from the templates."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.baselines import BaselineSpec, history_labels
from models.classifiers import RiskModel
from models.reasons import (
    ReasonTemplateError,
    attributions,
    history_labels_zh,
    reason_labels,
    reason_templates,
    render,
    top_reasons,
    township_baseline,
)

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
    reasons = top_reasons(model, rows, base, TEMPLATES, n=3, labels=history_labels([3], "month"))
    # village a: neighbours (8 vs 4: up 100%) push more than its own count (3 vs 2: up 50%)
    assert reasons[0] == [
        "incidents in neighbouring villages 100% above",
        "recent incidents (older months count less) 50% above the township average",
    ]
    assert reasons[1] == ["recent incidents (older months count less) 50% above the township average"]
    assert reasons[2] == []  # nothing above its township's average raises c's risk


def test_render_templates_and_edge_cases():
    labels = {"hist_nb_decayed": "incidents nearby", "inc_fraud_6": "fraud incidents over the last 6 months"}
    assert render("days_since_patrol", 30.0, 5.0, TEMPLATES) == "no patrol for 30 days"
    assert render("hist_nb_decayed", 2.0, 0.0, TEMPLATES) == "incidents in neighbouring villages above"
    assert render("inc_fraud_6", 4.0, 1.0, TEMPLATES, labels) == (
        "fraud incidents over the last 6 months 300% above the township average"
    )
    # An input the dictionary does not name is spelt out from its name (last resort).
    assert render("camera_per_km2", 0.5, 1.0, TEMPLATES) == "camera per km2 50% below the township average"
    with pytest.raises(ReasonTemplateError):
        render("x", 1.0, 1.0, [{"pattern": ".", "text": "{nope}"}])


def _default_inputs(grain: str, language: str = "en") -> tuple[dict[str, str], list[str]]:
    """(labels in `language`, every input a model can use) under the shipped configuration."""
    from conf import load_settings
    from features.dictionary import village_feature_columns
    from models.baselines import history_columns

    settings = load_settings()
    fconf, mconf = settings.section("features"), settings.section("models")
    labels = reason_labels(fconf, mconf, grain, language)
    keys = {"village_id", "township_id", "period_start"}
    inputs = [
        c.name for c in village_feature_columns(fconf, grain)
        if c.name not in keys and not c.name.startswith("label_") and c.type != "date"
    ]
    windows = [int(w) for w in mconf["baselines"]["moving_average_windows"]]
    return labels, inputs + history_columns(windows)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("grain", ["month", "week", "quarter", "year"])
def test_no_reason_contains_a_column_name(grain, language):
    from conf import load_settings

    templates = reason_templates(load_settings().section("models"), language)
    labels, inputs = _default_inputs(grain, language)
    # Column names that are identifiers (an underscore or a digit); "households" is a word.
    identifiers = {n for n in inputs if re.search(r"[_0-9]", n)}
    for name in inputs:
        assert labels.get(name), f"{name} has no label in the data dictionary"
        for value, base in ((5.0, 2.0), (1.0, 4.0), (3.0, 0.0)):
            text = render(name, value, base, templates, labels)
            words = set(re.findall(r"[A-Za-z0-9_]+", text))
            assert "_" not in text and not identifiers & words, f"{name}: {text!r} names a column"
            if language == "zh":  # Chinese words only, besides numbers
                assert not re.search(r"[A-Za-z]", text), f"{name}: {text!r} is not all Chinese"


def test_labels_put_windows_and_rates_in_words():
    labels, _ = _default_inputs("month")
    from conf import load_settings

    templates = reason_templates(load_settings().section("models"), "en")
    # police patrol hours per 1,000 residents, 3-month window: 1.08 h against 2.00 h is 46% below
    assert render("police_hours_per_1000_3", 1.08, 2.0, templates, labels) == (
        "police patrol hours per 1,000 residents over the last 3 months 46% below the township average"
    )
    assert render("inc_property_1", 3.0, 1.5, templates, labels) == (
        "property incidents over the last month 100% above the township average"
    )
    assert render("periods_since_serious", 1.0, 6.6, templates, labels) == (
        "months since the last serious incident: 1, against 7 on the township average"
    )
    weekly, _ = _default_inputs("week")
    assert weekly["hist_ma12"] == "incidents per week over the last 12 weeks"


def test_chinese_reasons_put_windows_and_rates_in_words():
    from conf import load_settings

    labels, _ = _default_inputs("month", "zh")
    templates = reason_templates(load_settings().section("models"), "zh")
    assert render("police_hours_per_1000_3", 1.08, 2.0, templates, labels) == "近3个月每千人警力巡逻小时数低于乡镇平均46%"
    assert render("inc_property_1", 3.0, 1.5, templates, labels) == "近1个月侵财类案件数高出乡镇平均100%"
    assert render("periods_since_serious", 1.0, 6.6, templates, labels) == "距上次严重案件的月数：1，乡镇平均为7"
    assert render("patrol_hours_joint_defense_3", 2.0, 0.0, templates, labels) == "近3个月联防队巡逻小时数高于乡镇平均"
    weekly, _ = _default_inputs("week", "zh")
    assert weekly["hist_ma12"] == "近12周周均案件数" and weekly["inc_all_last_year"] == "去年同周案件数"


def test_chinese_reasons_of_a_hand_made_row():
    """top_reasons with the shipped Chinese templates: the same drivers as in English."""
    from conf import load_settings

    rows, model = _rows(), _model()
    base = pd.concat([rows[["township_id", "period_start"]], township_baseline(rows, model.features)], axis=1)
    templates = reason_templates(load_settings().section("models"), "zh")
    reasons = top_reasons(model, rows, base, templates, n=3, labels=history_labels_zh([3], "month"))
    assert reasons[0] == ["相邻村近期案件数（按时间衰减累计）高出乡镇平均100%", "近期案件数（按时间衰减累计）高出乡镇平均50%"]
    assert reasons[2] == []


def test_quarter_and_year_history_labels():
    # English: models.baselines.history_labels; Chinese: the data dictionary's words per grain
    assert history_labels([4], "quarter")["hist_ma4"] == "incidents per quarter over the last 4 quarters"
    assert history_labels([3], "year")["hist_prev"] == "incidents in the last year"
    assert history_labels_zh([4], "quarter") == {
        "hist_prev": "上季度案件数", "hist_ma4": "近4个季度季均案件数",
        "hist_ewm": "近期案件数（指数加权，越近权重越大）", "hist_own_decayed": "近期案件数（按时间衰减累计）",
        "hist_nb_decayed": "相邻村近期案件数（按时间衰减累计）"}
    assert (history_labels_zh([3], "year")["hist_prev"], history_labels_zh([3], "year")["hist_ma3"]) == (
        "上年度案件数", "近3年年均案件数")
    labels, _ = _default_inputs("year", "zh")
    assert (labels["inc_all_last_year"], labels["hist_ma12"]) == ("上一年案件数", "近12年年均案件数")
    with pytest.raises(ValueError, match="setting 'period' is 'day'"):
        history_labels_zh([3], "day")


def test_chinese_history_labels_cover_the_english_ones():
    for grain in ("month", "week", "quarter", "year"):
        assert set(history_labels_zh([3, 6, 12], grain)) == set(history_labels([3, 6, 12], grain))
