"""Names that reach silver as landed (formulas, HTML; see test_fuzz_landing.py) are shown escaped
in the report page and made formula-safe in its CSV files (report/render.py), called
directly on a small frame."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
from strategies import FORMULAS, HTML

from report.data import ReportData, _attach_plan
from report.render import plan_csv, render, risk_csv

MAY = date(2024, 5, 1)
NAMES = ['=HYPERLINK("http://x")', "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "+1+2", "-2+3",
         "@SUM(A1:A9)", "\t=1", '<img src=x onerror="alert(1)">', "东村"]


def data(names: list[str], township: str = "<b>东镇</b>") -> ReportData:
    n = len(names)
    ids = [f"V{i:03d}" for i in range(1, n + 1)]
    villages = pd.DataFrame({"village_id": ids, "village_name": names, "township_id": "T1",
                             "township_name": township, "longitude": [113.0 + i / 100 for i in range(n)],
                             "latitude": [37.8 + i / 100 for i in range(n)]})
    risk = villages.drop(columns=["longitude", "latitude"]).assign(
        period_start=MAY, probability=[0.9 - i / 20 for i in range(n)], expected_weighted_count=2.0,
        rank=list(range(1, n + 1)), flagged=True, reasons=[["=1+1 more burglaries", "<i>fights</i>"]] * n,
        model_version="gbm-v1", run_id="s")
    plan = pd.DataFrame({"village_id": ids, "actor_type": "police", "hours": 2.0, "stops": 4,
                         "reason": "@patrol <u>night</u>"})
    trends = pd.DataFrame({"township_name": [township] * 2, "period_start": [date(2024, 3, 1), date(2024, 4, 1)],
                           "incidents": [3, 4]})
    d = ReportData(period_start=MAY, risk=risk, villages=villages, plan=plan, trends=trends, county="=M县<br>")
    _attach_plan(d)
    return d


def test_the_names_tested_here_are_the_ones_the_fuzzer_lands():
    assert {"=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1"} <= set(FORMULAS)
    assert "<script>alert(1)</script>" in HTML


def test_page_shows_names_escaped():
    html = render(data(NAMES), "run-x", language="en")
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "=HYPERLINK(&#34;http://x&#34;)" in html
    assert "<b>东镇</b>" not in html and "&lt;b&gt;东镇&lt;/b&gt;" in html  # township, table and chart
    assert "<i>fights</i>" not in html and "&lt;i&gt;fights&lt;/i&gt;" in html  # reasons
    assert "=M县<br>" not in html and "=M县&lt;br&gt;" in html  # the county in the header
    # the one <script> element is the page's data, and it holds no name
    assert html.count("<script") == 1 and 'id="report-data"' in html


def _cells(frame: pd.DataFrame) -> list[list[str]]:
    """The frame as the CSV file holds it (write_report writes frame.to_csv), read back."""
    return list(csv.reader(io.StringIO(frame.to_csv(index=False))))


def test_csv_files_make_every_formula_inert():
    d = data(NAMES)
    risk, plan = _cells(risk_csv(d)), _cells(plan_csv(d))
    names_risk = [row[risk[0].index("village_name")] for row in risk[1:]]
    names_plan = [row[plan[0].index("village_name")] for row in plan[1:]]
    expected = ["'" + n if n[0] in "=+-@\t" else n for n in NAMES]
    assert names_risk == expected and names_plan == expected
    assert {row[risk[0].index("township_name")] for row in risk[1:]} == {"<b>东镇</b>"}  # text, not a formula
    assert {row[risk[0].index("reasons")] for row in risk[1:]} == {"'=1+1 more burglaries; <i>fights</i>"}
    assert {row[plan[0].index("reason")] for row in plan[1:]} == {"'@patrol <u>night</u>"}
    for table in (risk, plan):  # no cell of either file starts a formula
        assert not [c for row in table[1:] for c in row if c[:1] in ("=", "+", "@", "\t", "\r")]
        assert not [c for row in table[1:] for c in row if c[:1] == "-" and not _number(c)]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_formulas_are_inert_whatever_the_text_dtype():
    """Names held as pandas' string dtype (pandas 3's default for text) are made inert too."""
    from report.render import _inert

    frame = pd.DataFrame({"village_name": pd.array(['=HYPERLINK("http://x")', "东村", None], dtype="string"),
                          "rank": [1, 2, 3]})
    out = _inert(frame)
    assert out["village_name"].tolist()[:2] == ["'=HYPERLINK(\"http://x\")", "东村"]
    assert out["village_name"].isna().tolist() == [False, False, True] and out["rank"].tolist() == [1, 2, 3]
