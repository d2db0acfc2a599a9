"""The Delta jar cache (jobs/jars.py) without Spark: where it is, which manifest counts as a hit,
the fallback list of coordinates, and that a cold cache tries each candidate in order (Spark's
resolver replaced by a stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conf import Settings
from jobs import jars

A = ["io.delta:delta-spark_4.1_2.13:4.4.1"]
B = ["io.delta:delta-spark_4.1_2.13:4.4.0"]


def _settings(tmp_path: Path, packages) -> Settings:
    return Settings(profile="test", data={"delta": {"packages": packages, "jar_cache": str(tmp_path / "jars")}})


def test_the_cache_folder_setting_and_its_override(tmp_path, monkeypatch):
    monkeypatch.delenv("RURAL_RISK_JAR_CACHE", raising=False)
    assert jars.cache_dir(_settings(tmp_path, [A])) == tmp_path / "jars"
    relative = Settings(profile="test", data={"delta": {"packages": [A], "jar_cache": ".cache/jars"}})
    assert jars.cache_dir(relative) == jars.PROJECT_ROOT / ".cache" / "jars"  # relative to the project
    monkeypatch.setenv("RURAL_RISK_JAR_CACHE", str(tmp_path / "elsewhere"))
    assert jars.cache_dir(relative) == tmp_path / "elsewhere"


def test_one_list_is_one_candidate_a_list_of_lists_is_tried_in_order(tmp_path):
    assert jars.candidate_packages(_settings(tmp_path, A)) == [A]
    assert jars.candidate_packages(_settings(tmp_path, [A, B])) == [A, B]


def test_a_hit_needs_the_configured_coordinates_and_every_jar(tmp_path, monkeypatch):
    monkeypatch.delenv("RURAL_RISK_JAR_CACHE", raising=False)
    s = _settings(tmp_path, [A, B])
    folder = tmp_path / "jars"
    assert jars.cached_jars(s) is None  # no manifest
    folder.mkdir()
    (folder / "delta-spark.jar").write_bytes(b"x")
    (folder / jars.MANIFEST).write_text(json.dumps({"packages": B, "jars": ["delta-spark.jar"]}))
    assert jars.cached_jars(s) == [folder / "delta-spark.jar"]  # the fallback candidate counts
    (folder / jars.MANIFEST).write_text(json.dumps({"packages": ["other:thing:1"], "jars": ["delta-spark.jar"]}))
    assert jars.cached_jars(s) is None  # other coordinates: a miss
    (folder / jars.MANIFEST).write_text(json.dumps({"packages": B, "jars": ["delta-spark.jar", "gone.jar"]}))
    assert jars.cached_jars(s) is None  # a listed jar is missing


def test_a_cold_cache_resolves_the_first_candidate_that_is_served(tmp_path, monkeypatch):
    monkeypatch.delenv("RURAL_RISK_JAR_CACHE", raising=False)
    s = _settings(tmp_path, [A, B])
    delivered = tmp_path / "ivy-out"
    delivered.mkdir()
    (delivered / "io.delta_delta-spark_4.1_2.13-4.4.0.jar").write_bytes(b"jar")
    tried = []

    def resolver(packages, ivy):
        tried.append(packages)
        return [] if packages == A else [delivered / "io.delta_delta-spark_4.1_2.13-4.4.0.jar"]

    monkeypatch.setattr(jars, "_resolve_with_spark", resolver)
    got = jars.ensure_jars(s)
    assert tried == [A, B]
    assert got == [tmp_path / "jars" / "io.delta_delta-spark_4.1_2.13-4.4.0.jar"]
    assert json.loads((tmp_path / "jars" / jars.MANIFEST).read_text()) == {
        "packages": B, "jars": ["io.delta_delta-spark_4.1_2.13-4.4.0.jar"]}
    assert jars.ensure_jars(s) == got and tried == [A, B]  # warm: no second resolve


def test_nothing_served_names_every_candidate_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("RURAL_RISK_JAR_CACHE", raising=False)
    monkeypatch.setattr(jars, "_resolve_with_spark", lambda packages, ivy: [])
    with pytest.raises(jars.JarCacheError, match=r"none of the Delta jar sets \(io.delta:delta-spark_4.1_2.13:4.4.1; "
                                                 r"io.delta:delta-spark_4.1_2.13:4.4.0\).*Maven Central"):
        jars.resolve_jars(_settings(tmp_path, [A, B]))
