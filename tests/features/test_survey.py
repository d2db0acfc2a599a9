"""Survey: the latest wave known at the period's end, means shrunk toward the township."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F
from silver_rows import frame

from features.pit import target_periods
from features.survey import survey_features


def _resp(rid, vid, day, s, t, p, q):
    return {"response_id": rid, "village_id": vid, "surveyed_on": day, "q_safety": s,
            "q_trust_police": t, "q_participation": p, "q_satisfaction": q,
            "updated_at": "2024-12-01 00:00:00"}


def test_latest_wave_shrunk_toward_township_mean(spark):
    survey = frame(spark, "survey", [
        _resp("a", "V1", "2024-02-10", 1, 1, 1, 1),  # older wave
        _resp("b", "V1", "2024-05-10", 4, 3, 5, 2),
        _resp("c", "V1", "2024-06-20", 2, 3, 3, 4),
        _resp("d", "V1", "2024-08-05", 5, 5, 5, 5),  # after July ended
        _resp("e", "V2", "2024-07-15", 5, 5, 5, 5),
    ])
    spine = spark.createDataFrame(
        [("V1", "T1"), ("V2", "T1"), ("V3", "T1")], "village_id STRING, township_id STRING"
    ).crossJoin(target_periods(spark, [date(2024, 7, 1)], "month"))
    out = survey_features(survey, spine, "quarter", prior_responses=2)
    got = {r[0]: tuple(r[1:]) for r in out.select(
        "village_id", "survey_responses", F.round("survey_safety", 4), F.round("survey_trust_police", 4),
        F.round("survey_participation", 4), F.round("survey_satisfaction", 4), "survey_wave_start",
    ).collect()}
    # township sums over the latest waves: safety 6 + 5, participation 8 + 5, over 3 responses
    assert got == {
        "V1": (2, 3.3333, 3.3333, 4.1667, 3.3333, date(2024, 4, 1)),
        "V2": (1, 4.1111, 4.1111, 4.5556, 4.1111, date(2024, 7, 1)),
        "V3": (0, 3.6667, 3.6667, 4.3333, 3.6667, None),
    }
