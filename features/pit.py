"""Point-in-time helpers: the target-period frame and record visibility (period indexes come
from features.periods).

A feature row for period t may only use what was known when t ended (its exclusive end E_t).
Records are "exploded" onto the later target periods whose windows hold them (lag 0..max_lag)
and kept only where they were visible at E_t; every window feature is then one aggregation.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.periods import (  # EPOCH_MONDAY: the week numbering's origin, for callers of pit
    EPOCH_MONDAY,  # noqa: F401
    period_end,
    period_index,
    period_index_col,
    period_range,
    period_start_col,
)


def _col(c: Column | str) -> Column:
    return F.col(c) if isinstance(c, str) else c


def timestamp_period_index(ts: Column | str, grain: str) -> Column:
    """Period index of a timestamp or date column (local periods, session time zone)."""
    return period_index_col(period_start_col(_col(ts), grain), grain)


TARGET_SCHEMA = T.StructType(
    [
        T.StructField("period_start", T.DateType(), False),
        T.StructField("pidx", T.IntegerType(), False),
        T.StructField("period_end", T.DateType(), False),
    ]
)


def target_periods(spark: SparkSession, periods: list[date], grain: str) -> DataFrame:
    """The periods a run computes: start, index, exclusive end date and end instant (local)."""
    rows = [(p, period_index(p, grain), period_end(p, grain)) for p in sorted(set(periods))]
    # The end instant is local midnight in the session zone, computed by Spark (a Python
    # datetime would be read in the driver's zone instead).
    return spark.createDataFrame(rows, TARGET_SCHEMA).withColumn(
        "period_end_ts", F.to_timestamp(F.col("period_end"))
    )


def explode_to_targets(
    df: DataFrame, pidx: str, max_lag: int, targets: DataFrame
) -> DataFrame:
    """One row per record and target period t with t - pidx in 0..max_lag (column `lag`).

    Adds the target's period_start, pidx (as `target_pidx`), period_end and period_end_ts.
    """
    t = targets.select(
        F.col("pidx").alias("target_pidx"),
        F.col("period_start"),
        F.col("period_end"),
        F.col("period_end_ts"),
    )
    exploded = df.withColumn(
        "target_pidx", F.explode(F.sequence(F.col(pidx), F.col(pidx) + F.lit(max_lag)))
    )
    return exploded.join(F.broadcast(t), on="target_pidx", how="inner").withColumn(
        "lag", F.col("target_pidx") - F.col(pidx)
    )


def visible_at_end(known_from: str, known_to: str | None = None) -> Column:
    """A record version known before the target period ended and not yet replaced then."""
    known = F.col(known_from) < F.col("period_end_ts")
    if known_to is None:
        return known
    not_replaced = F.col(known_to).isNull() | (F.col(known_to) >= F.col("period_end_ts"))
    return known & not_replaced


def periods_between(first: date, last: date, grain: str) -> list[date]:
    """Every period start from first to last, both included (features.periods.period_range)."""
    return period_range(first, last, grain)
