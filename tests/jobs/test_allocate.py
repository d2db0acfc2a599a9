"""`allocate` on a hand-made lakehouse: plan rows, capacity used and the backtest comparison."""

from __future__ import annotations

import math
from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import types as T

from conf import Settings

SMALL = {
    "capacity": {
        "police": {"scope": "county", "hours": 4}, "volunteer": {"scope": "township", "hours": 2},
        "auxiliary_police": {"hours": 0}, "security_company": {"hours": 0},
        "joint_defense": {"hours": 0}, "village_committee": {"hours": 0},
    },
    "effectiveness": {"police": 1.0, "volunteer": 0.5},
    "response": {"max_effect": 0.5, "h0_hours": 2.0},
    "floor_hours": 1.0, "cap_hours": 3.0, "step_hours": 1.0, "segment_hours": 0.5, "mip_gap": 0.0,
}

RISK_SCHEMA = T.StructType([
    T.StructField("village_id", T.StringType()), T.StructField("period_start", T.DateType()),
    T.StructField("village_name", T.StringType()), T.StructField("township_id", T.StringType()),
    T.StructField("township_name", T.StringType()), T.StructField("probability", T.DoubleType()),
    T.StructField("expected_weighted_count", T.DoubleType()), T.StructField("rank", T.IntegerType()),
    T.StructField("flagged", T.BooleanType()), T.StructField("reasons", T.ArrayType(T.StringType())),
    T.StructField("model_version", T.StringType()), T.StructField("run_id", T.StringType()),
])
MAY, APR = date(2024, 5, 1), date(2024, 4, 1)


def g(e: float) -> float:
    return 0.5 * (1 - math.exp(-e / 2))


def small_ctx(ctx, settings):
    data = {**settings.data, "allocation": SMALL}
    ctx.settings = Settings(profile="test", data=data)
    return ctx


def write(ctx, name, rows, schema):
    spark = ctx.spark
    spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite").save(ctx.lakehouse.path(name))
    ctx.lakehouse.register(spark, name)


def risk_rows():
    out = []
    for period, shift in ((APR, 0.0), (MAY, 0.0)):
        out += [
            ("V1", period, "Dongcun", "T1", "East", 0.8, 5.0 + shift, 1, True, ["burglaries up"], "gbm-v1", "s"),
            ("V2", period, "Xicun", "T1", "East", 0.1, 1.0, 3, False, [], "gbm-v1", "s"),
            ("V3", period, "Nancun", "T2", "South", 0.5, 3.0, 2, True, ["fights"], "gbm-v1", "s"),
        ]
    return out


def test_allocate_writes_the_optimal_plan_capacity_and_comparison_per_period(ctx, settings):
    from jobs.allocate import allocate

    ctx = small_ctx(ctx, settings)
    write(ctx, "gold.village_risk", risk_rows(), RISK_SCHEMA)
    bt_schema = "village_id string, township_id string, period_start date, feature_period_start date, " \
                "model string, score double, probability double, expected_weighted_count double, " \
                "actual_weighted double, actual_label boolean, run_id string"
    write(ctx, "gold.backtest_predictions", [
        ("V1", "T1", MAY, APR, "gbm", 0.9, 0.9, 5.0, 4.0, True, "t"),
        ("V2", "T1", MAY, APR, "gbm", 0.1, 0.1, 1.0, 0.0, False, "t"),
        ("V3", "T2", MAY, APR, "gbm", 0.5, 0.5, 3.0, 2.0, True, "t"),
        ("V1", "T1", MAY, APR, "logit", 0.1, 0.1, 0.0, 4.0, True, "t"),
        ("V2", "T1", MAY, APR, "logit", 0.1, 0.1, 9.0, 0.0, False, "t"),
        ("V3", "T2", MAY, APR, "logit", 0.1, 0.1, 0.0, 2.0, True, "t"),
    ], bt_schema)

    summary = allocate(ctx)
    written = [ctx.lakehouse.version(ctx.spark, t) for t in ("gold.patrol_plan", "gold.allocation_backtest")]
    assert allocate(ctx) is None  # the same inputs again: nothing to solve, nothing written
    assert [ctx.lakehouse.version(ctx.spark, t) for t in ("gold.patrol_plan", "gold.allocation_backtest")] == written

    assert summary["period_start"] == MAY
    plan = ctx.lakehouse.read(ctx.spark, "gold.patrol_plan").select(
        "village_id", "period_start", "actor_type", "hours", "stops", "run_id")
    expected = ctx.spark.createDataFrame([
        ("V1", MAY, "police", 3.0, 12, "test-run"), ("V2", MAY, "volunteer", 2.0, 8, "test-run"),
        ("V3", MAY, "police", 1.0, 4, "test-run"), ("V3", MAY, "volunteer", 2.0, 8, "test-run"),
    ], plan.schema)
    assert_df_equality(plan, expected, ignore_row_order=True, ignore_nullable=True)
    cap = {(r["actor_type"], r["scope_id"]): (r["capacity_hours"], r["used_hours"])
           for r in ctx.lakehouse.read(ctx.spark, "gold.patrol_capacity_used").collect()}
    assert cap[("police", "county")] == (4.0, 4.0) and cap[("volunteer", "T2")] == (2.0, 2.0)
    assert cap[("auxiliary_police", "county")] == (0.0, 0.0)
    # Champion gbm (named in model_version): optimized plan V1 eff 3, V3 eff 2 on actuals 4, 0, 2.
    comp = {r["strategy"]: r for r in ctx.lakehouse.read(ctx.spark, "gold.allocation_backtest").collect()}
    assert comp["optimized"]["model"] == "gbm"
    assert {r["period_start"] for r in comp.values()} == {MAY}  # the predictions' period (April's features)
    assert comp["optimized"]["actual_prevented"] == pytest.approx(4 * g(3) + 2 * g(2))
    assert comp["equal"]["actual_prevented"] == pytest.approx(4 * g(4 / 3 + 0.5) + 2 * g(4 / 3 + 1))
    assert summary["comparison"]["optimized"] == pytest.approx(4 * g(3) + 2 * g(2))
    # A run for April (as of mid-April, March is the last complete month) replaces only its
    # own period: May's plan stays as it was.
    allocate(ctx, as_of=date(2024, 4, 15), backtest=False)
    got = ctx.lakehouse.read(ctx.spark, "gold.patrol_plan").groupBy("period_start").sum("hours").collect()
    assert {r["period_start"]: r["sum(hours)"] for r in got} == {APR: 8.0, MAY: 8.0}


def test_allocate_without_scores_says_what_to_run(ctx, settings):
    from jobs.allocate import allocate
    from store.lakehouse import UnknownTableError

    with pytest.raises(UnknownTableError, match="gold.village_risk"):
        allocate(small_ctx(ctx, settings))
