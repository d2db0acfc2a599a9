"""Governance-capacity index: subject, organization, resource and mechanism sub-scores (0..100).

Each indicator is scored by its mid-rank percentile among the villages of the same period:
100 * (below + (equal - 1) / 2) / (n - 1), n the villages with a value (a lone value scores
50; `direction: lower` reverses the score); values are ranked rounded to RANK_DECIMALS
decimals, so float noise from summing in another order is a tie. A sub-score is the weighted
mean of its scored indicators that are not null; capacity_index the weighted mean of the
sub-scores not null.
Method and weights: conf/governance.yaml and docs/features.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

SUB_SCORES = ("subject", "organization", "resource", "mechanism")


class GovernanceConfigError(ValueError):
    """conf/governance.yaml names an indicator the features do not have, or a bad weight."""


def _check(df: DataFrame, weights: Mapping[str, float], sub_scores: Mapping[str, Mapping]) -> None:
    if set(sub_scores) != set(SUB_SCORES) or set(weights) != set(SUB_SCORES):
        raise GovernanceConfigError(
            f"conf/governance.yaml must define weights and sub_scores for exactly {SUB_SCORES}"
        )
    missing = sorted({c for s in sub_scores.values() for c in s} - set(df.columns))
    if missing:
        raise GovernanceConfigError(
            f"conf/governance.yaml names indicators that are not feature columns: {missing}"
        )
    for s in sub_scores.values():
        for name, spec in s.items():
            if spec.get("direction", "higher") not in ("higher", "lower") or float(spec["weight"]) < 0:
                raise GovernanceConfigError(
                    f"indicator {name}: expected weight >= 0 and direction higher or lower"
                )


# Indicators are ranked on values rounded to this many decimals. A mean or rate summed in
# another order (other partitions, a cluster) can differ in the last bits: 12.6 against
# 12.599999999999998. Rounding makes those a tie, as they are meant to be, so the scores do not
# depend on the partitioning. Nine decimals: the indicators are shares, minutes, km and counts
# per 1,000 residents, all well below 1e5, where a double's summation noise (a few ulps; an ulp
# is 1.5e-11 at 1e5) is far below 1e-9, while real differences between villages are far above
# it (and the scores are kept to 4 decimals). Spark rounds the double's decimal string
# (Double.toString) half up: the same on every executor. Noise can still split a value lying
# within a few ulps of a rounding boundary (a 5 in the 10th decimal): rare for means and rates
# of whole counts, not impossible.
RANK_DECIMALS = 9


def percentile_score(value: Column, lower_is_better: bool = False) -> Column:
    """Mid-rank percentile (0..100) of a value among the rows of the same period, ranked on the
    value rounded to RANK_DECIMALS so that float noise gives a tie."""
    value = F.round(value, RANK_DECIMALS)
    has_value = value.isNotNull()
    group = Window.partitionBy(F.col("period_start"), has_value)
    whole = group.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    # rank() takes no frame: it counts the rows ordered strictly before plus one.
    below = F.rank().over(group.orderBy(value)) - 1
    equal = F.count(F.lit(1)).over(
        Window.partitionBy(F.col("period_start"), value).rowsBetween(
            Window.unboundedPreceding, Window.unboundedFollowing
        )
    )
    n = F.count(F.lit(1)).over(whole)
    pct = F.when(n > 1, (below + (equal - 1) / 2.0) * 100.0 / (n - 1)).otherwise(50.0)
    score = F.lit(100.0) - pct if lower_is_better else pct
    return F.when(has_value, score)


def _weighted_mean(parts: list[tuple[Column, float]]) -> Column:
    num = sum((F.coalesce(c * w, F.lit(0.0)) for c, w in parts), F.lit(0.0))
    den = sum((F.when(c.isNotNull(), F.lit(w)).otherwise(0.0) for c, w in parts), F.lit(0.0))
    return F.when(den > 0, num / den)


def governance_index(
    features: DataFrame, weights: Mapping[str, float], sub_scores: Mapping[str, Mapping]
) -> DataFrame:
    """Per village and period: the four sub-scores and the capacity index."""
    _check(features, weights, sub_scores)
    scored = features.withColumns(
        {
            f"_s_{sub}_{name}": percentile_score(
                F.col(name), spec.get("direction", "higher") == "lower"
            )
            for sub, indicators in sub_scores.items()
            for name, spec in indicators.items()
        }
    )
    subs = {
        sub: _weighted_mean(
            [(F.col(f"_s_{sub}_{n}"), float(spec["weight"])) for n, spec in indicators.items()]
        )
        for sub, indicators in sub_scores.items()
    }
    with_subs = scored.withColumns(subs)
    capacity = _weighted_mean([(F.col(s), float(weights[s])) for s in SUB_SCORES])
    return with_subs.select(
        "village_id",
        "township_id",
        "period_start",
        *[F.round(F.col(s), 4).alias(s) for s in SUB_SCORES],
        F.round(capacity, 4).alias("capacity_index"),
    )
