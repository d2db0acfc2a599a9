from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conf import ConfigError, load_settings


def test_profile_overrides_base_and_keeps_the_rest():
    settings = load_settings("test")
    assert settings["spark.master"] == "local[2]"
    assert settings["spark.conf"]["spark.sql.shuffle.partitions"] == "1"
    # untouched base values survive the merge
    assert settings["spark.conf"]["spark.ui.enabled"] == "false"
    assert settings.timezone == "Asia/Shanghai"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*cluster, local, test"):
        load_settings("nope")


def test_cluster_refuses_dev_key_and_env_overrides_master(monkeypatch):
    assert load_settings("cluster")["security.allow_dev_key"] is False
    assert load_settings("local")["security.allow_dev_key"] is True
    monkeypatch.setenv("RURAL_RISK_SPARK_MASTER", "spark://elsewhere:7077")
    assert load_settings("cluster")["spark.master"] == "spark://elsewhere:7077"


def test_missing_setting_is_a_clear_error():
    with pytest.raises(ConfigError, match="setting 'spark.nothing' is missing in profile 'local'"):
        load_settings("local")["spark.nothing"]


def test_env_adds_spark_settings_and_names_a_bad_item(monkeypatch):
    monkeypatch.setenv("RURAL_RISK_SPARK_CONF", "spark.eventLog.enabled=true, spark.eventLog.dir=/tmp/ev")
    conf = load_settings("test")["spark.conf"]
    assert conf["spark.eventLog.enabled"] == "true" and conf["spark.eventLog.dir"] == "/tmp/ev"
    assert conf["spark.sql.shuffle.partitions"] == "1"  # the profile's own settings stay
    monkeypatch.setenv("RURAL_RISK_SPARK_CONF", "spark.eventLog.enabled")
    with pytest.raises(ConfigError, match="'spark.eventLog.enabled' is not key=value"):
        load_settings("test")


def test_spark_conf_runs_executors_in_the_configured_zone(monkeypatch):
    import jobs.spark

    # ensure_jars only reads the jar cache when it is warm, but resolves from Maven when cold.
    monkeypatch.setattr(jobs.spark, "ensure_jars", lambda settings: [Path("/jars/delta.jar")])
    monkeypatch.delenv("RURAL_RISK_SPARK_CONF", raising=False)
    for profile in ("cluster", "test"):
        settings = load_settings(profile)
        zoned = replace(settings, data={**settings.data, "timezone": "Europe/Berlin"})
        conf = jobs.spark.spark_conf(zoned)
        assert conf["spark.executorEnv.TZ"] == "Europe/Berlin", profile
        assert conf["spark.sql.session.timeZone"] == "Europe/Berlin", profile
    # a zone the profile (here its env override) sets for the executors is kept
    monkeypatch.setenv("RURAL_RISK_SPARK_CONF", "spark.executorEnv.TZ=UTC")
    conf = jobs.spark.spark_conf(load_settings("cluster"))
    assert conf["spark.executorEnv.TZ"] == "UTC"
    assert conf["spark.sql.session.timeZone"] == "Asia/Shanghai"
