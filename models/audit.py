"""Township audit of the flags and the feedback-loop guard (citizen-only vs all-source labels).

Patrols find incidents where they go, so a label counting patrol discoveries would send the
patrols back where they already are. The default label counts citizen-reported sources only;
`compare_label_sources` shows what would change if every source counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from features.labels import high_risk_flags
from features.periods import period_start_col
from models.baselines import LABEL_HIGH, LABEL_WEIGHTED
from models.classifiers import RiskModel
from models.metrics import flag_count


def flag_backtest(preds: DataFrame, flag_share: float) -> DataFrame:
    """Flag the top share of villages by score in each backtest period (ties: village_id)."""
    by_period = Window.partitionBy("period_start")
    order = by_period.orderBy(F.col("score").desc_nulls_last(), F.col("village_id")).rowsBetween(
        Window.unboundedPreceding, Window.currentRow
    )
    n = F.count(F.lit(1)).over(by_period.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing))
    # k = round(share * n), at least 1: the same rule as models.metrics.flag_count.
    k = F.greatest(F.lit(1), F.floor(n * F.lit(flag_share) + F.lit(0.5)))
    return preds.withColumn("flagged", F.count(F.lit(1)).over(order) <= k)


def township_audit(flagged: DataFrame) -> DataFrame:
    """Per township and period: villages, villages flagged, flag rate, actual high-risk rate, recall.

    `flagged` has township_id, period_start, flagged (bool) and actual_label (bool or null:
    the scored period has no outcome yet, so its rates and recall are null).
    """
    is_hit = F.col("flagged") & F.col("actual_label")
    actual_n = F.sum(F.col("actual_label").cast("int"))
    return flagged.groupBy("township_id", "period_start").agg(
        F.count(F.lit(1)).alias("villages"),
        F.sum(F.col("flagged").cast("long")).alias("villages_flagged"),
        F.avg(F.col("flagged").cast("double")).alias("flag_rate"),
        F.avg(F.col("actual_label").cast("double")).alias("actual_high_risk_rate"),
        F.when(actual_n > 0, F.sum(is_hit.cast("int")) / actual_n).alias("recall"),
    )


def all_source_counts(
    incidents: DataFrame, grain: str, severity_weights: Mapping[int, float], sources: Sequence[str]
) -> DataFrame:
    """Severity-weighted incident count per village and period (by report date), false alarms out."""
    from features.incidents import severity_weight_col

    weight = severity_weight_col(severity_weights)
    is_false_alarm = F.coalesce(F.col("is_false_alarm"), F.lit(False)) | (F.col("status") == "false_alarm")
    counted = F.col("source").isin(list(sources)) & ~is_false_alarm & F.col("village_id").isNotNull()
    return (
        incidents.filter(counted)
        .groupBy("village_id", period_start_col("reported_at", grain).alias("period_start"))
        .agg(F.sum(weight).alias("weighted"))
    )


def relabel(panel: pd.DataFrame, counts: pd.DataFrame, next_of: Callable[[date], date], share: float) -> pd.DataFrame:
    """The panel with labels rebuilt from `counts` (village_id, period_start, weighted) by the
    label rule of features.labels (`share` is conf/features.yaml label.high_risk_share), so
    the comparison changes the label's source and nothing else.

    Rows whose original label is null (the last period) stay null.
    """
    c = counts.assign(period_start=pd.to_datetime(counts["period_start"]).dt.date)
    lookup = c.set_index(["village_id", "period_start"])["weighted"].to_dict()
    out = panel.copy()
    known = out[LABEL_HIGH].notna()
    nxt = [next_of(pd.Timestamp(p).date()) for p in out["period_start"]]
    out[LABEL_WEIGHTED] = [
        float(lookup.get((v, p), 0.0)) if k else np.nan
        for v, p, k in zip(out["village_id"], nxt, known, strict=True)
    ]
    high = pd.Series(None, index=out.index, dtype="object")
    for _, g in out[known].groupby("period_start"):
        high.loc[g.index] = high_risk_flags(g, LABEL_WEIGHTED, share)  # the features' own rule
    out[LABEL_HIGH] = high
    return out


def compare_label_sources(
    model_citizen: RiskModel,
    make_model: Callable[[], RiskModel],
    panel_all: pd.DataFrame,
    score_rows: pd.DataFrame,
    flag_share: float,
    calibration_periods: int,
    random_state: int,
) -> pd.DataFrame:
    """Flags of the scored period with the champion fit on citizen labels vs on all-source labels."""
    model_all = make_model().fit(panel_all, calibration_periods, random_state)
    rows = score_rows.sort_values("village_id").reset_index(drop=True)
    k = flag_count(len(rows), flag_share)
    out = rows[["village_id", "township_id"]].copy()
    for label, model in (("citizen_label", model_citizen), ("all_source_label", model_all)):
        pred = model.predict(rows)
        order = np.lexsort((-pred["score"].to_numpy(), -pred["probability"].to_numpy()))
        flags = np.zeros(len(rows), dtype=bool)
        flags[order[:k]] = True
        out[f"probability_{label}"] = pred["probability"].to_numpy()
        out[f"flagged_{label}"] = flags
    return out


def label_overlap(panel: pd.DataFrame, panel_all: pd.DataFrame) -> pd.DataFrame:
    """Per period: Jaccard overlap of the high-risk villages under the two label definitions."""
    a = panel[panel[LABEL_HIGH].notna()][["village_id", "period_start", LABEL_HIGH]]
    b = panel_all[panel_all[LABEL_HIGH].notna()][["village_id", "period_start", LABEL_HIGH]]
    m = a.merge(b, on=["village_id", "period_start"], how="inner", suffixes=("_c", "_a"))
    rows = []
    for p, g in m.groupby("period_start"):
        c, al = g[f"{LABEL_HIGH}_c"].astype(bool), g[f"{LABEL_HIGH}_a"].astype(bool)
        union = int((c | al).sum())
        rows.append(("label_sources", pd.Timestamp(p).date(), "high_risk_overlap", None, None,
                     float((c & al).sum() / union) if union else float("nan")))
    return pd.DataFrame(rows, columns=["model", "period_start", "metric", "coverage", "bin", "value"])
