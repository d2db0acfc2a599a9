"""Survey features: village means of the four items from the latest wave, shrunk to the township.

A wave is the responses of one `wave_grain` (date_trunc unit, e.g. quarter). For period t the
latest wave is the latest one with a response dated before t ended, counting only its
responses dated before then. With n responses and m prior pseudo-responses, the shrunk mean is
(sum + m * township_mean) / (n + m); a village without responses gets the township mean.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

ITEMS = {
    "q_safety": "survey_safety",
    "q_trust_police": "survey_trust_police",
    "q_participation": "survey_participation",
    "q_satisfaction": "survey_satisfaction",
}
SURVEY_COLUMNS = ("survey_responses", *ITEMS.values(), "survey_wave_start")


def survey_features(
    survey: DataFrame, spine: DataFrame, wave_grain: str, prior_responses: float
) -> DataFrame:
    """Per spine row (village_id, township_id, period_start, period_end): shrunk item means."""
    daily = survey.groupBy(
        "village_id",
        "surveyed_on",
        F.to_date(F.date_trunc(wave_grain, F.col("surveyed_on"))).alias("wave_start"),
    ).agg(
        F.count(F.lit(1)).alias("n"),
        *[F.sum(F.col(q).cast("double")).alias(f"s_{q}") for q in ITEMS],
    )
    keys = spine.select("village_id", "township_id", "period_start", "period_end")
    village_period = Window.partitionBy("village_id", "period_start").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    latest = (
        keys.join(daily, on="village_id", how="inner")
        .filter(F.col("surveyed_on") < F.col("period_end"))
        .withColumn("_latest", F.max("wave_start").over(village_period))
        .filter(F.col("wave_start") == F.col("_latest"))
        .groupBy("village_id", "period_start")
        .agg(
            F.sum("n").alias("survey_responses"),
            F.max("wave_start").alias("survey_wave_start"),
            *[F.sum(f"s_{q}").alias(f"s_{q}") for q in ITEMS],
        )
    )
    township = Window.partitionBy("township_id", "period_start").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    m = F.lit(float(prior_responses))
    n = F.coalesce(F.col("survey_responses"), F.lit(0))
    out = keys.join(latest, on=["village_id", "period_start"], how="left").withColumns(
        {
            f"_t_{q}": F.sum(f"s_{q}").over(township) / F.sum("survey_responses").over(township)
            for q in ITEMS
        }
    )
    weight = n + m
    shrunk = {
        name: F.when(
            weight > 0, (F.coalesce(F.col(f"s_{q}"), F.lit(0.0)) + m * F.col(f"_t_{q}")) / weight
        )
        for q, name in ITEMS.items()
    }
    return out.withColumns(shrunk).select(
        "village_id",
        "period_start",
        n.cast("int").alias("survey_responses"),
        *ITEMS.values(),
        "survey_wave_start",
    )
