"""`rural-risk allocate`: the patrol plan of the scored period under real capacity (gold.patrol_plan)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from jobs.arguments import add_as_of, add_force
from jobs.context import RunContext
from store import catalog
from store.catalog import ALLOCATION_BACKTEST as COMPARISON
from store.catalog import PATROL_CAPACITY_USED as CAPACITY
from store.catalog import PATROL_PLAN as PLAN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse: jobs/cli.py runs it under the lakehouse write lock.
WRITES_LAKEHOUSE = True
HELP = "plan patrol hours per village and actor type for the scored period (gold.patrol_plan)"

# What the plan and the comparison are made from (jobs/reuse.py).
INPUTS = (catalog.VILLAGE_RISK, catalog.SILVER_VILLAGES, catalog.BACKTEST_PREDICTIONS, catalog.MODEL_METRICS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "plans patrols for the period after the last complete one")
    parser.add_argument(
        "--skip-backtest", action="store_true",
        help="do not compare the plan with proportional and equal allocation on the backtest",
    )
    add_force(parser)


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    if allocate(ctx, as_of=args.as_of, backtest=not args.skip_backtest, force=args.force) is None:
        print("patrol plan unchanged: its inputs are those of the last allocation (see the log)")
    return 0


def target_rows(ctx: RunContext, risk: DataFrame, as_of: date | None) -> tuple[date, Any]:
    """(period, its gold.village_risk rows as pandas): the period after the last complete one
    of the as-of date, else (no as-of date and no incidents to derive one) the latest scored period (found in the same query, as a scalar
    subquery, not by a query of its own)."""
    from pyspark.sql import functions as F

    from features.periods import last_complete_period, next_period
    from models.allocation import AllocationInputError
    from store.frames import pandas_frame

    grain = str(ctx.settings.get("period", "month"))
    if as_of is not None:
        period = next_period(last_complete_period(as_of, grain), grain)
        at = F.lit(period)
    else:
        period, at = None, risk.select(F.max("period_start")).scalar()
    rows = pandas_frame(
        risk.filter(F.col("period_start") == at)
        .select("village_id", "period_start", "township_id", "probability", "expected_weighted_count",
                "rank", "model_version")
    )
    if period is None:
        if rows.empty:
            raise ValueError("gold.village_risk is empty: run `rural-risk score` first")
        period = rows["period_start"].iloc[0]
    if rows.empty:
        raise AllocationInputError(f"gold.village_risk has no rows for period {period}")
    return period, rows


def _write(ctx: RunContext, name: str, pdf: Any, schema: Any, replace_where: str | None,
           user_metadata: str | None = None) -> None:
    """Write a pandas frame (built on the driver) to a table; `user_metadata` goes with the
    commit (the stage's inputs record)."""
    # check_plan has already refused any broken rule; the catalog's constraint on
    # gold.patrol_plan (hours >= 0) guards other writers.
    ctx.lakehouse.overwrite(ctx.spark, name, pdf, schema, user_metadata=user_metadata,
                            replace_where=replace_where)


def _villages(ctx: RunContext) -> Any:
    """silver.villages' village_id, township_id, county_id as pandas (None: no such table);
    read once and shared by the plan and the backtest comparison."""
    from store.frames import pandas_frame

    lh = ctx.lakehouse
    villages = lh.read_optional(ctx.spark, catalog.SILVER_VILLAGES)
    if villages is None:
        return None
    cols = [c for c in ("village_id", "township_id", "county_id") if c in villages.columns]
    return pandas_frame(villages.select(*cols))


def allocate(ctx: RunContext, as_of: date | None = None, backtest: bool = True,
             force: bool = False) -> dict[str, Any] | None:
    """Solve, check and store the plan of the scored period; returns a summary for the caller,
    or None when the tables already hold the result of the same inputs (nothing written)."""
    from conf.language import language
    from jobs.reuse import current_outputs, stage_inputs
    from models.allocation import Rules
    from models.allocation_plan import plan_period
    from store.schemas import PATROL_CAPACITY_USED_SCHEMA, PATROL_PLAN_SCHEMA

    lang = language(ctx.settings)  # the plan's reasons are written in it; a wrong value stops here

    inputs = stage_inputs(ctx, "allocate", INPUTS, as_of=as_of, backtest=backtest)
    # The comparison is written only when there is a backtest to compare on.
    compared = backtest and inputs.tables[catalog.BACKTEST_PREDICTIONS] is not None
    outputs = (PLAN, CAPACITY, COMPARISON) if compared else (PLAN, CAPACITY)
    if current_outputs(ctx, inputs, outputs, force) is not None:
        return None
    meta = inputs.user_metadata(ctx.run_id)
    spark = ctx.spark
    rules = Rules.from_section(ctx.settings.section("allocation"))
    from jobs.train import resolve_as_of

    risk = ctx.lakehouse.read(spark, catalog.VILLAGE_RISK)
    villages = _villages(ctx)
    period, rows = target_rows(ctx, risk, resolve_as_of(ctx, as_of))
    with ctx.stage(f"allocate patrols for {period}") as st:
        plan, cap, alloc = plan_period(rows, villages, period, ctx.run_id, rules, lang)
        where = f"period_start = DATE'{period.isoformat()}'"
        _write(ctx, PLAN, plan, PATROL_PLAN_SCHEMA, where, meta)
        _write(ctx, CAPACITY, cap, PATROL_CAPACITY_USED_SCHEMA, where, meta)
        st.done(rows=len(plan), detail=(
            f"{alloc.villages['hours'].sum():,.1f} h over {len(alloc.villages)} villages, "
            f"expected harm prevented {alloc.prevented:.2f} ({alloc.status}, gap {alloc.gap:.1e}, "
            f"solved in {alloc.seconds:.2f} s); every rule holds"
        ))
    summary: dict[str, Any] = {
        "period_start": period, "rows": len(plan), "hours": float(plan["hours"].sum()),
        "prevented": alloc.prevented, "status": alloc.status, "gap": alloc.gap,
        "bound": alloc.bound, "solve_seconds": alloc.seconds,
    }
    if backtest:
        # The plan is compared on the backtest of the model that scored the planned period:
        # its rows name it, so gold.village_risk need not be read again for it.
        summary["comparison"] = compare_on_backtest(ctx, rules, villages, _model_version(rows), meta)
    return summary


def _model_version(rows: Any) -> str | None:
    versions = rows["model_version"].dropna()
    return str(versions.iloc[0]) if len(versions) else None


def compare_on_backtest(ctx: RunContext, rules: Any, villages: Any = None,
                        version: str | None = None, user_metadata: str | None = None,
                        ) -> dict[str, float] | None:
    """Plan vs proportional vs equal allocation over the champion's backtest periods.

    `villages` is silver.villages as pandas (None: the townships of gold.village_risk);
    `version` the model_version of the planned period's risk rows (None: that of the latest
    scored period, read from gold.village_risk)."""
    from pyspark.sql import functions as F

    from jobs.model_runs import read_predictions
    from models.allocation_plan import (
        champion_model,
        compare_strategies,
        named_model,
    )
    from store.frames import pandas_frame
    from store.schemas import ALLOCATION_BACKTEST_SCHEMA

    spark, lh = ctx.spark, ctx.lakehouse
    preds = read_predictions(spark, lh, lambda why: ctx.log.info("allocation backtest skipped: %s", why))
    if preds is None:
        return None
    # The model names first, then only the chosen model's predictions reach the driver: the
    # table holds every model's backtest (villages x origins x models rows at province scale).
    models = [r["model"] for r in preds.select("model").distinct().collect() if r["model"] is not None]
    if version is None and lh.exists(spark, catalog.VILLAGE_RISK):
        row = lh.read(spark, catalog.VILLAGE_RISK).orderBy(F.col("period_start").desc()).select(
            "model_version").first()
        version = row["model_version"] if row else None
    model = named_model(models, version)
    if model is None:  # only then are the metrics needed, to pick the best backtest model
        table = lh.read_optional(spark, catalog.MODEL_METRICS)
        metrics = pandas_frame(table) if table is not None else None
        model = champion_model(models, version, metrics)
    section = ctx.settings.section("allocation")
    last_n = int(section.get("backtest_periods", 12) or 0)
    with ctx.stage(f"compare plans on the backtest of {model}") as st:
        pdf = pandas_frame(preds.filter(F.col("model") == F.lit(model)).select(
            "village_id", "period_start", "actual_weighted", F.col("expected_weighted_count").alias("harm")))
        if last_n:
            keep = sorted(pdf["period_start"].unique())[-last_n:]
            pdf = pdf[pdf["period_start"].isin(keep)]
        # A backtest row's period_start is the period predicted, the one whose actuals score
        # the plans (as period_start means in the plan table).
        # Township (and county) of each village: where local pools may be spent.
        if villages is None:
            villages = pandas_frame(lh.read(spark, catalog.VILLAGE_RISK).select("village_id", "township_id").distinct())
        pdf = pdf.merge(villages, on="village_id", how="inner")
        comp = compare_strategies(pdf, rules).assign(model=model, run_id=ctx.run_id)
        _write(ctx, COMPARISON, comp, ALLOCATION_BACKTEST_SCHEMA, None, user_metadata)
        totals = comp.groupby("strategy")["actual_prevented"].sum().to_dict()
        st.done(rows=len(comp), detail=", ".join(f"{k} {v:.2f}" for k, v in sorted(totals.items())))
    return {str(k): float(v) for k, v in totals.items()}
