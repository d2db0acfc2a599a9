"""Baselines: the history of each village's own label count, averaged, decayed and spread to neighbours.

The count of period t is the label of period t-1 (`label_weighted_next`), so every baseline
uses exactly the sources and weights the label uses, and nothing after the row's period.
`with_history_features` adds the signals as `hist_*` columns (a Spark transform, used by
training and by scoring alike); `BASELINES` says how each baseline scores from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.periods import period_index_col

KEYS = ("village_id", "township_id", "period_start")
LABEL_WEIGHTED = "label_weighted_next"
LABEL_HIGH = "label_high_risk_next"


@dataclass(frozen=True)
class BaselineSpec:
    """A baseline scores sum(weight * column) over its history columns."""

    name: str
    weights: tuple[tuple[str, float], ...]


def baseline_specs(windows: Sequence[int], neighbour_weight: float) -> list[BaselineSpec]:
    specs = [BaselineSpec("baseline_prev", (("hist_prev", 1.0),))]
    specs += [BaselineSpec(f"baseline_ma{w}", ((f"hist_ma{w}", 1.0),)) for w in windows]
    specs.append(BaselineSpec("baseline_ewm", (("hist_ewm", 1.0),)))
    specs.append(
        BaselineSpec(
            "baseline_hotspot",
            (("hist_own_decayed", 1.0), ("hist_nb_decayed", float(neighbour_weight))),
        )
    )
    return specs


def history_columns(windows: Sequence[int]) -> list[str]:
    return (
        ["hist_prev"]
        + [f"hist_ma{w}" for w in windows]
        + ["hist_ewm", "hist_own_decayed", "hist_nb_decayed"]
    )


def history_labels(windows: Sequence[int], unit: str) -> dict[str, str]:
    """The history columns in a planner's words (reasons); `unit` is the period grain."""
    return {
        "hist_prev": f"incidents in the last {unit}",
        **{f"hist_ma{w}": f"incidents per {unit} over the last {w} {unit}s" for w in windows},
        "hist_ewm": f"recent incidents (the latest {unit}s weigh most)",
        "hist_own_decayed": f"recent incidents (older {unit}s count less)",
        "hist_nb_decayed": f"recent incidents in neighbouring villages (older {unit}s count less)",
    }


def period_index(col: str, grain: str) -> Column:
    """Consecutive integer per period (features.periods' numbering), for range window frames."""
    return period_index_col(col, grain)


def _decayed(hist: Column, factor: float, normalise: bool) -> Column:
    """sum(factor**(t - s) * c_s) over the collected (pidx, c) pairs; optionally / sum of weights."""
    def w(x: Column) -> Column:
        return F.pow(F.lit(factor), (F.col("_pidx") - x["p"]).cast("double"))

    num = F.aggregate(hist, F.lit(0.0), lambda acc, x: acc + w(x) * x["c"])
    if not normalise:
        return num
    den = F.aggregate(hist, F.lit(0.0), lambda acc, x: acc + w(x))
    return F.when(den > 0, num / den)


def with_history_features(
    features: DataFrame,
    neighbours: DataFrame,
    grain: str,
    windows: Sequence[int],
    ewm_alpha: float,
    decay: float,
    lags: int,
) -> DataFrame:
    """Add hist_prev, hist_ma<w>, hist_ewm, hist_own_decayed, hist_nb_decayed to each village-period row.

    hist_prev = count of the row's own period (0 when the previous row's label is missing);
    hist_ma<w> = mean count over the last w periods that have one; hist_ewm = exponentially
    weighted mean over the last `lags`+1 periods (weights alpha*(1-alpha)**lag, normalised
    over periods present); hist_own_decayed = sum(decay**lag * count); hist_nb_decayed = the
    neighbours' hist_own_decayed, weighted by `neighbours` (village_id, neighbour_id, weight).
    """
    base = features.withColumn("_pidx", period_index("period_start", grain))
    counts = base.select(
        F.col("village_id"),
        (F.col("_pidx") + 1).alias("_pidx"),
        F.col(LABEL_WEIGHTED).cast("double").alias("_count"),
    )
    by_village = Window.partitionBy("village_id").orderBy("_pidx")
    pairs = F.collect_list(
        F.when(F.col("_count").isNotNull(), F.struct(F.col("_pidx").alias("p"), F.col("_count").alias("c")))
    )
    with_counts = base.join(counts, on=["village_id", "_pidx"], how="left").select(
        "*",
        *[
            F.avg("_count").over(by_village.rangeBetween(-(w - 1), 0)).alias(f"hist_ma{w}")
            for w in windows
        ],
        pairs.over(by_village.rangeBetween(-lags, 0)).alias("_hist"),
    )
    own = with_counts.select(
        "*",
        F.coalesce(F.col("_count"), F.lit(0.0)).alias("hist_prev"),
        _decayed(F.col("_hist"), 1.0 - ewm_alpha, normalise=True).alias("hist_ewm"),
        _decayed(F.col("_hist"), decay, normalise=False).alias("hist_own_decayed"),
    ).drop("_hist", "_count")
    nb = (
        own.select("village_id", "period_start", "hist_own_decayed")
        .join(
            neighbours.select(
                F.col("village_id").alias("_v"), F.col("neighbour_id").alias("village_id"), "weight"
            ),
            on="village_id",
            how="inner",
        )
        .groupBy(F.col("_v").alias("village_id"), "period_start")
        .agg(F.sum(F.col("weight") * F.col("hist_own_decayed")).alias("hist_nb_decayed"))
    )
    return (
        own.join(nb, on=["village_id", "period_start"], how="left")
        .withColumn("hist_nb_decayed", F.coalesce(F.col("hist_nb_decayed"), F.lit(0.0)))
        .drop("_pidx")
    )


NEIGHBOUR_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False),
        T.StructField("neighbour_id", T.StringType(), False),
        T.StructField("weight", T.DoubleType(), False),
    ]
)
