"""The registry's rules on rows made by hand: which row is the champion, which candidate may be
promoted, the champion's version read without Spark, and the artifact's checks."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from models.registry import (
    ArtifactError,
    candidate_of,
    champion_of,
    champion_version_of,
    check_candidate,
    file_sha256,
    load_artifact,
)

COLUMNS = ("version string, model string, role string, artifact_path string, features array<string>, "
           "run_id string, created_at timestamp, artifact_sha256 string, promoted_at timestamp")


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 5, day, hour)


def rows(spark, *values):
    return spark.createDataFrame(list(values), COLUMNS)


def test_the_champion_is_the_latest_promoted_one(spark):
    reg = rows(
        spark,
        # r1's champion from a release before promotion (no promoted_at) comes before any promoted one
        ("r1-prev", "prev", "champion", "/a/1", ["x"], "r1", t(1), None, None),
        ("r2-hgb", "hgb", "champion", "/a/2", ["x", "y"], "r2", t(2), "ab", t(4)),
        # promoted later although registered earlier than r2: promotion time decides
        ("r0-logistic", "logistic", "champion", "/a/0", ["y"], "r0", t(1, 1), "cd", t(5)),
        ("r3-hgb", "hgb", "challenger", "/a/3", ["x"], "r3", t(6), None, None),
    )
    champ = champion_of(reg)
    assert (champ.version, champ.model, champ.role, champ.artifact_path, champ.features, champ.artifact_sha256) == (
        "r0-logistic", "logistic", "champion", "/a/0", ["y"], "cd")


def test_no_champion_and_the_candidate_after_it(spark):
    only_challengers = rows(spark, ("r1-prev", "prev", "challenger", "/a/1", ["x"], "r1", t(1), None, None))
    assert champion_of(only_challengers) is None
    assert candidate_of(only_challengers) is None
    reg = rows(
        spark,
        ("r1-prev", "prev", "champion", "/a/1", ["x"], "r1", t(1), None, t(1, 2)),
        ("r2-hgb", "hgb", "candidate", "/a/2", ["x"], "r2", t(2), None, None),
        ("r3-logistic", "logistic", "candidate", "/a/3", ["x"], "r3", t(3), None, None),
    )
    assert candidate_of(reg).version == "r3-logistic"  # the latest run's candidate


def test_a_candidate_registered_before_the_champion_is_not_offered(spark):
    reg = rows(
        spark,
        ("r2-hgb", "hgb", "candidate", "/a/2", ["x"], "r2", t(2), None, None),
        ("r3-prev", "prev", "champion", "/a/3", ["x"], "r3", t(3), None, t(3, 1)),
    )
    assert candidate_of(reg) is None


def test_a_registry_of_an_older_release_without_the_newer_columns(spark):
    old = spark.createDataFrame(
        [("r1-prev", "prev", "champion", "/a/1", ["x"], "r1", t(1))],
        "version string, model string, role string, artifact_path string, features array<string>, "
        "run_id string, created_at timestamp")
    champ = champion_of(old)
    assert champ.version == "r1-prev" and champ.artifact_sha256 is None


def test_the_champion_version_from_rows_read_without_spark():
    frame = pd.DataFrame({
        "version": ["a", "b", "c", "d"],
        "role": ["champion", "champion", "challenger", "champion"],
        "promoted_at": [None, t(3), t(9), t(2)],
        "created_at": [t(5), t(1), t(1), t(4)],
        "run_id": ["r5", "r1", "r1", "r4"],
    })
    # promoted ones after the unpromoted one; among them the latest promotion (b, 3 May)
    assert champion_version_of(frame) == "b"
    # a registry without promoted_at: by creation time
    assert champion_version_of(frame.drop(columns=["promoted_at"])) == "a"
    assert champion_version_of(frame[frame["role"] == "challenger"]) is None


@pytest.mark.parametrize(("roles", "message"), [
    ([], "version v1 is not a candidate (no such version)"),
    (["champion"], "version v1 is not a candidate (roles champion)"),
    (["candidate", "candidate"], "version v1 is not a candidate (roles candidate, candidate)"),
])
def test_only_exactly_one_candidate_row_is_promoted(roles, message):
    check_candidate("v1", ["candidate"])  # passes
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_candidate("v1", roles)


def test_an_artifact_is_loaded_only_with_its_recorded_hash(tmp_path):
    path = tmp_path / "model.joblib"
    path.write_bytes(b"not a pickle")
    # sha256("not a pickle"), computed with hashlib by hand
    import hashlib

    assert file_sha256(str(path)) == hashlib.sha256(b"not a pickle").hexdigest()
    with pytest.raises(ArtifactError, match="was changed after training"):
        load_artifact(str(path), "0" * 64)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(str(tmp_path / "missing.joblib"))
    with pytest.raises(ArtifactError, match="is not on a local or mounted file system"):
        load_artifact("s3://bucket/model.joblib")
