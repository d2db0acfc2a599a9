"""The driver's class archive option: added when built and wanted, left out otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from conf import load_settings
from jobs import class_archive
from jobs.spark import spark_conf

JARS = [Path("io.delta_delta-spark_4.1_2.13-4.4.0.jar"), Path("io.delta_delta-storage-4.4.0.jar")]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(class_archive, "FOLDER", tmp_path)
    monkeypatch.delenv("RURAL_RISK_CLASS_ARCHIVE", raising=False)
    return tmp_path


def test_the_archive_is_named_after_the_runtime_and_the_jar_set(folder):
    path = class_archive.archive_path(JARS)
    assert path.parent == folder and path.name.startswith("spark-") and path.suffix == ".jsa"
    assert class_archive.archive_path(JARS[:1]) != path  # another Delta jar set: another archive
    assert class_archive.archive_path(list(reversed(JARS))) == path


def test_option_only_for_a_built_archive_the_profile_wants(folder, monkeypatch):
    settings = load_settings("test")
    assert class_archive.java_option(settings, JARS) is None  # not built
    path = class_archive.archive_path(JARS)
    path.write_bytes(b"archive")
    assert class_archive.java_option(settings, JARS) == f"-XX:SharedArchiveFile={path}"
    monkeypatch.setenv("RURAL_RISK_CLASS_ARCHIVE", "0")
    assert class_archive.java_option(settings, JARS) is None
    monkeypatch.delenv("RURAL_RISK_CLASS_ARCHIVE")
    settings.data["spark"]["class_archive"] = False
    assert class_archive.java_option(settings, JARS) is None


def test_spark_conf_appends_the_archive_to_the_profile_driver_options(folder):
    settings = load_settings("test")
    jars = [Path(j) for j in spark_conf(settings)["spark.jars"].split(",")]
    path = class_archive.archive_path(jars)
    path.write_bytes(b"archive")
    java = spark_conf(settings)["spark.driver.extraJavaOptions"].split()
    assert java[:2] == ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]  # conf/profiles/test.yaml
    assert java[-1] == f"-XX:SharedArchiveFile={path}"
    assert f"-XX:SharedArchiveFile={path}" not in spark_conf(settings)["spark.executor.extraJavaOptions"]
