"""Labels: for each period t, the outcome of period t+1.

label_weighted_next: severity-weighted count of incidents reported in t+1 from the configured
sources (default citizen calls and walk-ins, so patrol discoveries do not feed back into
risk), false alarms left out, using the latest version of each incident (the outcome as best
known now; labels are targets, never features). label_high_risk_next: the top share of the
villages of period t by that count, ties broken by village_id ascending, and only villages
with a positive count. Both are null for the last complete period (t+1 not complete yet).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.incidents import severity_weight_col
from features.pit import timestamp_period_index


def high_risk_count(n: int, share: float) -> int:
    """How many of a period's n villages can be labelled high risk: ceil(n x share), the
    product rounded to 9 decimals first so that 30 x 0.1 = 3.0000000000000004 gives 3, not 4.
    `high_risk_count_col` is the same rule as a Spark column (tests/features/test_labels.py)."""
    return math.ceil(round(n * float(share), 9))


def high_risk_count_col(n: Column, share: float) -> Column:
    """high_risk_count over a column of village counts."""
    return F.ceil(F.round(n * F.lit(float(share)), 9))


def high_risk_flags(period: pd.DataFrame, weighted: str, share: float) -> pd.Series:
    """The high-risk label of one period's villages (pandas; index kept): the high_risk_count
    largest `weighted` values, ties by village_id ascending, and only a count above 0. The
    rule `labels` applies in Spark; the feedback-loop comparison relabels with it."""
    order = period.sort_values([weighted, "village_id"], ascending=[False, True], kind="stable")
    top = order.index[: high_risk_count(len(period), share)]
    return pd.Series(period.index.isin(top) & (period[weighted] > 0).to_numpy(), index=period.index)


def next_period_outcome(
    incidents: DataFrame, sources: Sequence[str], severity_weights: Mapping[int, float], grain: str
) -> DataFrame:
    """Severity-weighted count per village and period index of reporting."""
    is_counted = (
        F.col("source").isin(*sources)
        & (F.col("status") != "false_alarm")
        & ~F.coalesce(F.col("is_false_alarm"), F.lit(False))
    )
    return (
        incidents.filter(is_counted)
        .withColumn("outcome_pidx", timestamp_period_index("reported_at", grain))
        .withColumn("wt", severity_weight_col(severity_weights))
        .groupBy("village_id", "outcome_pidx")
        .agg(F.sum("wt").alias("weighted"))
    )


def labels(
    spine: DataFrame,
    incidents: DataFrame,
    sources: Sequence[str],
    severity_weights: Mapping[int, float],
    high_risk_share: float,
    last_period: date,
    grain: str,
) -> DataFrame:
    """Per spine row (village_id, period_start, pidx): the labels of the next period."""
    outcome = next_period_outcome(incidents, sources, severity_weights, grain)
    has_next = F.col("period_start") < F.lit(last_period)
    keys = spine.select(
        "village_id", "period_start", (F.col("pidx") + 1).alias("outcome_pidx")
    )
    joined = keys.join(outcome, on=["village_id", "outcome_pidx"], how="left")
    weighted = F.when(has_next, F.coalesce(F.col("weighted"), F.lit(0.0)))
    ranked = joined.select("village_id", "period_start", weighted.alias("label_weighted_next"))
    # Ranking functions take no frame; the order is total (village_id breaks ties).
    by_outcome = Window.partitionBy("period_start").orderBy(
        F.col("label_weighted_next").desc(), F.col("village_id").asc()
    )
    whole_period = Window.partitionBy("period_start").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    top_n = high_risk_count_col(F.count(F.lit(1)).over(whole_period), high_risk_share)
    is_top = (F.row_number().over(by_outcome) <= top_n) & (F.col("label_weighted_next") > 0)
    return ranked.select(
        "village_id",
        "period_start",
        "label_weighted_next",
        F.when(has_next, is_top).alias("label_high_risk_next"),
    )

