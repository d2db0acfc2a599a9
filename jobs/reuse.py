"""Skip a stage whose inputs are those its current outputs were made from.

A stage (score, allocate, report, features) names the tables it reads. Before it reads
anything it takes their Delta versions, its arguments, the settings that shape results and
a hash of the project's code, and hashes them into one digest (`StageInputs`). Every table it
writes records that digest with the run id: as the userMetadata of the Delta commit (score,
allocate), a table property (features) or a file beside the page (report). When the digest of
a new run equals the one recorded on every output, the outputs are already what this run
would write: the stage logs so and returns without starting Spark (on a local lakehouse the
versions are read with delta-rs). `--force` recomputes anyway.

The versions are read BEFORE the inputs, so a concurrent write makes the record older than the
rows read and the next run recomputes: never the other way round. Anything not in the digest
(a model artifact file replaced in place, the clock when --as-of is given) is not seen.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.context import RunContext

MARK = "rural_risk_stage"
# Setting blocks that change how a run executes, never what it writes.
OPERATIONAL = frozenset({"spark", "delta", "progress_seconds", "reports", "maintenance"})
# conf/<name>.yaml sections a stage's result can depend on (generator and schedule cannot).
SECTIONS = ("allocation", "calendar", "codes", "features", "governance", "ingest", "models")
PACKAGES = ("conf", "features", "jobs", "models")


@functools.cache
def code_sha256() -> str:
    """Hash of the source of every module of the project's packages (from files or a zip)."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        for info in sorted(pkgutil.walk_packages(path, f"{package}."), key=lambda i: i.name):
            spec = info.module_finder.find_spec(info.name, None)
            source = spec.loader.get_source(info.name) if spec and spec.loader else None
            digest.update(info.name.encode())
            digest.update((source or "").encode())
    return digest.hexdigest()


def settings_payload(settings: Any) -> dict[str, Any]:
    """The settings that shape results: the profile's values minus the operational blocks,
    and every result-bearing conf section merged with the profile's overrides."""
    data = {k: v for k, v in settings.data.items() if k not in OPERATIONAL}
    return {"profile_values": data, "sections": {name: settings.section(name) for name in SECTIONS}}


@dataclass(frozen=True)
class StageInputs:
    """What a stage's outputs are made from, and its digest."""

    stage: str
    tables: Mapping[str, int | None]
    arguments: Mapping[str, Any]
    digest: str

    def record(self, run_id: str) -> dict[str, Any]:
        return {"stage": self.stage, "inputs": self.digest, "run_id": run_id,
                "tables": dict(self.tables), "arguments": dict(self.arguments)}

    def user_metadata(self, run_id: str) -> str:
        """The JSON a Delta commit of this stage carries (DESCRIBE HISTORY shows it)."""
        return json.dumps({MARK: self.record(run_id)}, sort_keys=True, default=str)

    def described(self) -> str:
        listed = ", ".join(f"{t} v{v}" if v is not None else f"{t} absent" for t, v in self.tables.items())
        return listed or "no tables"


def table_version(ctx: RunContext, name: str) -> int | None:
    """Latest Delta version of a table (None: absent); delta-rs on a local lakehouse."""
    local = ctx.lakehouse.local_delta(name, without_files=True)
    if local is None:
        return ctx.lakehouse.version(ctx.spark, name)
    return int(local.version()) if local is not False else None


def stage_inputs(ctx: RunContext, stage: str, tables: Iterable[str], **arguments: Any) -> StageInputs:
    """Versions of `tables` now, with the arguments, settings and code, as one digest.

    An `as_of` of None is resolved against the clock by the stages, so today's date joins it."""
    if "as_of" in arguments and arguments["as_of"] is None:
        arguments["today"] = date.today()
    versions = {name: table_version(ctx, name) for name in sorted(set(tables))}
    payload = {"stage": stage, "tables": versions, "arguments": arguments,
               "settings": settings_payload(ctx.settings), "code": code_sha256()}
    text = json.dumps(payload, sort_keys=True, default=str)
    return StageInputs(stage, versions, arguments, hashlib.sha256(text.encode()).hexdigest())


def _parse(user_metadata: str | None) -> dict[str, Any]:
    try:
        record = json.loads(user_metadata) if user_metadata else {}
    except ValueError:  # another writer's free text
        return {}
    found = record.get(MARK) if isinstance(record, dict) else None
    return found if isinstance(found, dict) else {}


def last_commit_record(ctx: RunContext, name: str) -> dict[str, Any]:
    """This module's record in the table's latest commit ({} when absent or written otherwise)."""
    local = ctx.lakehouse.local_delta(name, without_files=True)
    if local is None:
        if not ctx.lakehouse.exists(ctx.spark, name):
            return {}
        row = ctx.lakehouse.delta(ctx.spark, name).history(1).select("userMetadata").first()
        return _parse(row["userMetadata"] if row else None)
    history = local.history(1) if local is not False else []
    return _parse(history[0].get("userMetadata") if history else None)


def table_properties(ctx: RunContext, name: str) -> dict[str, str]:
    """The table's properties ({} when absent); delta-rs on a local lakehouse."""
    local = ctx.lakehouse.local_delta(name, without_files=True)
    if local is None:
        if not ctx.lakehouse.exists(ctx.spark, name):
            return {}
        row = ctx.lakehouse.delta(ctx.spark, name).detail().select("properties").first()
        return dict(row["properties"] or {}) if row else {}
    return dict(local.metadata().configuration) if local is not False else {}


def current_outputs(ctx: RunContext, inputs: StageInputs, outputs: Sequence[str],
                    force: bool = False) -> str | None:
    """The run id whose commits hold every output for these inputs, or None (recompute).

    Logs the decision either way, in words."""
    if force:
        ctx.log.info("%s: --force: recomputing (inputs %s)", inputs.stage, inputs.described())
        return None
    records = [last_commit_record(ctx, name) for name in outputs]
    return decide(ctx, inputs, records, outputs)


def decide(ctx: RunContext, inputs: StageInputs, records: Sequence[Mapping[str, Any]],
           outputs: Sequence[str]) -> str | None:
    """Shared by the table and the file checks: every record must name these inputs."""
    stale = [name for name, rec in zip(outputs, records, strict=True) if rec.get("inputs") != inputs.digest]
    if stale or not records:
        ctx.log.info("%s: recomputing: %s not made from these inputs (%s)", inputs.stage,
                     ", ".join(stale) or "no output", inputs.described())
        return None
    run_id = str(records[0].get("run_id"))
    ctx.log.info("%s: nothing to do: %s already hold the result of these inputs (%s), written by "
                 "run %s; --force recomputes", inputs.stage, ", ".join(outputs), inputs.described(), run_id)
    return run_id
