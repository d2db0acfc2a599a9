"""`rural-risk score`: risk of every village for the next period with the registered champion."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from jobs.arguments import add_as_of, add_force
from jobs.context import RunContext
from store import catalog
from store.catalog import TOWNSHIP_AUDIT as AUDIT
from store.catalog import VILLAGE_RISK as RISK

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "score every village's risk for the period after the last complete one (champion model)"

# Columns of gold.village_risk renamed since an earlier release (old name -> name now). The
# table keeps every forecast period, and a period's rows replace only theirs, so a table of
# the earlier release is rewritten once with the new names, every row kept.
RENAMED = {"high_risk": "flagged"}


# What the risk rows and the audit are made from (jobs/reuse.py): a rerun on the same
# versions, settings and code writes nothing.
INPUTS = (catalog.MODEL_REGISTRY, catalog.VILLAGE_FEATURES, catalog.SILVER_VILLAGES,
          catalog.BACKTEST_PREDICTIONS, catalog.SILVER_INCIDENTS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "scores the period after the last complete one")
    add_force(parser)


def score(ctx: RunContext, as_of: date | None = None, force: bool = False) -> Any:
    """Write gold.village_risk for the predicted period and gold.township_audit; return the risk
    rows as written (pandas, one row per village), or None when both tables already hold the
    result of the same inputs (nothing written, no Spark session started)."""
    from pyspark.sql import functions as F

    from conf.language import language
    from features.periods import next_period
    from jobs import registry
    from jobs.reuse import current_outputs, stage_inputs
    from jobs.train import resolve_as_of
    from models.panel import build_panel
    from models.reasons import reason_labels, reason_templates
    from models.registry import ArtifactError, load_artifact
    from models.scoring import rank_and_flag, risk_table, score_spark
    from store.frames import pandas_frame
    from store.schemas import VILLAGE_RISK_SCHEMA as RISK_SCHEMA

    lang = language(ctx.settings)  # a wrong value stops here, before Spark starts
    inputs = stage_inputs(ctx, "score", INPUTS, as_of=as_of)
    if current_outputs(ctx, inputs, (RISK, AUDIT), force) is not None:
        return None
    meta = inputs.user_metadata(ctx.run_id)
    conf = ctx.settings.section("models")
    grain = str(ctx.settings.get("period", "month"))
    spark, lh = ctx.spark, ctx.lakehouse
    champ = registry.current_champion(spark, lh)
    if champ is None:
        raise ArtifactError("ops.model_registry holds no champion: run `rural-risk train` first")
    model = load_artifact(champ.artifact_path, champ.artifact_sha256)
    as_of = resolve_as_of(ctx, as_of)
    sc = conf["scoring"]
    flag_share = float(sc["flag_share"])
    with ctx.stage(f"score with {champ.version}") as st:
        villages = lh.read_optional(spark, catalog.SILVER_VILLAGES)
        panel, _, last = build_panel(spark, lh.read(spark, catalog.VILLAGE_FEATURES), villages, conf, grain,
                                     as_of, history_only=True,
                                     neighbours=ctx.settings.section("features")["neighbours"])
        rows = panel.filter(F.col("period_start") == F.lit(last))
        scored = score_spark(
            rows, model, reason_templates(conf, lang), int(sc["reasons_per_village"]),
            reason_labels(ctx.settings.section("features"), conf, grain, lang),
        )
        # The flag count comes from the period's rows inside the rank window: no count first.
        ranked = rank_and_flag(scored, flag_share)
        predicted = next_period(last, grain)
        risk = risk_table(ranked, villages, predicted, champ.version, ctx.run_id)
        # One Spark job computes the rows (history windows, model, ranks); they are written
        # from the driver and reused by the audit and the caller, never read back.
        risk_rows = pandas_frame(risk.select(*[f.name for f in RISK_SCHEMA.fields]))
        rename_old_columns(ctx)
        lh.overwrite(spark, RISK, risk_rows, RISK_SCHEMA, user_metadata=meta,
                     replace_where=f"period_start = DATE'{predicted.isoformat()}'")
        st.done(rows=len(risk_rows), detail=f"period {predicted}, features of {last}")
    with ctx.stage("township audit") as st:
        audit_rows = write_audit(ctx, champ.model, flag_share, risk_rows, meta)
        st.done(rows=audit_rows)
    return risk_rows


def rename_old_columns(ctx: RunContext) -> list[str]:
    """Rewrite gold.village_risk with the names of RENAMED when it still has old ones; returns
    the old names it found (none for a table of this release)."""
    from store.frames import pandas_frame
    from store.schemas import VILLAGE_RISK_SCHEMA as RISK_SCHEMA

    spark, lh = ctx.spark, ctx.lakehouse
    if not lh.exists(spark, RISK):
        return []
    table = lh.read(spark, RISK)
    old = {o: n for o, n in RENAMED.items() if o in table.columns and n not in table.columns}
    if not old:
        return []
    rows = pandas_frame(table.withColumnsRenamed(old).select(*[f.name for f in RISK_SCHEMA.fields]))
    lh.overwrite(spark, RISK, rows, RISK_SCHEMA,
                 user_metadata=json.dumps({"rural_risk_renamed_columns": old}, sort_keys=True))
    ctx.log.info("%s: renamed %s (%d rows of an earlier release kept)", RISK,
                 ", ".join(f"{o} -> {n}" for o, n in old.items()), len(rows))
    return sorted(old)


def write_audit(ctx: RunContext, model_name: str, flag_share: float, risk_rows: Any,
                user_metadata: str | None = None) -> int:
    """Township audit over the champion's backtest periods plus the newly scored period.

    `risk_rows` is the scored period as written to gold.village_risk (pandas);
    `user_metadata` goes with the commit (the stage's inputs record)."""
    from pyspark.sql import functions as F

    from jobs.model_runs import read_predictions
    from models.audit import flag_backtest, township_audit
    from store.frames import pandas_frame, spark_frame
    from store.schemas import TOWNSHIP_AUDIT_SCHEMA, VILLAGE_RISK_SCHEMA

    spark, lh = ctx.spark, ctx.lakehouse
    scored = spark_frame(spark, risk_rows, VILLAGE_RISK_SCHEMA).select(
        "township_id", "period_start", "flagged",
        F.lit(None).cast("boolean").alias("actual_label"),
    )
    audit = township_audit(scored).withColumn("flags_from", F.lit("scored"))
    preds = read_predictions(spark, lh, ctx.log.info)
    if preds is not None:
        # A backtest row's period_start is the period its flags and outcome are for, the
        # period an audit row describes (as for the scored rows).
        flagged = flag_backtest(preds.filter(F.col("model") == model_name), flag_share).select(
            "township_id", "period_start", "flagged", "actual_label")
        audit = audit.unionByName(township_audit(flagged).withColumn("flags_from", F.lit("backtest")))
    audit = audit.select(
        "township_id", "period_start", "villages", "villages_flagged", "flag_rate", "actual_high_risk_rate",
        "recall", "flags_from", F.lit(model_name).alias("model"), F.lit(ctx.run_id).alias("run_id"),
    )
    # Collected once (a few rows per township and period) and written from the driver, so the
    # row count needs no read of the table back.
    audit_rows = pandas_frame(audit)
    return lh.overwrite(spark, AUDIT, audit_rows, TOWNSHIP_AUDIT_SCHEMA, user_metadata)


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    risk = score(ctx, as_of=args.as_of, force=args.force)
    if risk is None:
        print("village risk unchanged: its inputs are those of the last score (see the log)")
        return 0
    flagged = int(risk["flagged"].fillna(False).astype(bool).sum())
    print(f"scored {len(risk)} villages, {flagged} flagged high risk")
    return 0
