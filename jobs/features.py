"""`rural-risk features`: gold.village_features and gold.governance_index, point-in-time and incremental.

The job only orchestrates: read silver (and bronze incident versions), pick the periods to
(re)compute, call the pure transforms of features/, write with replaceWhere on those periods.
A run remembers, as properties of gold.village_features, the ops.changed_periods version it
consumed and a hash of the feature settings; the next run recomputes only the periods the
newer changes reach (see features/incremental.py), or everything on --full-rebuild or when
the settings changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from jobs.arguments import add_as_of
from jobs.context import RunContext
from store import catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "build village risk features, labels and the governance-capacity index (incremental)"

FEATURES_TABLE = catalog.VILLAGE_FEATURES
GOVERNANCE_TABLE = catalog.GOVERNANCE_INDEX
CHANGES_TABLE = catalog.CHANGED_PERIODS
PROP_VERSION = "rural_risk.changed_periods_version"
PROP_HASH = "rural_risk.settings_hash"
# Digest of the inputs the table was last brought up to date from (jobs/reuse.py).
PROP_INPUTS = "rural_risk.inputs"
INPUTS = (catalog.SILVER_VILLAGES, catalog.SILVER_INCIDENTS, catalog.SILVER_POPULATION, catalog.SILVER_PATROLS,
          catalog.SILVER_ORGANIZATIONS, catalog.SILVER_RESOURCES, catalog.SILVER_SURVEY, catalog.bronze("incidents"),
          catalog.QUARANTINE, CHANGES_TABLE)


class FeatureInputError(ValueError):
    """A required silver table is missing or holds no usable rows."""


@dataclass
class FeatureRunSummary:
    as_of: date
    first_period: date | None
    last_period: date | None
    mode: str
    periods: list[date] = field(default_factory=list)
    rows: int = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "builds features and labels of the complete periods")
    parser.add_argument(
        "--full-rebuild", action="store_true",
        help="recompute every period instead of only those new or changed data touch",
    )


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    if build_features(ctx, as_of=args.as_of, full_rebuild=args.full_rebuild) is None:
        print("features unchanged: their inputs are those of the last features run (see the log)")
    return 0


def _settings_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _read_inputs(ctx: RunContext):
    from pyspark.sql import functions as F

    from features.assemble import Inputs, empty_silver

    spark, lh = ctx.spark, ctx.lakehouse
    for name in (catalog.SILVER_VILLAGES, catalog.SILVER_INCIDENTS):
        if not lh.exists(spark, name):
            raise FeatureInputError(f"{name} does not exist under {lh.root}: run `rural-risk ingest` first")

    def optional(source: str) -> DataFrame:
        name = f"silver.{source}"
        return lh.read(spark, name) if lh.exists(spark, name) else empty_silver(spark, source)

    bronze = None
    if lh.exists(spark, catalog.bronze("incidents")):
        bronze = lh.read(spark, catalog.bronze("incidents")).withColumn("_line", F.col("_line").cast("long"))
    quarantine = None
    if lh.exists(spark, catalog.QUARANTINE):
        quarantine = lh.read(spark, catalog.QUARANTINE).filter(F.col("source") == "incidents")
    return Inputs(
        villages=lh.read(spark, catalog.SILVER_VILLAGES),
        incidents=lh.read(spark, catalog.SILVER_INCIDENTS).filter(F.col("village_id").isNotNull()),
        population=optional("population"),
        patrols=optional("patrols"),
        organizations=optional("organizations"),
        resources=optional("resources"),
        survey=optional("survey"),
        bronze_incidents=bronze,
        quarantine=quarantine,
    )


def _first_period(ctx: RunContext, incidents: DataFrame, grain: str) -> date:
    from pyspark.sql import functions as F

    from features.periods import period_start

    first = incidents.agg(F.min(F.to_date("reported_at")).alias("d")).first()["d"]
    if first is None:
        raise FeatureInputError("silver.incidents holds no rows with a village: nothing to build")
    return period_start(first, grain)


def _state(ctx: RunContext) -> dict[str, str]:
    spark, lh = ctx.spark, ctx.lakehouse
    if not lh.exists(spark, FEATURES_TABLE):
        return {}
    row = lh.delta(spark, FEATURES_TABLE).detail().select("properties").first()
    return dict(row["properties"] or {}) if row else {}


def _changes_since(ctx: RunContext, old_version: int | None, new_version: int | None) -> list[tuple[str, date]]:
    """(source, period_start) of ops.changed_periods rows added after old_version."""
    if new_version is None or old_version == new_version:
        return []
    spark, path = ctx.spark, ctx.lakehouse.path(CHANGES_TABLE)
    reader = spark.read.format("delta")
    cur = reader.option("versionAsOf", new_version).load(path)
    if old_version is not None:
        cur = cur.exceptAll(reader.option("versionAsOf", old_version).load(path))
    rows = cur.select("source", "period_start").distinct().collect()
    return [(r["source"], r["period_start"]) for r in rows if r["period_start"] is not None]


def _write(ctx: RunContext, df: DataFrame, name: str, schema, periods: list[date], full: bool) -> None:
    lh, spark = ctx.lakehouse, ctx.spark
    lh.create(spark, name, schema)
    writer = df.write.format("delta").mode("overwrite")
    if full:
        writer = writer.option("overwriteSchema", "true")
    else:
        listed = ", ".join(f"DATE'{p.isoformat()}'" for p in periods)
        writer = writer.option("replaceWhere", f"period_start IN ({listed})")
    writer.save(lh.path(name))


def _inputs_property(digest: str, features_version: int | None, governance_version: int | None) -> str:
    """The PROP_INPUTS value: the inputs' digest and the versions of both output tables."""
    return f"{digest};{FEATURES_TABLE}@{features_version};{GOVERNANCE_TABLE}@{governance_version}"


def build_features(
    ctx: RunContext, as_of: date | None = None, full_rebuild: bool = False
) -> FeatureRunSummary | None:
    """Build (or bring up to date) gold.village_features and gold.governance_index. None: the
    tables were last brought up to date from the same inputs (nothing read, no Spark started);
    --full-rebuild always builds."""
    from features import dictionary
    from features.assemble import build_governance, build_village_features
    from features.incremental import periods_to_compute
    from features.periods import last_complete_period
    from features.pit import periods_between
    from jobs.reuse import decide, stage_inputs, table_properties, table_version

    inputs_record = stage_inputs(ctx, "features", INPUTS, as_of=as_of)
    if full_rebuild:
        ctx.log.info("features: --full-rebuild: every period (inputs %s)", inputs_record.described())
    elif (governance_version := table_version(ctx, GOVERNANCE_TABLE)) is not None:
        # A property outlives its commit: it holds only while both tables are at the versions
        # that run left (any later write, by anyone, makes the stage run).
        expected = _inputs_property(inputs_record.digest, table_version(ctx, FEATURES_TABLE),
                                    governance_version)
        recorded = table_properties(ctx, FEATURES_TABLE).get(PROP_INPUTS)
        record = {"inputs": inputs_record.digest if recorded == expected else None,
                  "run_id": "recorded in its properties"}
        if decide(ctx, inputs_record, [record], [FEATURES_TABLE]) is not None:
            return None
    spark, lh, settings = ctx.spark, ctx.lakehouse, ctx.settings
    grain = str(settings.get("period", "month"))
    conf, calendar = settings.section("features"), settings.section("calendar")
    gov, codes = settings.section("governance"), settings.section("codes")
    as_of = ctx.resolve_as_of(as_of)
    with ctx.stage("features: read inputs") as st:
        inputs = _read_inputs(ctx)
        first = _first_period(ctx, inputs.incidents, grain)
        last = last_complete_period(as_of, grain)
        all_periods = periods_between(first, last, grain)
        st.done(detail=f"as of {as_of}: periods {first}..{last} ({len(all_periods)})")
    if not all_periods:
        raise FeatureInputError(
            f"no complete {grain} between the first incident ({first}) and the as-of date {as_of}"
        )
    settings_hash = _settings_hash(grain, conf, calendar, gov)
    state = _state(ctx)
    changes_version = lh.version(spark, CHANGES_TABLE)
    full = full_rebuild or not state or state.get(PROP_HASH) != settings_hash
    if full:
        periods, mode = all_periods, "full rebuild"
    else:
        old = state.get(PROP_VERSION)
        changes = _changes_since(ctx, int(old) if old not in (None, "") else None, changes_version)
        existing = [
            r["period_start"]
            for r in lh.read(spark, FEATURES_TABLE).select("period_start").distinct().collect()
        ]
        periods = periods_to_compute(
            changes, existing, all_periods, conf["reach_periods"], grain
        )
        mode = f"incremental ({len(changes)} changed source-periods)"
    summary = FeatureRunSummary(as_of=as_of, first_period=first, last_period=last, mode=mode,
                                periods=periods)
    if periods:
        cached: list[DataFrame] = []

        def persist(df: DataFrame) -> DataFrame:
            # Materialised at once: later plans read the cache instead of re-planning its lineage.
            cached.append(df.persist())
            cached[-1].count()
            return cached[-1]

        with ctx.stage(f"features: build {len(periods)} periods, {mode}") as st:
            feats = persist(
                build_village_features(
                    spark, inputs, periods, last, grain, conf, calendar, codes, persist=persist
                )
            )
            summary.rows = feats.count()
            _write(ctx, feats, FEATURES_TABLE,
                   dictionary.schema_of(dictionary.village_feature_columns(conf, grain)), periods, full)
            st.done(rows=summary.rows, detail=f"{len(feats.columns)} columns -> {FEATURES_TABLE}")
        with ctx.stage("features: governance index") as st:
            index = build_governance(feats, gov["weights"], gov["sub_scores"])
            _write(ctx, index, GOVERNANCE_TABLE,
                   dictionary.schema_of(dictionary.governance_columns()), periods, full)
            st.done(rows=summary.rows, detail=f"-> {GOVERNANCE_TABLE}")
        for df in cached:
            df.unpersist()
    else:
        ctx.log.info("features: nothing new since the last run (as of %s)", as_of)
    props = {PROP_HASH: settings_hash}
    if changes_version is not None:
        props[PROP_VERSION] = str(changes_version)
    # A run that changed nothing leaves the table's version alone (no properties commit); a
    # commit that happens anyway records the inputs, so the next run on them reads nothing.
    if lh.exists(spark, FEATURES_TABLE) and (periods or any(state.get(k) != v for k, v in props.items())):
        # This ALTER is the features table's next version; the governance index was just written.
        props[PROP_INPUTS] = _inputs_property(inputs_record.digest, lh.version(spark, FEATURES_TABLE) + 1,
                                              lh.version(spark, GOVERNANCE_TABLE))
        listed = ", ".join(f"'{k}' = '{v}'" for k, v in props.items())
        spark.sql(f"ALTER TABLE delta.`{lh.path(FEATURES_TABLE)}` SET TBLPROPERTIES ({listed})")
    for name in (FEATURES_TABLE, GOVERNANCE_TABLE):
        if lh.exists(spark, name):
            lh.register(spark, name)
    return summary
