"""Incident history features: windowed counts, severity weights, trend, rates shrunk to the township.

Point-in-time: silver.incidents keeps only the latest version of each incident, so a status or
severity correction made after period t would leak into t's features. `incident_versions`
rebuilds the version history from bronze.incidents (every landed version, as strings) and
gives each version its validity [known_from, known_to); a version counts for period t only
when it was the current one at the end of t.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.pit import explode_to_targets, timestamp_period_index, visible_at_end

VERSION_COLUMNS = (
    "incident_id", "village_id", "reported_at", "category", "severity", "source",
    "response_minutes", "status", "known_from", "known_to",
)


def _code_map(codes: Mapping[str, Sequence[str]]) -> Column:
    """A map literal from every code and label to its code (conf/codes.yaml)."""
    pairs: dict[str, str] = {}
    for code, labels in codes.items():
        pairs[str(code)] = str(code)
        for label in labels or []:
            pairs[str(label)] = str(code)
    flat = [F.lit(x) for kv in sorted(pairs.items()) for x in kv]
    return F.create_map(*flat)


def _blank_to_null(c: str) -> Column:
    trimmed = F.trim(F.col(c))
    return F.when(trimmed != "", trimmed)


def silver_versions(silver: DataFrame) -> DataFrame:
    """The latest version of each incident as held by silver."""
    is_false_alarm = F.coalesce(F.col("is_false_alarm"), F.lit(False))
    return silver.select(
        "incident_id", "village_id", "reported_at", "category",
        F.col("severity").cast("int").alias("severity"), "source",
        F.col("response_minutes").cast("double").alias("response_minutes"),
        F.when(is_false_alarm, F.lit("false_alarm")).otherwise(F.col("status")).alias("status"),
        F.col("updated_at").alias("known_from"),
    )


def bronze_earlier_versions(
    bronze: DataFrame,
    silver: DataFrame,
    codes: Mapping[str, Mapping[str, Sequence[str]]],
    quarantined: DataFrame | None = None,
) -> DataFrame:
    """Versions of silver's incidents landed before silver's version, conformed from strings.

    Only versions that parse and were not quarantined are used; a version without village_id
    (located by coordinates) takes the village silver snapped the incident to.
    """
    if quarantined is not None:
        bronze = bronze.join(
            quarantined.select(F.col("file").alias("_file"), F.col("line").cast("long").alias("_line")),
            on=["_file", "_line"], how="left_anti",
        )
    cur = silver.select(
        "incident_id",
        F.col("village_id").alias("silver_village_id"),
        F.col("updated_at").alias("silver_updated_at"),
    )
    parsed = bronze.join(cur, on="incident_id", how="inner").select(
        "incident_id",
        F.coalesce(_blank_to_null("village_id"), F.col("silver_village_id")).alias("village_id"),
        _blank_to_null("reported_at").try_cast("timestamp").alias("reported_at"),
        _code_map(codes["incident_category"])[F.trim(F.col("category"))].alias("category"),
        _blank_to_null("severity").try_cast("int").alias("severity"),
        _code_map(codes["incident_source"])[F.trim(F.col("source"))].alias("source"),
        _blank_to_null("response_minutes").try_cast("double").alias("response_minutes"),
        _code_map(codes["incident_status"])[F.trim(F.col("status"))].alias("status"),
        _blank_to_null("updated_at").try_cast("timestamp").alias("known_from"),
        "silver_updated_at", "_file", "_line",
    )
    is_complete = (
        F.col("reported_at").isNotNull() & F.col("category").isNotNull()
        & F.col("severity").between(1, 4) & F.col("source").isNotNull()
        & F.col("status").isNotNull() & F.col("known_from").isNotNull()
    )
    is_earlier = F.col("known_from") < F.col("silver_updated_at")
    # The same version may sit in two files: keep one, deterministically.
    one_per_version = Window.partitionBy("incident_id", "known_from").orderBy(
        F.col("_file").desc(), F.col("_line").desc()
    )
    return (
        parsed.filter(is_complete & is_earlier)
        .withColumn("_n", F.row_number().over(one_per_version))
        .filter(F.col("_n") == 1)
        .select(*VERSION_COLUMNS[:-1])
    )


def incident_versions(
    silver: DataFrame,
    bronze: DataFrame | None = None,
    codes: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    quarantined: DataFrame | None = None,
) -> DataFrame:
    """Every known version of every incident with its validity [known_from, known_to)."""
    versions = silver_versions(silver)
    if bronze is not None and codes is not None:
        versions = versions.unionByName(bronze_earlier_versions(bronze, silver, codes, quarantined))
    # lead() is an offset function: Spark takes no frame for it.
    by_incident = Window.partitionBy("incident_id").orderBy("known_from")
    return versions.withColumn("known_to", F.lead("known_from").over(by_incident)).select(
        *VERSION_COLUMNS
    )


def _group_col(category_groups: Mapping[str, Sequence[str]]) -> Column:
    mapping = {str(c): str(g) for g, cats in category_groups.items() for c in cats}
    flat = [F.lit(x) for kv in sorted(mapping.items()) for x in kv]
    return F.coalesce(F.create_map(*flat)[F.col("category")], F.lit("other"))


def severity_weight_col(severity_weights: Mapping[int, float]) -> Column:
    """An incident's weight from conf/features.yaml `severity_weights` (0 for an unlisted severity):
    the one definition the features, the labels and the label-source comparison use."""
    flat = [F.lit(x) for k, v in sorted(severity_weights.items()) for x in (int(k), float(v))]
    return F.coalesce(F.create_map(*flat)[F.col("severity").cast("int")], F.lit(0.0))


def history_columns(
    windows: Sequence[int], groups: Sequence[str]
) -> list[str]:
    cols: list[str] = []
    for w in windows:
        cols += [f"inc_{g}_{w}" for g in groups]
        cols += [f"inc_all_{w}", f"inc_sev_{w}", f"inc_citizen_{w}", f"inc_patrol_found_{w}"]
    return cols + [
        "inc_all_last_year", "inc_sev_last_year", "inc_trend", "periods_since_serious",
    ]


def incident_history(
    versions: DataFrame,
    targets: DataFrame,
    grain: str,
    windows: Sequence[int],
    category_groups: Mapping[str, Sequence[str]],
    severity_weights: Mapping[int, float],
    serious_severity: int,
    citizen_sources: Sequence[str],
    patrol_sources: Sequence[str],
    trend_short: int,
    trend_long: int,
    response_window: int,
    resolution_window: int,
    lookback: int = 12,
) -> DataFrame:
    """Per village and target period: windowed counts as known at the period's end.

    Lag 0 is the target period itself; `lookback` periods back is "same period last year" for
    monthly periods. False alarms never count. Also the mechanism inputs from incidents:
    mean response minutes and the resolution rate.
    """
    groups = list(category_groups)
    max_lag = max(lookback, *(w - 1 for w in [*windows, trend_long, response_window, resolution_window]))
    seen = (
        versions.withColumn("pidx", timestamp_period_index("reported_at", grain))
        .transform(lambda df: explode_to_targets(df, "pidx", max_lag, targets))
        .filter(visible_at_end("known_from", "known_to"))
        .withColumn("grp", _group_col(category_groups))
        .withColumn("wt", severity_weight_col(severity_weights))
    )
    counts = F.col("status") != "false_alarm"
    seen = seen.filter(counts)

    def n_in(w: int, cond: Column | None = None) -> Column:
        in_window = F.col("lag") < w
        c = in_window if cond is None else in_window & cond
        return F.sum(F.when(c, 1).otherwise(0))

    def sev_in(lo: int, hi: int) -> Column:
        return F.sum(F.when(F.col("lag").between(lo, hi), F.col("wt")).otherwise(0.0))

    aggs: list[Column] = []
    for w in windows:
        aggs += [n_in(w, F.col("grp") == g).alias(f"inc_{g}_{w}") for g in groups]
        aggs += [
            n_in(w).alias(f"inc_all_{w}"),
            sev_in(0, w - 1).alias(f"inc_sev_{w}"),
            n_in(w, F.col("source").isin(*citizen_sources)).alias(f"inc_citizen_{w}"),
            n_in(w, F.col("source").isin(*patrol_sources)).alias(f"inc_patrol_found_{w}"),
        ]
    is_serious = F.col("severity") >= serious_severity
    in_response = (F.col("lag") < response_window) & F.col("response_minutes").isNotNull()
    in_resolution = F.col("lag") < resolution_window
    aggs += [
        F.sum(F.when(F.col("lag") == lookback, 1).otherwise(0)).alias("inc_all_last_year"),
        sev_in(lookback, lookback).alias("inc_sev_last_year"),
        (sev_in(0, trend_short - 1) / trend_short - sev_in(0, trend_long - 1) / trend_long)
        .alias("inc_trend"),
        F.min(F.when(is_serious & (F.col("lag") <= lookback), F.col("lag"))).alias("_since"),
        F.avg(F.when(in_response, F.col("response_minutes"))).alias(
            f"response_minutes_mean_{response_window}"
        ),
        (F.sum(F.when(in_resolution & (F.col("status") == "resolved"), 1).otherwise(0))
         / F.sum(F.when(in_resolution, 1))).alias(f"resolution_rate_{resolution_window}"),
    ]
    return (
        seen.groupBy("village_id", "period_start")
        .agg(*aggs)
        .withColumn("periods_since_serious", F.coalesce(F.col("_since"), F.lit(lookback + 1)))
        .drop("_since")
    )


def fill_history(df: DataFrame, windows: Sequence[int], groups: Sequence[str], lookback: int = 12) -> DataFrame:
    """Village-periods without any visible incident: counts 0, since-serious at its cap."""
    zero_cols = [c for c in history_columns(windows, groups) if c != "periods_since_serious"]
    filled = {c: F.coalesce(F.col(c), F.lit(0)) for c in zero_cols}
    filled["periods_since_serious"] = F.coalesce(F.col("periods_since_serious"), F.lit(lookback + 1))
    return df.withColumns(filled)


def shrunk_rates(df: DataFrame, window: int, prior_strength: float) -> DataFrame:
    """Incidents per 1,000 residents per period over `window`, raw and shrunk to the township.

    Exposure e = resident_pop / 1000 * window (1,000 person-periods). The township rate r is
    sum(counts) / sum(e) over its villages with a population. Shrunk rate = (y + k r) / (e + k)
    with k = prior_strength: the Poisson-gamma posterior mean under a gamma prior of mean r.
    """
    y = F.col(f"inc_all_{window}").cast("double")
    has_pop = F.col("resident_pop").isNotNull() & (F.col("resident_pop") > 0)
    e = F.when(has_pop, F.col("resident_pop") / 1000.0 * window)
    township = Window.partitionBy("township_id", "period_start").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    with_r = df.withColumn("_e", e).withColumn(
        "township_rate_per_1000",
        F.sum(F.when(has_pop, y)).over(township) / F.sum("_e").over(township),
    )
    k = F.lit(float(prior_strength))
    r = F.col("township_rate_per_1000")
    return with_r.withColumns(
        {
            "rate_per_1000": y / F.col("_e"),
            "rate_per_1000_shrunk": F.when(
                has_pop, (y + k * r) / (F.col("_e") + k)
            ).otherwise(r),
        }
    ).drop("_e")
