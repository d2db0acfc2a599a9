"""The report page from hand-made frames: escaping, embedded numbers, missing sections, Chromium."""

from __future__ import annotations

import json
from datetime import UTC, date

import pandas as pd
import pytest
from browser import load, parse

from report.data import ReportData, _attach_plan
from report.render import write_report

EVIL = 'Dong<script>alert("x")</script>&co'
MAY = date(2024, 5, 1)


def full_data() -> ReportData:
    villages = pd.DataFrame({
        "village_id": ["V1", "V2", "V3"], "village_name": [EVIL, "Xicun", "Nancun"],
        "township_id": ["T1", "T1", "T2"], "township_name": ["East", "East", "South<b>"],
        "longitude": [113.0, 113.2, 113.1], "latitude": [34.0, 34.1, 34.3],
    })
    risk = villages.drop(columns=["longitude", "latitude"]).assign(
        period_start=MAY, probability=[0.82, 0.1, 0.47], expected_weighted_count=[5.0, 1.0, 3.0],
        rank=[1, 3, 2], flagged=[True, False, True],
        reasons=[["burglaries <up> 40%"], [], ["fights"]], model_version="gbm-v1", run_id="s",
    ).sort_values("rank").reset_index(drop=True)
    plan = pd.DataFrame({"village_id": ["V1", "V2", "V3", "V3"],
                         "actor_type": ["police", "volunteer", "police", "volunteer"],
                         "hours": [3.0, 2.0, 1.0, 2.0], "stops": [12, 8, 4, 8]})
    comp = pd.DataFrame({
        "period_start": [date(2024, 1, 1)] * 3, "model": "gbm",
        "strategy": ["optimized", "proportional", "equal"], "hours": 8.0,
        "expected_prevented": [3.1, 2.9, 2.5], "actual_prevented": [2.19, 2.25, 1.89],
        "actual_weighted_total": 6.0,
    })
    data = ReportData(
        period_start=MAY, risk=risk, villages=villages, plan=plan,
        capacity=pd.DataFrame({"actor_type": ["police", "volunteer", "volunteer"], "scope": "x",
                               "scope_id": ["county", "T1", "T2"], "capacity_hours": [4.0, 2.0, 2.0],
                               "used_hours": [4.0, 2.0, 2.0]}),
        comparison=comp,
        trends=pd.DataFrame({"township_name": ["East", "East", "South<b>", "South<b>"],
                             "period_start": [date(2024, 3, 1), date(2024, 4, 1)] * 2,
                             "incidents": [4, 6, 1, 2]}),
        governance=pd.DataFrame({"township_name": ["East", "South<b>"], "subject": [60.0, 30.0],
                                 "organization": [50.0, 20.0], "resource": [40.0, 70.0],
                                 "mechanism": [55.0, 25.0], "capacity_index": [51.2, 36.3]}),
        metrics=pd.DataFrame({"model": ["gbm", "gbm", "gbm"], "period_start": [date(2024, 1, 1),
                              date(2024, 2, 1), date(2024, 1, 1)],
                              "metric": ["pei_star", "pei_star", "roc_auc"], "coverage": [0.1, 0.1, None],
                              "value": [0.5, 0.7, 0.81]}),
        reliability=pd.DataFrame({"model": "gbm", "bin": [0, 1], "rows": [5.0, 5.0],
                                  "predicted": [0.1, 0.6], "observed": [0.2, 0.5]}),
        audit=pd.DataFrame({"township_id": ["T1"], "period_start": [date(2024, 3, 1)], "villages": [2],
                            "villages_flagged": [1], "flag_rate": [0.5], "actual_high_risk_rate": [0.5],
                            "recall": [1.0]}),
        quarantine=pd.DataFrame({"source": ["incidents", "survey"],
                                 "reason": ["bad_type:severity", "invalid_response"], "rows": [12, 7]}),
    )
    _attach_plan(data)
    return data


def test_page_escapes_text_and_embeds_the_numbers(tmp_path):
    html = write_report(full_data(), "run-1", tmp_path, language="en").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "Dong&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;co" in html
    assert "burglaries &lt;up&gt; 40%" in html and "South&lt;b&gt;" in html
    numbers = json.loads(html.split('id="report-data">')[1].split("</script>")[0])
    assert numbers["villages"] == 3 and numbers["flagged"] == 2
    assert numbers["planned_hours"]["police"] == 4.0 and numbers["planned_hours"]["volunteer"] == 4.0
    assert numbers["quarantine"] == {"incidents|bad_type:severity": 12, "survey|invalid_response": 7}
    assert numbers["plan_comparison"] == {"optimized": 2.19, "proportional": 2.25, "equal": 1.89}
    assert "PEI* @ top 10%" in html and "0.600" in html  # mean of 0.5 and 0.7


def test_missing_tables_give_plain_not_available_sections(tmp_path):
    d = full_data()
    bare = ReportData(period_start=MAY, risk=d.risk, missing=["silver.villages", "ops.quarantine"])
    _attach_plan(bare)
    html = write_report(bare, "run-2", tmp_path, language="en").read_text(encoding="utf-8")
    for text in ("Map not available", "Capacity not available", "Comparison not available",
                 "Trends not available", "Governance profile not available",
                 "Model metrics not available", "Township audit not available",
                 "Quarantine counts not available", "silver.villages, ops.quarantine"):
        assert text in html


def test_page_loads_in_chromium_without_console_messages(tmp_path, chromium):
    data = full_data()
    page = load(write_report(data, "run-3", tmp_path))
    assert page.console == [] and page.returncode == 0
    dom = parse(page.dom)
    assert [a["id"] for a, _ in dom.find("script")] == ["report-data"]  # the data's <script> is text
    rows = {a["data-village-id"]: (a, text) for a, text in dom.find("tr") if a.get("data-village-id")}
    assert set(rows) == {"V1", "V2", "V3"}
    assert EVIL in rows["V1"][1]
    for r in data.risk.itertuples():
        attrs = rows[r.village_id][0]
        assert float(attrs["data-probability"]) == pytest.approx(r.probability)
        assert int(attrs["data-rank"]) == r.rank
    assert float(rows["V3"][0]["data-hours-police"]) == 1.0
    assert float(rows["V3"][0]["data-hours-volunteer"]) == 2.0
    circles = {a["data-village-id"]: a["data-flagged"] for a, _ in dom.find("circle") if a.get("data-village-id")}
    assert circles == {"V1": "true", "V2": "false", "V3": "true"}
    shown = {a["data-strategy"]: float(a["data-prevented"]) for a, _ in dom.find("tr") if a.get("data-strategy")}
    assert shown == pytest.approx({"optimized": 2.19, "proportional": 2.25, "equal": 1.89})


def test_console_check_catches_a_broken_page(tmp_path, chromium):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body>"
                   "<script>undefinedFunction()</script></body></html>", encoding="utf-8")
    page = load(bad)
    assert any("undefinedFunction is not defined" in line for line in page.console)


def test_chinese_names_draw_without_glyph_warnings(recwarn):
    from report.charts import trends_svg

    trends = pd.DataFrame({"township_name": ["城关镇", "城关镇", "李家庄乡", "李家庄乡"],
                           "period_start": [date(2024, 3, 1), date(2024, 4, 1)] * 2,
                           "incidents": [4, 6, 1, 2]})
    svg = trends_svg(trends)
    assert "城关镇" in svg and "李家庄乡" in svg  # text stays text; the browser's fonts draw it
    assert [str(w.message) for w in recwarn if "Glyph" in str(w.message)] == []


def _command_centre_data() -> ReportData:
    """full_data with a county, a cut-off, a champion and 14 backtest periods of hit rates."""
    from datetime import datetime

    data = full_data()
    data.county = "M县"
    data.data_cutoff = datetime(2024, 4, 29, 17, 5)
    data.champion = {"model": "hgb_count", "version": "r7-hgb_count", "train_end": date(2024, 3, 1),
                     "selection_note": "", "created_at": None}
    months = [date(2023 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(3, 17)]  # 2023-03..2024-04
    rows = []
    for i, p in enumerate(months):
        # the first two periods fall outside the latest 12 and would move both means
        own, ref = (0.9, 0.9) if i < 2 else (0.30 if i % 2 else 0.24, 0.25)
        rows += [("hgb_count", p, "hit_rate", 0.1, own), ("baseline_ma12", p, "hit_rate", 0.1, ref),
                 ("baseline_ma3", p, "hit_rate", 0.1, 0.5), ("hgb_count", p, "hit_rate", 0.2, 0.6)]
    data.metrics = pd.DataFrame(rows, columns=["model", "period_start", "metric", "coverage", "value"])
    # two villages named Xicun in township East: the page tells them apart by code
    data.risk.loc[data.risk["village_id"] == "V1", "village_name"] = "Xicun"
    return data


def test_header_says_what_the_page_covers_and_how_good_it_is(tmp_path):
    from datetime import datetime

    from report.render import skill_sentence

    data = _command_centre_data()
    written = datetime(2024, 4, 30, 9, 0, tzinfo=UTC)
    html = write_report(data, "run-9", tmp_path, generated=written, language="en").read_text(encoding="utf-8")
    dom = parse(html)
    cover = {a["data-key"]: text for a, text in dom.find("dd") if a.get("data-key")}
    assert cover == {
        "forecast": "May 2024 (the period starting 2024-05-01)",
        "based-on": "the periods up to 2024-04-30",
        "cutoff": "newest incident report received 2024-04-29 17:05",
        "model": "gradient-boosted trees (expected incidents), version r7-hgb_count, "
                 "trained on the periods up to 2024-03-01",
        "generated": "2024-04-30 09:00 UTC · run run-9",
    }
    assert "M县: village risk and patrol plan for May 2024" in html
    assert 'data-key="past"' not in html  # May 2024 has not ended on 30 April
    # hit rates at the flagged 10% over the latest 12 periods: 6 x 0.30 + 6 x 0.24 -> 27%;
    # the longest moving average (12, not 3) over the same periods: 25%
    expected = ("Over the last 12 months of the backtest, the 10% of villages the model would have "
                "flagged held 27% of the severity-weighted incidents that followed; a 12-month "
                "average of past incidents would have held 25%.")
    assert skill_sentence(data.metrics, "hgb_count", 0.1, 12, language="en") == expected
    assert [text for a, text in dom.find("p") if a.get("id") == "skill"] == [expected]
    champion = [a["data-model"] for a, _ in dom.find("tr") if a.get("data-champion") == "true"]
    assert champion == ["hgb_count"]
    names = {a["data-village-id"]: text for a, text in dom.find("tr") if a.get("data-village-id")}
    assert "Xicun (V1)" in names["V1"] and "Xicun (V2)" in names["V2"] and "(V3)" not in names["V3"]
    audit = [text for a, text in dom.find("tr") if a.get("data-township-id") == "T1"]
    assert len(audit) == 1 and audit[0].startswith("East")

    later = write_report(data, "run-10", tmp_path, generated=datetime(2024, 6, 2, tzinfo=UTC))
    assert 'data-key="past"' in later.read_text(encoding="utf-8")  # May 2024 ended before 2 June


def test_csv_beside_the_page_and_a_stable_latest_link(tmp_path):
    data = full_data()
    first = write_report(data, "run-a", tmp_path)
    risk = pd.read_csv(first.parent / "risk_list.csv", encoding="utf-8-sig")
    assert list(risk["village_id"]) == ["V1", "V3", "V2"] and list(risk["rank"]) == [1, 2, 3]
    assert risk.loc[0, "reasons"] == "burglaries <up> 40%" and risk.loc[0, "village_name"] == EVIL
    assert list(risk["hours_police"]) == [3.0, 1.0, 0.0] and list(risk["stops"]) == [12, 12, 8]
    plan = pd.read_csv(first.parent / "patrol_plan.csv", encoding="utf-8-sig")
    assert list(zip(plan["village_id"], plan["actor_type"], plan["hours"], strict=True)) == [
        ("V1", "police", 3.0), ("V3", "police", 1.0), ("V3", "volunteer", 2.0), ("V2", "volunteer", 2.0)]
    latest = tmp_path / "latest"
    assert latest.is_symlink() and (latest / "index.html").read_bytes() == first.read_bytes()
    # a name a spreadsheet would run as a formula is written inert
    data.risk.loc[data.risk["village_id"] == "V2", "village_name"] = "=HYPERLINK(\"http://x\")"
    write_report(data, "run-c", tmp_path)
    risk_c = pd.read_csv(tmp_path / "run-c" / "risk_list.csv", encoding="utf-8-sig")
    assert risk_c.loc[2, "village_name"] == "'=HYPERLINK(\"http://x\")"
    second = write_report(data, "run-b", tmp_path)
    assert latest.resolve() == second.parent.resolve() and first.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-a", "run-b", "run-c"]
