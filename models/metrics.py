"""Metrics of one model on one period: ranking, probability quality, and the field's own.

Pure numpy functions, so the hand-computed examples in the tests read like the definitions.
Flagging k villages always means the k highest scores, ties broken by position (the caller
sorts rows by village_id first), so a metric never depends on row order by accident.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class MetricInputError(ValueError):
    """Arrays of a metric do not line up or hold values of the wrong kind."""


def _arrays(*arrays: Sequence[float]) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float) for a in arrays]
    n = len(out[0])
    if any(len(a) != n for a in out):
        raise MetricInputError(f"metric inputs must have the same length, got {[len(a) for a in out]}")
    return out


def flag_count(n: int, coverage: float) -> int:
    """Villages flagged at a coverage: round(coverage * n), at least 1."""
    if not 0 < coverage <= 1:
        raise MetricInputError(f"coverage must be in (0, 1], got {coverage}")
    return max(1, int(math.floor(coverage * n + 0.5)))


def top_k(score: Sequence[float], k: int) -> np.ndarray:
    """Indices of the k highest scores; equal scores keep their input order (stable)."""
    s = np.asarray(score, dtype=float)
    order = np.argsort(-s, kind="stable")
    return order[:k]


def roc_auc(y: Sequence[float], score: Sequence[float]) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    yy, s = _arrays(y, score)
    pos, neg = s[yy == 1], s[yy == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def pr_auc(y: Sequence[float], score: Sequence[float]) -> float:
    """Average precision: mean of the precision at the rank of each positive (ties grouped)."""
    yy, s = _arrays(y, score)
    n_pos = int((yy == 1).sum())
    if n_pos == 0:
        return float("nan")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(yy, s))


def brier(y: Sequence[float], prob: Sequence[float]) -> float:
    yy, p = _arrays(y, prob)
    return float(np.mean((p - yy) ** 2)) if len(yy) else float("nan")


def reliability_bins(
    y: Sequence[float], prob: Sequence[float], bins: int = 10
) -> list[tuple[int, int, float, float]]:
    """Equal-width bins over [0, 1]: (bin, rows, mean predicted, observed rate), empty bins left out."""
    yy, p = _arrays(y, prob)
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append((b, int(m.sum()), float(p[m].mean()), float(yy[m].mean())))
    return out


def ece(y: Sequence[float], prob: Sequence[float], bins: int = 10) -> float:
    """Expected calibration error: row-weighted mean |observed rate - mean predicted| over bins."""
    yy, _ = _arrays(y, prob)
    if len(yy) == 0:
        return float("nan")
    return float(
        sum(n * abs(obs - pred) for _, n, pred, obs in reliability_bins(y, prob, bins)) / len(yy)
    )


def coverage_metrics(
    score: Sequence[float],
    actual: Sequence[float],
    area: Sequence[float] | None,
    coverage: float,
) -> dict[str, float]:
    """Hit rate, PAI and PEI* when the top `coverage` share of villages by score is flagged.

    hit_rate = actual incidents in flagged villages / all actual incidents;
    pai = hit_rate / (flagged area / total area);
    pei_star = actual in flagged / actual in the k villages with the highest actual counts.
    """
    s, a = _arrays(score, actual)
    ar = np.ones_like(a) if area is None else _arrays(area, actual)[0]
    if (a < 0).any():
        raise MetricInputError("actual weighted counts must be >= 0")
    k = flag_count(len(a), coverage)
    flagged = top_k(s, k)
    captured = float(a[flagged].sum())
    total = float(a.sum())
    best = float(np.sort(a)[::-1][:k].sum())
    hit = captured / total if total > 0 else float("nan")
    area_share = float(ar[flagged].sum() / ar.sum()) if ar.sum() > 0 else float("nan")
    return {
        "flagged": float(k),
        "hit_rate": hit,
        "pai": hit / area_share if area_share and not math.isnan(hit) else float("nan"),
        "pei_star": captured / best if best > 0 else float("nan"),
    }


def period_metrics(
    score: Sequence[float],
    prob: Sequence[float],
    actual_weighted: Sequence[float],
    actual_label: Sequence[float],
    area: Sequence[float] | None,
    coverages: Sequence[float],
    bins: int = 10,
) -> list[tuple[str, float | None, float]]:
    """Every metric of one model on one period as (metric, coverage or None, value)."""
    rows: list[tuple[str, float | None, float]] = [
        ("roc_auc", None, roc_auc(actual_label, score)),
        ("pr_auc", None, pr_auc(actual_label, score)),
        ("brier", None, brier(actual_label, prob)),
        ("ece", None, ece(actual_label, prob, bins)),
    ]
    for c in coverages:
        for name, value in coverage_metrics(score, actual_weighted, area, c).items():
            rows.append((name, float(c), value))
    return rows
