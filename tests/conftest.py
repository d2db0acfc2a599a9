"""One SparkSession for the whole suite (Delta, 4 shuffle partitions, UI off), temp lakehouses
and the generated county run once (county_fixture.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from county_fixture import county_run  # noqa: F401 - the generated county, run once per session

os.environ.setdefault("RURAL_RISK_PSEUDONYM_KEY", "test-key-for-the-suite-only")


@pytest.fixture(scope="session")
def settings():
    from conf import load_settings

    return load_settings("test")


@pytest.fixture(scope="session")
def spark(settings) -> Iterator:
    from jobs.spark import build_spark

    session = build_spark(settings, app_name="rural-risk-tests")
    yield session
    session.stop()


@pytest.fixture()
def lakehouse(tmp_path: Path):
    from jobs.lakehouse import Lakehouse

    return Lakehouse(str(tmp_path / "lakehouse"))


@pytest.fixture()
def ctx(spark, settings, lakehouse):
    """A run context on a fresh temp lakehouse, sharing the suite's SparkSession."""
    from jobs.context import RunContext

    return RunContext(settings=settings, lakehouse=lakehouse, run_id="test-run").attach(spark)
