"""Plain-word reasons: which inputs push a village's risk up, against its township's average.

Attribution is model-agnostic and local: for each input j, the drop in the model's margin
(logit, or log count for baselines) when the village's value of j is replaced by the mean of
its township in the same period. The largest positive drops are the drivers; each is put in
words by the first template in conf/models.yaml whose pattern matches the input's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.classifiers import RiskModel

HIST_LABELS = {
    "hist_prev": "incidents last period",
    "hist_ewm": "recent incidents (weighted mean)",
    "hist_own_decayed": "recent incidents (decayed count)",
    "hist_nb_decayed": "neighbouring villages' recent incidents",
}


class ReasonTemplateError(ValueError):
    """A reason template has a bad pattern or placeholder."""


def feature_label(name: str, labels: Sequence[Mapping[str, str]] = ()) -> str:
    """The input's name in words: the first configured label pattern matching the whole name."""
    for entry in labels:
        m = re.fullmatch(entry["pattern"], name)
        if m:
            text = entry["text"]
            for i, g in enumerate(m.groups(), 1):
                text = text.replace(f"{{{i}}}", (g or "").replace("_", " "))
            return text
    if name in HIST_LABELS:
        return HIST_LABELS[name]
    m = re.fullmatch(r"hist_ma(\d+)", name)
    if m:
        return f"incidents per period over the last {m.group(1)} periods"
    return name.replace("_", " ").strip()


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
    labels: Sequence[Mapping[str, str]] = (),
) -> str:
    direction, pct, change = _change(value, base)
    fields = {
        "label": feature_label(name, labels), "value": float(np.nan_to_num(value)),
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
    labels: Sequence[Mapping[str, str]] = (),
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
