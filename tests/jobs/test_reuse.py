"""jobs/reuse.py without a JVM: the digest, the commit record, the decision, on delta-rs tables."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from deltalake import CommitProperties, write_deltalake

from conf import Settings
from jobs.context import RunContext
from jobs.reuse import MARK, current_outputs, last_commit_record, stage_inputs, table_version
from store.lakehouse import Lakehouse


@pytest.fixture
def rctx(tmp_path, settings) -> RunContext:
    return RunContext(settings=settings, lakehouse=Lakehouse(str(tmp_path / "lh")), run_id="r1")


def _write(ctx: RunContext, name: str, user_metadata: str | None = None) -> None:
    props = CommitProperties(custom_metadata={"userMetadata": user_metadata}) if user_metadata else None
    write_deltalake(str(ctx.lakehouse.local_path(name)), pd.DataFrame({"x": [1, 2]}), mode="append",
                    commit_properties=props)


def test_versions_and_digest_follow_the_inputs(rctx):
    _write(rctx, "silver.villages")
    _write(rctx, "silver.villages")
    assert table_version(rctx, "silver.villages") == 1 and table_version(rctx, "gold.nothing") is None
    a = stage_inputs(rctx, "score", ["silver.villages", "gold.nothing"], as_of="2024-01-01")
    assert dict(a.tables) == {"gold.nothing": None, "silver.villages": 1}
    assert a.described() == "gold.nothing absent, silver.villages v1"
    assert stage_inputs(rctx, "score", ["silver.villages", "gold.nothing"], as_of="2024-01-01").digest == a.digest
    assert stage_inputs(rctx, "score", ["silver.villages"], as_of="2024-02-01").digest != a.digest
    assert stage_inputs(rctx, "allocate", ["silver.villages"], as_of="2024-01-01").digest != a.digest
    _write(rctx, "silver.villages")
    assert stage_inputs(rctx, "score", ["silver.villages", "gold.nothing"], as_of="2024-01-01").digest != a.digest
    # A setting that shapes results changes the digest; an operational one does not.
    data = dict(rctx.settings.data)
    base = stage_inputs(rctx, "score", ["silver.villages"]).digest
    for key, value, same in (("progress_seconds", 1, True), ("period", "week", False)):
        other = RunContext(settings=Settings(rctx.settings.profile, {**data, key: value}),
                           lakehouse=rctx.lakehouse, run_id="r2")
        assert (stage_inputs(other, "score", ["silver.villages"]).digest == base) is same, key
    # No as-of date: the clock joins the digest.
    assert "today" in stage_inputs(rctx, "score", [], as_of=None).arguments


def test_outputs_are_current_only_when_every_last_commit_names_the_inputs(rctx, caplog):
    _write(rctx, "silver.villages")
    inputs = stage_inputs(rctx, "score", ["silver.villages"], as_of="2024-01-01")
    meta = inputs.user_metadata("r0")
    assert json.loads(meta)[MARK]["tables"] == {"silver.villages": 0}
    _write(rctx, "gold.a", meta)
    _write(rctx, "gold.b", "free text of another writer")
    assert last_commit_record(rctx, "gold.a")["run_id"] == "r0" and last_commit_record(rctx, "gold.b") == {}
    with caplog.at_level(logging.INFO, logger="rural-risk"):
        assert current_outputs(rctx, inputs, ["gold.a", "gold.b"]) is None
        assert "recomputing: gold.b not made from these inputs (silver.villages v0)" in caplog.text
        _write(rctx, "gold.b", meta)
        assert current_outputs(rctx, inputs, ["gold.a", "gold.b"]) == "r0"
        assert current_outputs(rctx, inputs, ["gold.a", "gold.b"], force=True) is None
        assert current_outputs(rctx, inputs, ["gold.a", "gold.absent"]) is None
        _write(rctx, "gold.a")  # a later commit by anyone else: the record no longer holds
        assert current_outputs(rctx, inputs, ["gold.a", "gold.b"]) is None
    assert rctx._spark is None
