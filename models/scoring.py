"""Scoring at scale: the champion, broadcast to the executors, applied per township over Arrow.

Rows are grouped by township (a township's villages of one period fit easily in memory), so
the reasons can compare each village with its township's mean in the same period without a
second pass. Only ranks are computed over the whole period, by Spark, in a window partitioned
by the period (so several periods would rank independently, and no window is left without a
partition).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from models.classifiers import RiskModel
from models.metrics import flag_count
from models.reasons import top_reasons, township_baseline

SCORED_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False),
        T.StructField("township_id", T.StringType(), True),
        T.StructField("period_start", T.DateType(), True),
        T.StructField("score", T.DoubleType(), True),
        T.StructField("probability", T.DoubleType(), True),
        T.StructField("expected_weighted_count", T.DoubleType(), True),
        T.StructField("reasons", T.ArrayType(T.StringType()), True),
    ]
)


def score_pandas(
    model: RiskModel, rows: pd.DataFrame, templates: Sequence[Mapping[str, str]], n_reasons: int,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Scores and reasons of one township's rows (plain pandas: the same code the UDF runs)."""
    rows = rows.reset_index(drop=True)
    pred = model.predict(rows)
    baseline = township_baseline(rows, model.features)
    base_rows = pd.concat([rows[["township_id", "period_start"]], baseline], axis=1)
    reasons = (
        top_reasons(model, rows, base_rows, templates, n_reasons, labels)
        if n_reasons > 0 else [[]] * len(rows)
    )
    return pd.DataFrame(
        {
            "village_id": rows["village_id"].astype(str),
            "township_id": rows["township_id"],
            "period_start": rows["period_start"],
            "score": pred["score"].astype(float),
            "probability": pred["probability"].astype(float),
            "expected_weighted_count": pred["expected_weighted_count"].astype(float),
            "reasons": reasons,
        }
    )


def score_spark(
    panel: DataFrame,
    model: RiskModel,
    templates: Sequence[Mapping[str, str]],
    n_reasons: int,
    labels: Mapping[str, str] | None = None,
) -> DataFrame:
    """Apply the model to every row of `panel` (one period) per township, with a broadcast model."""
    spark = panel.sparkSession
    bc = spark.sparkContext.broadcast(model)
    tmpl = [dict(t) for t in templates]
    words = dict(labels or {})
    cols = ["village_id", "township_id", "period_start", *model.features]
    inputs = panel.select(
        *[F.col(c).cast("double").alias(c) if c in model.features else F.col(c) for c in cols]
    )

    def apply(pdf: pd.DataFrame) -> pd.DataFrame:
        return score_pandas(bc.value, pdf, tmpl, n_reasons, words)

    return inputs.groupBy("township_id").applyInPandas(apply, schema=SCORED_SCHEMA)


def rank_and_flag(scored: DataFrame, flag_share: float, n_villages: int | None = None) -> DataFrame:
    """rank 1 = highest probability (then score, then village_id); the top share is high risk.

    Ranked within each `period_start` of `scored` (the scorer passes one period, so every
    village gets one rank; the window has a real partition column, never a constant). Without
    `n_villages`, the share is taken of each period's own row count, counted in the same
    window (no separate count of the rows first).
    """
    flag_count(1, flag_share)  # refuses a share outside (0, 1] before any Spark work
    by_period = Window.partitionBy("period_start")
    order = by_period.orderBy(
        F.col("probability").desc_nulls_last(), F.col("score").desc_nulls_last(), F.col("village_id")
    )
    if n_villages is None:
        n = F.count(F.lit(1)).over(by_period.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing))
        # k = round(share * n), at least 1: the same rule as models.metrics.flag_count.
        k = F.greatest(F.lit(1), F.floor(n * F.lit(flag_share) + F.lit(0.5)))
    else:
        k = F.lit(flag_count(n_villages, flag_share))
    ranked = scored.withColumn("rank", F.row_number().over(order).cast("int"))
    return ranked.withColumn("flagged", F.col("rank") <= k)


def risk_table(
    ranked: DataFrame,
    villages: DataFrame | None,
    period: date,
    model_version: str,
    run_id: str,
) -> DataFrame:
    """The gold.village_risk rows of the predicted period, names from silver.villages."""
    if villages is not None:
        names = villages.select("village_id", "village_name", F.col("township_name"))
        ranked = ranked.join(names, on="village_id", how="left")
    else:
        ranked = ranked.withColumns(
            {"village_name": F.lit(None).cast("string"), "township_name": F.lit(None).cast("string")}
        )
    return ranked.select(
        "village_id",
        F.lit(period).cast("date").alias("period_start"),
        "village_name", "township_id", "township_name", "score", "probability",
        "expected_weighted_count", "rank", "flagged",
        F.coalesce(F.col("reasons"), F.array().cast("array<string>")).alias("reasons"),
        F.lit(model_version).alias("model_version"),
        F.lit(run_id).alias("run_id"),
    )
