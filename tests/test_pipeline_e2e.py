"""End to end: a tiny generated county through every stage, then the tables read by name."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import date

import pytest
from pyspark.sql import functions as F

from features.periods import next_period

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    from jobs.cli import main

    out = tmp_path_factory.mktemp("county") / "landing"
    code = main(["generate", "--out", str(out), "--villages", "12", "--years", "2", "--seed", "7"])
    assert code == 0
    return out


def test_pipeline_fills_every_gold_table(ctx, county, capsys):
    from jobs.pipeline import run

    args = argparse.Namespace(landing=str(county), as_of=None, skip_train=False, top=5)
    assert run(ctx, args) == 0
    spark, lh = ctx.spark, ctx.lakehouse

    villages = lh.read(spark, "silver.villages")
    n_villages = villages.count()
    assert n_villages == 12

    features = lh.read(spark, "gold.village_features")
    keys = features.groupBy("village_id", "period_start").count()
    assert keys.filter(F.col("count") > 1).count() == 0  # one row per village and period
    periods = sorted(r["period_start"] for r in features.select("period_start").distinct().collect())
    assert features.count() == n_villages * len(periods)
    assert periods[-1] <= date(2022, 12, 1)

    risk = lh.read(spark, "gold.village_risk").collect()
    assert {r["period_start"] for r in risk} == {next_period(periods[-1], "month")}
    assert sorted(r["rank"] for r in risk) == list(range(1, n_villages + 1))
    assert all(0.0 <= r["probability"] <= 1.0 for r in risk)
    by_rank = sorted(risk, key=lambda r: r["rank"])
    assert [r["probability"] for r in by_rank] == sorted((r["probability"] for r in risk), reverse=True)
    assert any(r["high_risk"] for r in risk)

    plan = lh.read(spark, "gold.patrol_plan")
    assert plan.filter(F.col("hours") < 0).count() == 0
    assert plan.select("village_id").distinct().count() == n_villages  # visibility floor everywhere

    out = capsys.readouterr().out
    assert "Villages flagged as high risk" in out
    report_line = [ln for ln in out.splitlines() if ln.startswith("Report: ")][-1]
    report_path = report_line.removeprefix("Report: ").strip()
    assert report_path.endswith("index.html")
    assert "<html" in open(report_path, encoding="utf-8").read().lower()

    # a new process reads the same tables by name
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "--profile", "test", "--lakehouse", lh.root,
         "sql", "SELECT COUNT(*) AS n FROM gold.village_risk", "--format", "csv"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["n", str(n_villages)]
