"""Organizations and resources active at each period's end: members, cameras, police distance.

An organization is active at the end of period t when established before t ended and not
dissolved by then; a resource when installed before the end and not removed by then. Member
counts are the values of the silver row. With `require_updated_before_end` a row last
updated after t ended is left out of t (its earlier values are unknown to silver); without it
(the default for these two sources) the business dates decide and a camera status recorded
after t ended is taken as an event that had not happened yet at the end of t.
Mean response time (the mechanism input) is computed with the incident history in one pass
(features/incidents.py) and documented with these features.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.spatial import haversine_km


def _active(start: str, end: str) -> Column:
    started = F.col(start) < F.col("period_end")
    not_ended = F.col(end).isNull() | (F.col(end) >= F.col("period_end"))
    return started & not_ended


def _known(require: bool) -> Column:
    return (F.col("updated_at") < F.col("period_end_ts")) if require else F.lit(True)


def organization_features(
    orgs: DataFrame, spine: DataFrame, mass_types: Sequence[str], require_updated_before_end: bool
) -> DataFrame:
    """Per village and period: active organizations, their types and mass-prevention members."""
    keys = spine.select("village_id", "period_start", "period_end", "period_end_ts")
    is_mass = F.col("org_type").isin(*mass_types)
    members = F.col("members").cast("long")
    trained = F.col("trained_members").cast("long")
    return (
        keys.join(orgs, on="village_id", how="inner")
        .filter(_active("established_on", "dissolved_on") & _known(require_updated_before_end))
        .groupBy("village_id", "period_start")
        .agg(
            F.count(F.lit(1)).alias("orgs_active"),
            F.count_distinct("org_type").alias("org_types_active"),
            F.sum(F.when(is_mass, 1).otherwise(0)).alias("mass_orgs_active"),
            F.sum(F.when(is_mass, members).otherwise(0)).alias("mass_members"),
            F.sum(F.when(is_mass, trained).otherwise(0)).alias("_mass_trained"),
        )
        .withColumn(
            "mass_trained_share",
            F.when(F.col("mass_members") > 0, F.col("_mass_trained") / F.col("mass_members")),
        )
        .drop("_mass_trained")
    )


def camera_features(
    resources: DataFrame, spine: DataFrame, require_updated_before_end: bool
) -> DataFrame:
    """Per village and period: working cameras installed and not removed by the period's end."""
    keys = spine.select("village_id", "period_start", "period_end", "period_end_ts")
    is_camera = F.col("resource_type") == "camera"
    # Without the updated_at rule a status is an event at updated_at: a camera whose
    # "broken" was recorded after t ended was still working then (it was installed working).
    status_later = F.col("updated_at") >= F.col("period_end_ts")
    working = (F.col("status") == "working") | (
        F.lit(not require_updated_before_end) & status_later
    )
    return (
        keys.join(resources.filter(is_camera), on="village_id", how="inner")
        .filter(_active("installed_on", "removed_on") & _known(require_updated_before_end) & working)
        .groupBy("village_id", "period_start")
        .agg(F.count(F.lit(1)).alias("cameras_working"))
    )


def police_distance(
    resources: DataFrame,
    villages: DataFrame,
    spine: DataFrame,
    police_types: Sequence[str],
    require_updated_before_end: bool,
) -> DataFrame:
    """Per village and period: km from the village point to the nearest police station or post.

    A station without coordinates stands at the point of the village it belongs to.
    """
    vpoints = villages.select(
        F.col("village_id").alias("r_village"),
        F.col("longitude").alias("v_lon"),
        F.col("latitude").alias("v_lat"),
    )
    stations = (
        resources.filter(F.col("resource_type").isin(*police_types))
        .join(vpoints, on=F.col("village_id") == F.col("r_village"), how="left")
        .select(
            F.coalesce("longitude", "v_lon").alias("s_lon"),
            F.coalesce("latitude", "v_lat").alias("s_lat"),
            "installed_on", "removed_on", "updated_at",
        )
        .filter(F.col("s_lon").isNotNull() & F.col("s_lat").isNotNull())
    )
    here = villages.select("village_id", F.col("longitude").alias("lon"), F.col("latitude").alias("lat"))
    pairs = here.crossJoin(stations).withColumn(
        "km", haversine_km(F.col("lon"), F.col("lat"), F.col("s_lon"), F.col("s_lat"))
    )
    keys = spine.select("village_id", "period_start", "period_end", "period_end_ts")
    return (
        keys.join(pairs, on="village_id", how="inner")
        .filter(_active("installed_on", "removed_on") & _known(require_updated_before_end))
        .groupBy("village_id", "period_start")
        .agg(F.min("km").alias("km_to_police"))
    )


def resource_rates(df: DataFrame) -> DataFrame:
    """Zero-fill counts and add cameras per km2 and per 1,000 residents, members per 1,000."""
    zero = ["orgs_active", "org_types_active", "mass_orgs_active", "mass_members", "cameras_working"]
    filled = df.withColumns({c: F.coalesce(F.col(c), F.lit(0)) for c in zero})
    has_pop = F.col("resident_pop") > 0
    has_area = F.col("area_km2") > 0
    return filled.withColumns(
        {
            "mass_members_per_1000": F.when(
                has_pop, F.col("mass_members") * 1000.0 / F.col("resident_pop")
            ),
            "cameras_per_1000": F.when(
                has_pop, F.col("cameras_working") * 1000.0 / F.col("resident_pop")
            ),
            "cameras_per_km2": F.when(has_area, F.col("cameras_working") / F.col("area_km2")),
        }
    )
