"""`rural-risk allocate`: the patrol plan of the scored period under real capacity (gold.patrol_plan)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from jobs.arguments import add_as_of
from jobs.context import RunContext

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

HELP = "plan patrol hours per village and actor type for the scored period (gold.patrol_plan)"

PLAN = "gold.patrol_plan"
CAPACITY = "gold.patrol_capacity_used"
COMPARISON = "gold.allocation_backtest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(
        parser,
        "run date: plan the period after the last complete one "
        "(default: the latest period in gold.village_risk)",
    )
    parser.add_argument(
        "--skip-backtest", action="store_true",
        help="do not compare the plan with proportional and equal allocation on the backtest",
    )


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    allocate(ctx, as_of=args.as_of, backtest=not args.skip_backtest)
    return 0


def target_period(ctx: RunContext, risk: DataFrame, as_of: date | None) -> date:
    """The period after the last complete one of the as-of date, else the latest scored period."""
    from pyspark.sql import functions as F

    from features.periods import last_complete_period, next_period

    grain = str(ctx.settings.get("period", "month"))
    if as_of is not None:
        return next_period(last_complete_period(as_of, grain), grain)
    latest = risk.agg(F.max("period_start").alias("p")).first()["p"]
    if latest is None:
        raise ValueError("gold.village_risk is empty: run `rural-risk score` first")
    return latest


def _write(ctx: RunContext, name: str, df: DataFrame, schema: Any, replace_where: str | None) -> None:
    spark = ctx.spark
    # check_plan has already refused any broken rule; the constraint guards other writers.
    ctx.lakehouse.create(
        spark, name, schema,
        constraints={"hours_not_negative": "hours >= 0"} if name == PLAN else None,
    )
    writer = df.write.format("delta").mode("overwrite")
    if replace_where:
        writer = writer.option("replaceWhere", replace_where)
    writer.save(ctx.lakehouse.path(name))  # create() has registered the name already


def allocate(ctx: RunContext, as_of: date | None = None, backtest: bool = True) -> dict[str, Any]:
    """Solve, check and store the plan of the scored period; returns a summary for the caller."""
    from models.allocation import Rules
    from models.allocation_plan import (
        capacity_schema,
        plan_period,
        plan_schema,
        to_spark,
    )

    spark = ctx.spark
    rules = Rules.from_section(ctx.settings.section("allocation"))
    risk = ctx.lakehouse.read(spark, "gold.village_risk")
    villages = (ctx.lakehouse.read(spark, "silver.villages")
                if ctx.lakehouse.exists(spark, "silver.villages") else None)
    period = target_period(ctx, risk, as_of)
    with ctx.stage(f"allocate patrols for {period}") as st:
        plan, cap, alloc = plan_period(risk, villages, period, ctx.run_id, rules)
        where = f"period_start = DATE'{period.isoformat()}'"
        _write(ctx, PLAN, to_spark(spark, plan, plan_schema()), plan_schema(), where)
        _write(ctx, CAPACITY, to_spark(spark, cap, capacity_schema()), capacity_schema(), where)
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
        summary["comparison"] = compare_on_backtest(ctx, rules)
    return summary


def compare_on_backtest(ctx: RunContext, rules: Any) -> dict[str, float] | None:
    """Plan vs proportional vs equal allocation over the champion's backtest periods."""
    from pyspark.sql import functions as F

    from models.allocation_plan import (
        champion_model,
        compare_strategies,
        comparison_schema,
        to_spark,
    )

    spark, lh = ctx.spark, ctx.lakehouse
    if not lh.exists(spark, "gold.backtest_predictions"):
        ctx.log.info("allocation backtest skipped: gold.backtest_predictions does not exist yet")
        return None
    preds = lh.read(spark, "gold.backtest_predictions")
    models = [r["model"] for r in preds.select("model").distinct().collect()]
    version = None
    if lh.exists(spark, "gold.village_risk"):
        row = lh.read(spark, "gold.village_risk").orderBy(F.col("period_start").desc()).select(
            "model_version").first()
        version = row["model_version"] if row else None
    metrics = lh.read(spark, "gold.model_metrics").toPandas() if lh.exists(spark, "gold.model_metrics") else None
    model = champion_model(models, version, metrics)
    section = ctx.settings.section("allocation")
    last_n = int(section.get("backtest_periods", 12) or 0)
    with ctx.stage(f"compare plans on the backtest of {model}") as st:
        cols = ["village_id", "period_start", "actual_weighted"]
        harm = "expected_weighted" if "expected_weighted" in preds.columns else "score"
        pdf = preds.filter(F.col("model") == model).select(*cols, F.col(harm).alias("harm")).toPandas()
        if last_n:
            keep = sorted(pdf["period_start"].unique())[-last_n:]
            pdf = pdf[pdf["period_start"].isin(keep)]
        # Township (and county) of each village: where local pools may be spent.
        if lh.exists(spark, "silver.villages"):
            where = lh.read(spark, "silver.villages").select("village_id", "township_id", "county_id")
        else:
            where = lh.read(spark, "gold.village_risk").select("village_id", "township_id").distinct()
        pdf = pdf.merge(where.toPandas(), on="village_id", how="inner")
        comp = compare_strategies(pdf, rules).assign(model=model, run_id=ctx.run_id)
        _write(ctx, COMPARISON, to_spark(spark, comp, comparison_schema()), comparison_schema(), None)
        totals = comp.groupby("strategy")["actual_prevented"].sum().to_dict()
        st.done(rows=len(comp), detail=", ".join(f"{k} {v:.2f}" for k, v in sorted(totals.items())))
    return {str(k): float(v) for k, v in totals.items()}
