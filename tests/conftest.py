"""One SparkSession for the whole suite (Delta, 1 shuffle partition, UI off), temp lakehouses
and the generated county run once (county_fixture.py).

`make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`), each with
its own session: the tests of one file form one group and run on one worker (a module's
fixtures are made once), the two users of the county run share the group "county", and the
two longest groups, the Airflow end-to-end run and the county, are collected first so they
start at once, one on each worker. The tests of SPLIT_FILES (minutes each, function-scoped
fixtures only) are groups of their own and come next, longest file first: both workers take
them as they free up, and what is left for the end is short. A plain `pytest` run ignores
the groups.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from county_fixture import county_run  # noqa: F401 - the generated county, run once per session

os.environ.setdefault("RURAL_RISK_PSEUDONYM_KEY", "test-key-for-the-suite-only-not-a-secret")

FIRST_GROUPS = ("airflow-e2e", "county")  # the longest groups (marked in their modules)
# Files of long tests that share no module- or class-scoped fixture, longest first (from the
# suite's --durations, docs/benchmarks.md): each test is its own group.
SPLIT_FILES = ("tests/jobs/test_ingest.py", "tests/jobs/test_features.py", "tests/jobs/test_score.py",
               "tests/jobs/test_model_runs.py", "tests/jobs/test_train.py")


def _file(item: pytest.Item) -> str:
    return item.path.relative_to(item.config.rootpath).as_posix()


def _group(item: pytest.Item) -> str:
    mark = item.get_closest_marker("xdist_group")
    if mark:
        return str(mark.args[0])
    return item.nodeid if _file(item) in SPLIT_FILES else _file(item)


def _order(item: pytest.Item) -> tuple[int, int]:
    group, file = _group(item), _file(item)
    if group in FIRST_GROUPS:
        return (0, FIRST_GROUPS.index(group))
    if file in SPLIT_FILES:
        return (1, SPLIT_FILES.index(file))
    return (2, 0)


@pytest.hookimpl(tryfirst=True)  # before xdist appends the group to each test id
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(_group(item)))
    for item in items:  # a test of SPLIT_FILES is a group of its own: no fixture may outlive it
        if _file(item) in SPLIT_FILES:
            shared = sorted(name for name, defs in item._fixtureinfo.name2fixturedefs.items()
                            if any(d.scope in ("package", "module", "class") for d in defs))
            if shared:
                raise pytest.UsageError(f"{item.nodeid} uses fixtures shared across tests ({', '.join(shared)}): "
                                        f"remove {_file(item)} from SPLIT_FILES in tests/conftest.py")
    items.sort(key=_order)  # stable: file order kept within each rank


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory):
    """The test profile, with Great Expectations' Data Docs in a temp folder (not the working
    folder's reports/, which two workers would write at once)."""
    from conf import load_settings

    loaded = load_settings("test")
    quality = loaded.data.setdefault("ingest", {}).setdefault("quality", {})
    quality["data_docs_dir"] = str(tmp_path_factory.mktemp("data-docs"))
    return loaded


@pytest.fixture(scope="session")
def spark(settings) -> Iterator:
    from jobs.spark import build_spark

    session = build_spark(settings, app_name="rural-risk-tests")
    yield session
    session.stop()


@pytest.fixture()
def lakehouse(tmp_path: Path):
    from store.lakehouse import Lakehouse

    return Lakehouse(str(tmp_path / "lakehouse"))


@pytest.fixture()
def ctx(spark, settings, lakehouse):
    """A run context on a fresh temp lakehouse, sharing the suite's SparkSession."""
    from jobs.context import RunContext

    return RunContext(settings=settings, lakehouse=lakehouse, run_id="test-run").attach(spark)
