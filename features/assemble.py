"""The spine (village x period) and the join of every feature family into gold.village_features."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from features import dictionary
from features.calendar import calendar_features
from features.governance import governance_index
from features.incidents import (
    fill_history,
    incident_history,
    incident_versions,
    shrunk_rates,
    silver_versions,
)
from features.labels import labels
from features.organizations import (
    camera_features,
    organization_features,
    police_distance,
    resource_rates,
)
from features.patrol import patrol_dosage, patrol_rates
from features.periods import periods_per_year
from features.pit import target_periods
from features.population import population_asof
from features.spatial import neighbour_pairs, spillover
from features.survey import survey_features

# Schemas of the silver tables (docs/tables.md) for optional sources that are absent.
SILVER_DDL = {
    "population": "village_id STRING, snapshot_date DATE, households INT, registered_pop INT, "
    "resident_pop INT, pop_under_15 INT, pop_15_59 INT, pop_60_plus INT, left_behind_children INT, "
    "left_behind_elderly INT, migrant_workers_out INT, low_income_households INT, "
    "per_capita_income_yuan DOUBLE, updated_at TIMESTAMP",
    "patrols": "patrol_id STRING, unit_id STRING, unit_type STRING, village_id STRING, "
    "started_at TIMESTAMP, ended_at TIMESTAMP, duration_hours DOUBLE, personnel INT, mode STRING, "
    "distance_km DOUBLE, checkpoints INT, is_night BOOLEAN, updated_at TIMESTAMP",
    "organizations": "org_id STRING, village_id STRING, org_type STRING, members INT, "
    "trained_members INT, established_on DATE, dissolved_on DATE, updated_at TIMESTAMP",
    "resources": "resource_id STRING, resource_type STRING, village_id STRING, longitude DOUBLE, "
    "latitude DOUBLE, installed_on DATE, removed_on DATE, status STRING, updated_at TIMESTAMP",
    "survey": "response_id STRING, village_id STRING, surveyed_on DATE, age_band STRING, "
    "gender STRING, q_safety INT, q_trust_police INT, q_participation INT, q_satisfaction INT, "
    "q_knows_grid_worker BOOLEAN, updated_at TIMESTAMP",
}


@dataclass(frozen=True)
class Inputs:
    """The silver tables the features read (optional ones may be empty), plus bronze history."""

    villages: DataFrame
    incidents: DataFrame
    population: DataFrame
    patrols: DataFrame
    organizations: DataFrame
    resources: DataFrame
    survey: DataFrame
    bronze_incidents: DataFrame | None = None
    quarantine: DataFrame | None = None


def empty_silver(spark: SparkSession, source: str) -> DataFrame:
    return spark.createDataFrame([], SILVER_DDL[source])


def lookback_periods(grain: str) -> int:
    """Periods in a year: the 'same period last year' lag (12, 52, 4 or 1)."""
    return periods_per_year(grain)


def _join(left: DataFrame, right: DataFrame) -> DataFrame:
    return left.join(right, on=["village_id", "period_start"], how="left")


def build_village_features(
    spark: SparkSession,
    inp: Inputs,
    periods: Sequence[date],
    last_period: date,
    grain: str,
    conf: Mapping[str, Any],
    calendar: Mapping[str, Any],
    codes: Mapping[str, Any] | None = None,
    persist: Callable[[DataFrame], DataFrame] = lambda df: df,
) -> DataFrame:
    """gold.village_features rows of `periods` (labels need `last_period`, the last complete one).

    `persist` may cache the incident-history frame that both the village and its neighbours'
    features read (the job passes one that it releases after the write).
    """
    lookback = lookback_periods(grain)
    strict = set(conf.get("require_updated_before_period_end") or [])
    targets = target_periods(spark, list(periods), grain)
    villages = inp.villages.select(
        "village_id", "township_id", "longitude", "latitude", F.col("area_km2").cast("double")
    )
    spine = villages.crossJoin(F.broadcast(targets))

    if "incidents" in strict:
        versions = incident_versions(inp.incidents, inp.bronze_incidents, codes, inp.quarantine)
    else:  # business dates only: the latest version, visible from its report time
        versions = silver_versions(inp.incidents).withColumns(
            {"known_from": F.col("reported_at"), "known_to": F.lit(None).cast("timestamp")}
        )
    groups = list(conf["category_groups"])
    mech = conf["mechanism"]
    history = incident_history(
        versions, targets, grain, conf["windows"], conf["category_groups"],
        conf["severity_weights"], conf["serious_severity"], conf["citizen_sources"],
        conf["patrol_sources"], conf["trend"]["short"], conf["trend"]["long"],
        mech["response_window"], mech["resolution_window"], lookback,
    )
    pop = population_asof(inp.population, spine, "population" in strict)
    base = persist(
        spine.transform(lambda df: _join(df, pop))
        .transform(lambda df: _join(df, history))
        .transform(lambda df: fill_history(df, conf["windows"], groups, lookback))
        .transform(lambda df: shrunk_rates(df, conf["rate"]["window"], conf["rate"]["prior_strength"]))
    )

    nb = conf["neighbours"]
    pairs = neighbour_pairs(villages, nb["k"], nb["max_km"], nb["min_km"])
    spill_cols = {f"nbr_inc_{w}": f"inc_all_{w}" for w in nb["windows"]}
    spill_cols |= {f"nbr_sev_{w}": f"inc_sev_{w}" for w in nb["windows"]}
    spill_cols["spatial_lag_rate"] = "rate_per_1000_shrunk"
    spill = spillover(base, F.broadcast(pairs), spill_cols)

    pc = conf["patrol"]
    patrol = patrol_dosage(
        inp.patrols, targets, grain, pc["windows"], pc["unit_types"], pc["police_unit_types"],
        pc["joint_unit_types"], "patrols" in strict,
    )
    orgs = organization_features(
        inp.organizations, spine, conf["organizations"]["mass_prevention_types"],
        "organizations" in strict,
    )
    cams = camera_features(inp.resources, spine, "resources" in strict)
    police = police_distance(
        inp.resources, villages, spine, conf["resources"]["police_types"], "resources" in strict
    )
    survey = survey_features(
        inp.survey, spine, conf["survey"]["wave_grain"], conf["survey"]["prior_responses"]
    )
    cal = calendar_features(
        spark, list(periods), grain,
        calendar["spring_festival_window"]["days_before"], calendar["harvest_months"],
    )
    lab = labels(
        spine, inp.incidents, conf["label"]["sources"], conf["severity_weights"],
        conf["label"]["high_risk_share"], last_period, grain,
    )
    joined = base
    for family in (spill, patrol, orgs, cams, police, survey, lab):
        joined = _join(joined, family)
    joined = (
        joined.join(F.broadcast(cal), on="period_start", how="left")
        .transform(lambda df: patrol_rates(df, pc["windows"], pc["unit_types"]))
        .transform(resource_rates)
        .withColumn(
            "survey_responses_per_1000",
            F.when(F.col("resident_pop") > 0, F.col("survey_responses") * 1000.0 / F.col("resident_pop")),
        )
    )
    return joined.select(*_contract(dictionary.village_feature_columns(conf, grain)))


def _contract(columns: list[dictionary.Column]) -> list:
    """The closing select: every dictionary column, cast, carrying its comment."""
    return [
        F.col(c.name).cast(dictionary.TYPES[c.type]).alias(c.name, metadata={"comment": c.comment})
        for c in columns
    ]


def build_governance(
    features: DataFrame, weights: Mapping[str, float], sub_scores: Mapping[str, Mapping]
) -> DataFrame:
    """gold.governance_index rows from the village features of the same periods."""
    return governance_index(features, weights, sub_scores).select(
        *_contract(dictionary.governance_columns())
    )
