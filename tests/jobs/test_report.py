"""`report` on a hand-made lakehouse: the page in headless Chromium shows the tables' numbers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

MAY, APR = date(2024, 5, 1), date(2024, 4, 1)
EVIL = "Dong<script>alert(1)</script>"

RISK_DDL = (
    "village_id string, period_start date, village_name string, township_id string, "
    "township_name string, probability double, expected_weighted_count double, rank int, "
    "flagged boolean, reasons array<string>, model_version string, run_id string"
)


def write(ctx, name, rows, ddl):
    spark = ctx.spark
    spark.createDataFrame(rows, ddl).write.format("delta").mode("overwrite").save(ctx.lakehouse.path(name))
    ctx.lakehouse.register(spark, name)


def lakehouse_tables(ctx):
    write(ctx, "gold.village_risk", [
        ("V1", APR, EVIL, "T1", "East", 0.5, 2.0, 2, False, [], "gbm-v1", "s"),
        ("V1", MAY, EVIL, "T1", "East", 0.82, 5.0, 1, True, ["burglaries up"], "gbm-v1", "s"),
        ("V2", MAY, "Xicun", "T1", "East", 0.1, 1.0, 3, False, [], "gbm-v1", "s"),
        ("V3", MAY, "Nancun", "T2", "South", 0.47, 3.0, 2, True, ["fights <b>"], "gbm-v1", "s"),
    ], RISK_DDL)
    write(ctx, "silver.villages", [
        ("V1", EVIL, "T1", "East", 113.0, 34.0), ("V2", "Xicun", "T1", "East", 113.2, 34.1),
        ("V3", "Nancun", "T2", "South", 113.1, 34.3),
    ], "village_id string, village_name string, township_id string, township_name string, "
       "longitude double, latitude double")
    write(ctx, "gold.patrol_plan", [
        ("V1", APR, "police", 9.0, 36, "old period", "r0"),
        ("V1", MAY, "police", 3.0, 12, "x", "r"), ("V2", MAY, "volunteer", 2.0, 8, "x", "r"),
        ("V3", MAY, "police", 1.0, 4, "x", "r"), ("V3", MAY, "volunteer", 2.0, 8, "x", "r"),
    ], "village_id string, period_start date, actor_type string, hours double, stops int, "
       "reason string, run_id string")
    write(ctx, "gold.allocation_backtest", [
        (date(2024, 1, 1), "gbm", "optimized", 8.0, 3.0, 2.0, 6.0, "r"),
        (date(2024, 2, 1), "gbm", "optimized", 8.0, 3.0, 1.5, 5.0, "r"),
        (date(2024, 1, 1), "gbm", "equal", 8.0, 2.0, 1.0, 6.0, "r"),
        (date(2024, 2, 1), "gbm", "equal", 8.0, 2.0, 1.25, 5.0, "r"),
    ], "period_start date, model string, strategy string, hours double, expected_prevented double, "
       "actual_prevented double, actual_weighted_total double, run_id string")
    write(ctx, "ops.quarantine", [
        ("incidents", "f1", 3, "{}", ["bad_type:severity", "unknown_village"], "r", None),
        ("incidents", "f1", 9, "{}", ["bad_type:severity"], "r", None),
        ("survey", "f2", 2, "{}", ["invalid_response"], "r", None),
    ], "source string, file string, line int, record string, reasons array<string>, run_id string, "
       "quarantined_at timestamp")


def test_report_page_shows_the_tables_numbers_and_says_what_is_missing(ctx, tmp_path):
    from browser import ensure_chromium, load, parse

    from jobs.report import report

    lakehouse_tables(ctx)
    path = report(ctx, out_dir=tmp_path / "reports")
    assert path == tmp_path / "reports" / "test-run" / "index.html"
    html = path.read_text(encoding="utf-8")
    for text in ("治理能力数据不可用", "乡镇核查不可用",  # Chinese, the default language
                 "趋势不可用", "模型指标不可用", "巡逻力量数据不可用"):
        assert text in html
    numbers = json.loads(html.split('id="report-data">')[1].split("</script>")[0])
    assert numbers["period_start"] == "2024-05-01" and numbers["flagged"] == 2
    assert numbers["quarantine"] == {"incidents|bad_type:severity": 2, "incidents|unknown_village": 1,
                                     "survey|invalid_response": 1}
    assert "gold.governance_index" in numbers["missing_tables"]
    # The same run again on the same tables keeps the page (no Spark); a changed table or
    # --force renders it again.
    from jobs.context import RunContext

    idle = RunContext(settings=ctx.settings, lakehouse=ctx.lakehouse, run_id="test-run")
    stamp = path.stat().st_mtime_ns
    assert report(idle, out_dir=tmp_path / "reports") == path and idle._spark is None
    assert path.stat().st_mtime_ns == stamp
    report(ctx, out_dir=tmp_path / "reports", force=True)
    assert path.stat().st_mtime_ns != stamp

    # The same numbers, read back from the tables.
    spark = ctx.spark
    risk = {r["village_id"]: r for r in ctx.lakehouse.read(spark, "gold.village_risk")
            .filter(F.col("period_start") == F.lit(MAY)).collect()}
    plan = {(r["village_id"], r["actor_type"]): r["h"] for r in ctx.lakehouse.read(spark, "gold.patrol_plan")
            .filter(F.col("period_start") == F.lit(MAY)).groupBy("village_id", "actor_type")
            .agg(F.sum("hours").alias("h")).collect()}
    comp = {r["strategy"]: r["p"] for r in ctx.lakehouse.read(spark, "gold.allocation_backtest")
            .groupBy("strategy").agg(F.sum("actual_prevented").alias("p")).collect()}
    assert numbers["planned_hours"]["police"] == sum(v for (_, a), v in plan.items() if a == "police")
    assert numbers["plan_comparison"] == pytest.approx(comp)

    if ensure_chromium(Path(__file__).resolve().parents[2]) is None:
        pytest.skip("chromium is absent and could not be installed (`make browser` needs root and apt)")
    page = load(path)
    assert page.console == [], page.console
    dom = parse(page.dom)
    assert [a["id"] for a, _ in dom.find("script")] == ["report-data"]
    rows = {a["data-village-id"]: (a, text) for a, text in dom.find("tr") if a.get("data-village-id")}
    assert set(rows) == set(risk)
    for vid, r in risk.items():
        attrs, text = rows[vid]
        assert float(attrs["data-probability"]) == pytest.approx(r["probability"])
        assert int(attrs["data-rank"]) == r["rank"]
        assert r["village_name"] in text
        for actor in ("police", "volunteer"):
            assert float(attrs[f"data-hours-{actor}"]) == plan.get((vid, actor), 0.0)
    shown = {(a["data-source"], a["data-reason"]): int(a["data-rows"]) for a, _ in dom.find("tr")
             if a.get("data-source")}
    q = ctx.lakehouse.read(spark, "ops.quarantine").select("source", F.explode("reasons").alias("reason"))
    assert shown == {(r["source"], r["reason"]): r["count"] for r in q.groupBy("source", "reason").count().collect()}
    prevented = {a["data-strategy"]: float(a["data-prevented"]) for a, _ in dom.find("tr") if a.get("data-strategy")}
    assert prevented == pytest.approx(comp)


def test_report_without_scores_says_what_to_run(ctx, tmp_path):
    from jobs.report import report
    from report.data import ReportInputError

    with pytest.raises(ReportInputError, match="rural-risk score"):
        report(ctx, out_dir=tmp_path)
