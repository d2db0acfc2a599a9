"""Plain-word reasons: which inputs push a village's risk up, against its township's average.

Attribution is model-agnostic and local: for each input j, the drop in the model's margin
(logit, or log count for baselines) when the village's value of j is replaced by the mean of
its township in the same period. The largest positive drops are the drivers; each is put in
words by the first template in conf/models.yaml whose pattern matches the input's name, with
the input's label from the data dictionary (`reason_labels`), never the column name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.classifiers import RiskModel


class ReasonTemplateError(ValueError):
    """A reason template has a bad pattern or placeholder."""


def feature_label(name: str, labels: Mapping[str, str]) -> str:
    """The input in words, from `labels` (features.dictionary.feature_labels for the feature
    table, models.baselines.history_labels for the history signals). An input neither names
    (a column added outside the dictionary) is spelt out from its name as the last resort."""
    label = labels.get(name)
    if label:
        return label
    return re.sub(r"\s+", " ", name.replace("_", " ")).strip()


def reason_labels(features_conf: Mapping[str, Any], models_conf: Mapping[str, Any], grain: str) -> dict[str, str]:
    """Label of every input a model can use: the feature table's columns and the history signals."""
    from features.dictionary import feature_labels
    from models.baselines import history_labels

    windows = [int(w) for w in models_conf["baselines"]["moving_average_windows"]]
    return {**feature_labels(features_conf, grain), **history_labels(windows, grain)}


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


def _change(value: float, base: float) -> tuple[str, str, str]:
    """(direction, pct, change words) of value against base."""
    if np.isnan(value) or np.isnan(base):
        return "", "", "unknown"
    direction = "up" if value >= base else "down"
    if abs(base) < 1e-9:
        return direction, "", ("above" if value > 0 else "level with")
    pct = f"{abs(value - base) / abs(base) * 100:.0f}"
    return direction, pct, f"{pct}% {'above' if direction == 'up' else 'below'}"


def render(
    name: str, value: float, base: float, templates: Sequence[Mapping[str, str]],
    labels: Mapping[str, str] | None = None,
) -> str:
    direction, pct, change = _change(value, base)
    fields = {
        "label": feature_label(name, labels or {}), "value": float(np.nan_to_num(value)),
        "baseline": float(np.nan_to_num(base)), "days": float(np.nan_to_num(value)),
        "direction": direction, "pct": pct, "change": change,
    }
    for t in templates:
        try:
            if re.search(t["pattern"], name):
                return t["text"].format(**fields)
        except (re.error, KeyError, ValueError, IndexError) as exc:
            raise ReasonTemplateError(
                f"reason template {t!r} cannot be used for {name}: {exc}"
            ) from exc
    return f"{fields['label']} {change} the township average"


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
