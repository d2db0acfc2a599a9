"""The modelling panel: gold.village_features plus history signals, cut at the as-of date.

Shared by training and scoring so both see exactly the same columns. Functions of DataFrames:
the stages read the tables (jobs/) and pass them in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.periods import last_complete_period, next_period
from features.spatial import neighbour_pairs
from models.baselines import (
    KEYS,
    LABEL_HIGH,
    LABEL_WEIGHTED,
    NEIGHBOUR_SCHEMA,
    history_columns,
    with_history_features,
)
from store.catalog import VILLAGE_FEATURES
from store.frames import pandas_frame

NUMERIC = (
    T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType,
    T.DecimalType, T.BooleanType,
)


class FeatureTableError(ValueError):
    """gold.village_features lacks what the models need, or does not reach the as-of date."""


def select_features(schema: T.StructType, include: Any = "all", exclude: Sequence[str] = ()) -> list[str]:
    """Model inputs: numeric (or boolean) columns that are neither keys nor labels, minus `exclude`.

    `include` is "all" or a list of names; `exclude` holds names or regular expressions
    matched at the start of the name.
    """
    numeric = [
        f.name for f in schema.fields
        if isinstance(f.dataType, NUMERIC) and f.name not in KEYS
        and not f.name.startswith("label_") and not f.name.startswith("_")
    ]
    if include != "all":
        wanted = list(include)
        missing = [c for c in wanted if c not in numeric]
        if missing:
            raise FeatureTableError(
                f"conf models.features.include names {missing}: not numeric feature columns of {VILLAGE_FEATURES}"
            )
        numeric = wanted
    pats = [re.compile(p) for p in exclude]
    return [c for c in numeric if not any(p.match(c) for p in pats)]


def check_columns(df: DataFrame) -> None:
    need = set(KEYS) | {LABEL_WEIGHTED, LABEL_HIGH}
    missing = sorted(need - set(df.columns))
    if missing:
        raise FeatureTableError(f"{VILLAGE_FEATURES} lacks columns {missing} (expected keys and labels of docs/tables.md)")


def scoring_period(features: DataFrame, grain: str, as_of: date | None) -> date:
    """The last complete period for the as-of date (default: the latest period with features)."""
    latest = features.agg(F.max("period_start").alias("p")).first()["p"]
    if latest is None:
        raise FeatureTableError(f"{VILLAGE_FEATURES} holds no rows: run the features stage first")
    if as_of is None:
        return latest
    p = last_complete_period(as_of, grain)
    if p > latest:
        raise FeatureTableError(
            f"as-of {as_of} needs features for the period starting {p}, but {VILLAGE_FEATURES} ends at "
            f"{latest}: run the features stage for this as-of date first"
        )
    return p


def cut_at(features: DataFrame, last: date) -> DataFrame:
    """Rows up to the last complete period; the labels of that period are not known yet."""
    is_last = F.col("period_start") == F.lit(last)
    return features.filter(F.col("period_start") <= F.lit(last)).withColumns(
        {
            LABEL_WEIGHTED: F.when(~is_last, F.col(LABEL_WEIGHTED)),
            LABEL_HIGH: F.when(~is_last, F.col(LABEL_HIGH)),
        }
    )


def neighbours_frame(spark: SparkSession, villages: DataFrame | None, neighbours: Mapping[str, Any]) -> DataFrame:
    """village_id, neighbour_id, weight: the neighbours of the features (features.spatial, one
    definition with conf/features.yaml `neighbours`), so the hotspot baseline spreads over the
    same villages the spill-over features do."""
    if villages is None:
        return spark.createDataFrame([], NEIGHBOUR_SCHEMA)
    located = villages.select("village_id", "longitude", "latitude").dropna().dropDuplicates(["village_id"])
    pairs = neighbour_pairs(located, int(neighbours["k"]), float(neighbours["max_km"]), float(neighbours["min_km"]))
    return pairs.select("village_id", F.col("nbr_id").alias("neighbour_id"), "weight")


def build_panel(
    spark: SparkSession,
    features: DataFrame,
    villages: DataFrame | None,
    conf: Mapping[str, Any],
    grain: str,
    as_of: date | None,
    history_only: bool = False,
    *,
    neighbours: Mapping[str, Any],
) -> tuple[DataFrame, list[str], date]:
    """(panel with hist_* columns, model input columns, last complete period) from
    gold.village_features and silver.villages (None: no neighbours for the hotspot baseline).

    history_only keeps just the periods the last period's history signals need (scoring);
    `neighbours` is conf/features.yaml's `neighbours` block (the spill-over features' own).
    """
    check_columns(features)
    last = scoring_period(features, grain, as_of)
    fconf = conf.get("features", {}) or {}
    inputs = select_features(features.schema, fconf.get("include", "all"), fconf.get("exclude", []) or [])
    bl = conf["baselines"]
    hs = bl["hotspot"]
    windows = [int(w) for w in bl["moving_average_windows"]]
    base = cut_at(features, last)
    if history_only:
        base = base.filter(F.col("period_start") >= F.lit(history_start(last, grain, conf)))
    nb = neighbours_frame(spark, villages, neighbours)
    panel = with_history_features(
        base, nb, grain, windows, float(bl["ewm_alpha"]), float(hs["decay"]), int(bl["history_lags"])
    )
    hist = history_columns(windows)
    if fconf.get("add_history_features", True):
        inputs = inputs + [c for c in hist if c not in inputs]
    return panel, inputs, last


def history_start(last: date, grain: str, conf: Mapping[str, Any]) -> date:
    """First period a score for `last` needs: enough for the longest history window."""
    bl = conf["baselines"]
    span = max([int(bl["history_lags"])] + [int(w) for w in bl["moving_average_windows"]]) + 1
    return next_period(last, grain, -span)


def to_pandas(panel: DataFrame, columns: Sequence[str]):
    """Collect the listed columns (keys, labels, inputs) with numerics as float64."""
    cols = list(dict.fromkeys([*KEYS, LABEL_WEIGHTED, LABEL_HIGH, *columns]))
    casts = [
        F.col(c).cast("double").alias(c) if c not in KEYS and c != LABEL_HIGH else F.col(c) for c in cols
    ]
    pdf = pandas_frame(panel.select(*casts))
    pdf[LABEL_HIGH] = pdf[LABEL_HIGH].astype("object")
    return pdf
