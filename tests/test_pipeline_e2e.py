"""End to end: a tiny generated county through every stage (`rural-risk pipeline`, run once per
session by county_fixture.py), then the tables read by path and by name."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from pyspark.sql import functions as F

from features.periods import next_period

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("county")]  # one worker runs the county's users


def test_pipeline_fills_every_gold_table(county_run, spark):
    # county_run (county_fixture.py): `rural-risk --profile test pipeline` exited 0 on the county
    from store.lakehouse import Lakehouse

    lh = Lakehouse(str(county_run.lakehouse))

    villages = lh.read(spark, "silver.villages")
    n_villages = villages.count()
    assert n_villages == 12
    # The generated county lies in M county, Yangquan (Shanxi), and every village passes the
    # default bounding box (the test profile keeps conf/ingest.yaml's).
    from conf import load_settings

    assert load_settings("test").section("ingest")["bounding_box"] == load_settings("local").section(
        "ingest")["bounding_box"]
    box = villages.agg(F.min("latitude"), F.max("latitude"), F.min("longitude"), F.max("longitude")).first()
    assert 37.6 < box[0] <= box[1] < 38.2 and 113.1 < box[2] <= box[3] < 114.1, box
    assert {r["village_id"][:2] for r in villages.select("village_id").collect()} == {"14"}  # Shanxi

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
    assert any(r["flagged"] for r in risk)

    # one meaning of period_start in the audit and the backtest: the period the flags are for
    # (the outcome period, the one after a backtest row's feature period)
    audit = lh.read(spark, "gold.township_audit").collect()
    champion = {r["model"] for r in audit}
    assert len(champion) == 1
    preds = lh.read(spark, "gold.backtest_predictions").filter(F.col("model") == champion.pop())
    pairs = {(r["period_start"], r["feature_period_start"])
             for r in preds.select("period_start", "feature_period_start").distinct().collect()}
    assert all(p == next_period(f, "month") for p, f in pairs)
    assert {r["period_start"] for r in audit if r["flags_from"] == "backtest"} == {p for p, _ in pairs}
    assert {r["period_start"] for r in audit if r["flags_from"] == "scored"} == {r["period_start"] for r in risk}

    plan = lh.read(spark, "gold.patrol_plan")
    assert plan.filter(F.col("hours") < 0).count() == 0
    assert plan.select("village_id").distinct().count() == n_villages  # visibility floor everywhere

    out = county_run.output
    assert "Villages flagged as high risk" in out
    report_line = [ln for ln in out.splitlines() if ln.startswith("Report: ")][-1]
    report_path = county_run.folder / report_line.removeprefix("Report: ").strip()  # from its cwd
    assert report_path.name == "index.html" and report_path.parent.name == county_run.run_id
    html = report_path.read_text(encoding="utf-8")
    assert html.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')  # Chinese, the default language
    # the cover names the champion from ops.model_registry and the backtest sentence is there
    champion = lh.read(spark, "ops.model_registry").filter(F.col("role") == "champion").collect()
    assert any(f"版本 {r['version']}" in html for r in champion)
    assert '<p class="skill" id="skill">在回测的最近' in html
    assert (report_path.parents[1] / "latest").resolve() == report_path.parent.resolve()
    assert (report_path.parent / "risk_list.csv").is_file() and (report_path.parent / "patrol_plan.csv").is_file()
    # every reason is in words: no column name (they all hold an underscore) reaches the page
    assert not [r for row in risk for r in (row["reasons"] or []) if "_" in r]
    # and in Chinese, the default language: no Latin letter in any of them
    assert not [r for row in risk for r in (row["reasons"] or []) if any("a" <= c.lower() <= "z" for c in r)]

    # a new process reads the same tables by name
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "--profile", "test", "--lakehouse", lh.root,
         "sql", "SELECT COUNT(*) AS n FROM gold.village_risk", "--format", "csv"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["n", str(n_villages)]


def test_every_table_matches_the_catalog(county_run, spark):
    """Each table of the county's lakehouse is in store/catalog.py with the same columns, types,
    column comments and description, and no catalogued table is missing."""
    from deltalake import DeltaTable

    from conf import load_settings
    from store import catalog
    from store.lakehouse import Lakehouse

    lh = Lakehouse(str(county_run.lakehouse))
    sections = catalog.sections_of(load_settings("test"))
    found = sorted(lh.existing_tables(spark))
    assert found == sorted(set(catalog.TABLES) - {"ops.maintenance_log", "ops.data_dictionary"})  # maintain's
    for name in found:
        want = [(f.name, f.dataType.simpleString(), f.metadata.get("comment"))
                for f in catalog.schema(name, sections).fields]
        got = [(f.name, f.dataType.simpleString(), f.metadata.get("comment"))
               for f in lh.read(spark, name).schema.fields]
        assert got == want, name
        assert DeltaTable(str(lh.local_path(name))).metadata().description == catalog.description(name), name



def test_after_maintain_every_gold_table_still_reads_without_a_jvm(county_run, tmp_path):
    """`rural-risk maintain` (OPTIMIZE, VACUUM) on a copy of the county's lakehouse: every gold
    table then reads with delta-rs, row for row as before, and uses no table feature delta-rs
    refuses (deletion vectors stay off)."""
    import shutil

    from county_fixture import CLI, pipeline_env
    from deltalake import DeltaTable

    lakehouse = tmp_path / "lakehouse"
    shutil.copytree(county_run.lakehouse, lakehouse)
    from store import catalog

    gold = sorted(p for p in (lakehouse / "gold").iterdir() if (p / "_delta_log").is_dir())
    assert [f"gold.{p.name}" for p in gold] == sorted(n for n in catalog.TABLES if n.startswith("gold."))

    def rows(path):
        frame = DeltaTable(str(path)).to_pandas()
        return sorted(tuple(str(v) for v in r) for r in frame.astype(str).itertuples(index=False))

    before = {p.name: rows(p) for p in gold}
    tables = [arg for p in gold for arg in ("--table", f"gold.{p.name}")]  # the gold tables only
    proc = subprocess.run([str(CLI), "--profile", "test", "--lakehouse", str(lakehouse), "maintain", *tables],
                          env=pipeline_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = DeltaTable(str(lakehouse / "ops" / "maintenance_log")).to_pandas()
    assert set(log["table_name"]) == {f"gold.{p.name}" for p in gold}
    for p in gold:
        table = DeltaTable(str(p))
        assert rows(p) == before[p.name], p.name
        features = set(table.protocol().reader_features or []) | set(table.protocol().writer_features or [])
        assert "deletionVectors" not in features, p.name
        assert table.metadata().configuration.get("delta.enableDeletionVectors") == "false", p.name
