"""Plain-word reasons: which inputs push a village's risk up, against its township's average.

Attribution is model-agnostic and local: for each input j, the drop in the model's margin
(logit, or log count for baselines) when the village's value of j is replaced by the mean of
its township in the same period. The largest positive drops are the drivers; each is put in
words by the first template in conf/models.yaml whose pattern matches the input's name, with
the input's label from the data dictionary (`reason_labels`), never the column name. Labels,
templates and the words of the comparison come in the configured language (conf/language.py):
zh (Chinese, the default) or en.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from conf.language import DEFAULT_LANGUAGE  # the scorer passes the setting's value
from models.classifiers import RiskModel


class ReasonTemplateError(ValueError):
    """A reason template has a bad pattern or placeholder."""




def history_labels_zh(windows: Sequence[int], unit: str) -> dict[str, str]:
    """models.baselines.history_labels in Chinese, the same keys (tests/models/test_reasons.py
    holds them equal), in the grain's words of the data dictionary: 上月 / 近3个月月均,
    上季度 / 近4个季度季均, 上年度 / 近3年年均."""
    from features.dictionary import unit_zh

    words = unit_zh(unit)
    return {
        "hist_prev": f"上{words.itself}案件数",
        **{f"hist_ma{w}": f"近{w}{words.span}{words.mean}案件数" for w in windows},
        "hist_ewm": "近期案件数（指数加权，越近权重越大）",
        "hist_own_decayed": "近期案件数（按时间衰减累计）",
        "hist_nb_decayed": "相邻村近期案件数（按时间衰减累计）",
    }


def reason_templates(models_conf: Mapping[str, Any], language: str = DEFAULT_LANGUAGE) -> list[dict[str, str]]:
    """The reason templates of conf/models.yaml in `language`: reasons.templates (en) or
    reasons.templates_zh (zh), each tagged with its language. A template's language decides the
    words of its {change}; a template without the tag is English (the scorer hands the tagged
    dicts to every executor as they are)."""
    key = "templates_zh" if language == "zh" else "templates"
    return [{**t, "language": language} for t in models_conf["reasons"][key]]


def _language(template: Mapping[str, str] | None) -> str:
    return "zh" if template is not None and template.get("language") == "zh" else "en"


def feature_label(name: str, labels: Mapping[str, str]) -> str:
    """The input in words, from `labels` (features.dictionary.feature_labels for the feature
    table, models.baselines.history_labels for the history signals). An input neither names
    (a column added outside the dictionary) is spelt out from its name as the last resort."""
    label = labels.get(name)
    if label:
        return label
    return re.sub(r"\s+", " ", name.replace("_", " ")).strip()


def reason_labels(features_conf: Mapping[str, Any], models_conf: Mapping[str, Any], grain: str,
                  language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Label in `language` of every input a model can use: the feature table's columns and the
    history signals."""
    from features.dictionary import feature_labels
    from models.baselines import history_labels

    windows = [int(w) for w in models_conf["baselines"]["moving_average_windows"]]
    history = history_labels_zh(windows, grain) if language == "zh" else history_labels(windows, grain)
    return {**feature_labels(features_conf, grain, language), **history}


def attributions(model: RiskModel, rows: pd.DataFrame, baseline: pd.DataFrame) -> np.ndarray:
    """rows x features: margin(x) - margin(x with feature j set to its baseline value)."""
    x = model.matrix(rows)
    b = model.matrix(baseline)
    base_margin = model.margin(x)
    n, p = x.shape
    # One batch of n * p occluded rows instead of p calls: much faster for tree models.
    occluded = np.repeat(x[None, :, :], p, axis=0)
    for j in range(p):
        bj = b[:, j]
        occluded[j, :, j] = np.where(np.isnan(bj), x[:, j], bj)
    m = model.margin(occluded.reshape(p * n, p)).reshape(p, n)
    return (base_margin[None, :] - m).T


# The comparison with the township average in words. English: "80% above" (the template
# adds "the township average"); Chinese: the whole predicate, "高出乡镇平均80%", because the
# comparison's words come around the number.
_CHANGE_WORDS = {
    "en": {"unknown": "unknown", "above": "above", "level": "level with",
           "up": "{pct}% above", "down": "{pct}% below"},
    "zh": {"unknown": "无法与乡镇平均比较", "above": "高于乡镇平均", "level": "与乡镇平均持平",
           "up": "高出乡镇平均{pct}%", "down": "低于乡镇平均{pct}%"},
}
# A village whose input no template matches: the label and the comparison.
_FALLBACK = {"en": "{label} {change} the township average", "zh": "{label}{change}"}


def _change(value: float, base: float, language: str = "en") -> tuple[str, str, str]:
    """(direction, pct, change words in `language`) of value against base."""
    words = _CHANGE_WORDS[language]
    if np.isnan(value) or np.isnan(base):
        return "", "", words["unknown"]
    direction = "up" if value >= base else "down"
    if abs(base) < 1e-9:
        return direction, "", (words["above"] if value > 0 else words["level"])
    pct = f"{abs(value - base) / abs(base) * 100:.0f}"
    return direction, pct, words[direction].format(pct=pct)


def render(
    name: str, value: float, base: float, templates: Sequence[Mapping[str, str]],
    labels: Mapping[str, str] | None = None,
) -> str:
    """The reason of one input: the first template whose pattern matches `name`, filled in the
    template's language."""

    def fields(language: str) -> dict[str, Any]:
        direction, pct, change = _change(value, base, language)
        return {
            "label": feature_label(name, labels or {}), "value": float(np.nan_to_num(value)),
            "baseline": float(np.nan_to_num(base)), "days": float(np.nan_to_num(value)),
            "direction": direction, "pct": pct, "change": change,
        }

    for t in templates:
        try:
            if re.search(t["pattern"], name):
                return t["text"].format(**fields(_language(t)))
        except (re.error, KeyError, ValueError, IndexError) as exc:
            raise ReasonTemplateError(
                f"reason template {t!r} cannot be used for {name}: {exc}"
            ) from exc
    language = _language(templates[0] if templates else None)
    return _FALLBACK[language].format(**fields(language))


def top_reasons(
    model: RiskModel,
    rows: pd.DataFrame,
    baseline: pd.DataFrame,
    templates: Sequence[Mapping[str, str]],
    n: int = 3,
    labels: Mapping[str, str] | None = None,
) -> list[list[str]]:
    """Up to n plain-word drivers per row, strongest first; only inputs that raise the risk."""
    contrib = attributions(model, rows, baseline)
    x, b = model.matrix(rows), model.matrix(baseline)
    out = []
    for i in range(len(rows)):
        order = np.argsort(-contrib[i], kind="stable")
        words = []
        for j in order[:n]:
            if contrib[i, j] <= 1e-9:
                break
            words.append(render(model.features[j], x[i, j], b[i, j], templates, labels))
        out.append(words)
    return out


def township_baseline(rows: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Mean of each feature over the rows' township and period, aligned with rows."""
    keys = ["township_id", "period_start"]
    means = rows.groupby(keys)[list(features)].transform("mean")
    return means.astype("float64")
