"""Organizations, cameras and police distance active at each period's end, by hand."""

from __future__ import annotations

import math
from datetime import date

from pyspark.sql import functions as F
from silver_rows import frame

from features.organizations import (
    camera_features,
    organization_features,
    police_distance,
    resource_rates,
)
from features.pit import target_periods

MASS = ["joint_defense_team", "volunteer_patrol", "mediation_committee", "grid_workers"]
JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)


def _org(oid, vid, kind, members, trained, est, dissolved=None, updated=None):
    return {"org_id": oid, "village_id": vid, "org_type": kind, "members": members,
            "trained_members": trained, "established_on": est, "dissolved_on": dissolved,
            "updated_at": updated or f"{est} 00:00:00"}


def _res(rid, kind, vid, installed, status="working", lon=None, lat=None, removed=None):
    return {"resource_id": rid, "resource_type": kind, "village_id": vid, "longitude": lon,
            "latitude": lat, "installed_on": installed, "removed_on": removed, "status": status,
            "updated_at": f"{installed} 00:00:00"}


def _km(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return round(2 * 6371.0088 * math.asin(math.sqrt(a)), 3)


def test_organizations_cameras_and_police_by_hand(spark):
    villages = spark.createDataFrame(
        [("V1", "T1", 0.0, 0.0, 2.0), ("V2", "T1", 0.02, 0.0, 4.0)],
        "village_id STRING, township_id STRING, longitude DOUBLE, latitude DOUBLE, area_km2 DOUBLE",
    )
    spine = villages.crossJoin(target_periods(spark, [JAN, FEB], "month"))
    orgs = frame(spark, "organizations", [
        _org("O1", "V1", "joint_defense_team", 20, 10, "2020-01-01"),
        _org("O2", "V1", "mediation_committee", 10, 5, "2024-02-10"),
        _org("O3", "V1", "security_company", 8, 8, "2019-01-01"),
        _org("O4", "V2", "volunteer_patrol", 30, 0, "2019-01-01", dissolved="2024-02-01"),
        # corrected on 20 February: not known at the end of January
        _org("O5", "V2", "grid_workers", 4, 4, "2019-01-01", updated="2024-02-20 00:00:00"),
    ])
    got = {(r[0], r[1]): tuple(r[2:]) for r in organization_features(orgs, spine, MASS, True).select(
        "village_id", "period_start", "orgs_active", "org_types_active", "mass_orgs_active",
        "mass_members", "mass_trained_share").collect()}
    assert got == {
        ("V1", JAN): (2, 2, 1, 20, 0.5), ("V1", FEB): (3, 3, 2, 30, 0.5),
        ("V2", JAN): (1, 1, 1, 30, 0.0), ("V2", FEB): (1, 1, 1, 4, 1.0),
    }
    resources = frame(spark, "resources", [
        _res("R1", "camera", "V1", "2023-01-01"),
        _res("R2", "camera", "V1", "2023-01-01", status="broken"),
        _res("R3", "camera", "V1", "2024-02-10"),
        _res("R4", "camera", "V2", "2023-01-01", removed="2024-01-20"),
        _res("S1", "police_station", "V1", "2000-01-01", lon=0.0, lat=0.01),
        _res("S2", "police_post", "V2", "2024-02-05"),  # no coordinates: stands at V2's point
        # recorded broken on 15 February: working at the end of January
        _res("R5", "camera", "V2", "2023-01-01", status="broken") | {"updated_at": "2024-02-15 00:00:00"},
    ])
    by_dates = camera_features(resources, spine, False).collect()
    assert {(r[0], r[1]): r[2] for r in by_dates} == {("V1", JAN): 1, ("V1", FEB): 2, ("V2", JAN): 1}
    cams = camera_features(resources, spine, True)
    police = police_distance(resources, villages, spine, ["police_station", "police_post"], True)
    joined = (
        spine.join(cams, on=["village_id", "period_start"], how="left")
        .join(police, on=["village_id", "period_start"], how="left")
        .join(organization_features(orgs, spine, MASS, True), on=["village_id", "period_start"], how="left")
        .withColumn("resident_pop", F.lit(500))
        .transform(resource_rates)
    )
    got = {(r[0], r[1]): tuple(r[2:]) for r in joined.select(
        "village_id", "period_start", "cameras_working", "cameras_per_1000", "cameras_per_km2",
        F.round("km_to_police", 3), "mass_members_per_1000").collect()}
    assert got == {
        ("V1", JAN): (1, 2.0, 0.5, _km(0, 0, 0, 0.01), 40.0),
        ("V1", FEB): (2, 4.0, 1.0, _km(0, 0, 0, 0.01), 60.0),
        ("V2", JAN): (0, 0.0, 0.0, _km(0.02, 0, 0, 0.01), 60.0),
        ("V2", FEB): (0, 0.0, 0.0, 0.0, 8.0),
    }
