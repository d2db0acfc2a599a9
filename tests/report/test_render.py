"""report/render.py's helpers on their own: number filters, models and periods in words in both
languages, the skill sentence's edge cases, the metric table, names as shown, the header dict,
formula-safe CSV cells and the latest link (the whole page is tests/report/test_report_page.py)."""

from __future__ import annotations

import math
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from report.data import ReportData
from report.render import (
    _hours,
    _inert,
    _num,
    _pct,
    environment,
    header,
    metric_summary,
    model_words,
    period_words,
    plan_csv,
    publish_latest,
    shown_names,
    skill_sentence,
)


@pytest.mark.parametrize(("x", "digits", "text"), [
    (1234.5678, 2, "1,234.57"), (0.1, 3, "0.100"), (-2, 0, "-2"), (1e6, 1, "1,000,000.0"),
    (None, 2, "–"), (float("nan"), 2, "–"),
])
def test_num(x, digits, text) -> None:
    assert _num(x, digits) == text


@pytest.mark.parametrize(("x", "digits", "text"), [
    (0.27, 0, "27%"), (0.123, 1, "12.3%"), (1, 0, "100%"), (0.005, 0, "0%"), (None, 0, "–"), (math.nan, 1, "–"),
])
def test_pct(x, digits, text) -> None:
    assert _pct(x, digits) == text


def test_hours_and_the_template_filters() -> None:
    assert [_hours(x) for x in (0, 0.0, None, 2.0, 2.5, 12.25)] == ["", "", "", "2", "2.5", "12.25"]
    env = environment("en")
    assert env.from_string("{{ x|num(1) }} {{ y|pct }} {{ z|hours }}").render(x=1234.56, y=0.5, z=3.0) == "1,234.6 50% 3"


@pytest.mark.parametrize(("name", "grain", "en", "zh"), [
    ("hgb_count", "month", "gradient-boosted trees (expected incidents)", "梯度提升树（预期案件数）"),
    ("baseline_prev", "month", "last month's incidents", "上月案件数"),
    ("baseline_prev", "week", "last week's incidents", "上周案件数"),
    ("baseline_prev", "day", "last month's incidents", "上月案件数"),   # an unknown grain reads as months
    ("baseline_ma12", "month", "12-month average of past incidents", "过去12个月案件数的平均值"),
    ("baseline_ma4", "week", "4-week average of past incidents", "过去4周案件数的平均值"),
    ("baseline_prev", "quarter", "last quarter's incidents", "上季度案件数"),
    ("baseline_prev", "year", "last year's incidents", "上年度案件数"),
    ("baseline_ma4", "quarter", "4-quarter average of past incidents", "过去4个季度案件数的平均值"),
    ("baseline_ma3", "year", "3-year average of past incidents", "过去3年案件数的平均值"),
    ("baseline_ewm", "week", "exponentially weighted mean of past incidents", "过去案件数的指数加权平均"),
    ("my_new_model", "month", "my new model", "my new model"),
    ("baseline_ma", "month", "baseline ma", "baseline ma"),           # no number: not a moving average
])
def test_model_words(name, grain, en, zh) -> None:
    assert model_words(name, grain, "en") == en and model_words(name, grain, "zh") == zh


def test_period_words() -> None:
    assert period_words(date(2024, 5, 1), "month", "en") == "May 2024"
    assert period_words(date(2024, 5, 1), "month") == "2024年5月"
    assert period_words(date(2024, 4, 29), "week", "en") == "the week starting 2024-04-29"
    assert period_words(date(2024, 4, 29), "week", "zh") == "2024年4月29日起的一周"
    # quarters by the month they start: April is the 2nd, October the 4th
    assert [period_words(date(2024, m, 1), "quarter", "en") for m in (1, 4, 7, 10)] == [
        "Q1 2024", "Q2 2024", "Q3 2024", "Q4 2024"]
    assert period_words(date(2024, 4, 1), "quarter", "zh") == "2024年第2季度"
    assert (period_words(date(2024, 1, 1), "year", "en"), period_words(date(2024, 1, 1), "year")) == ("2024", "2024年")
    # a grain the page does not know reads as months, as in model_words
    assert period_words(date(2024, 5, 1), "day", "en") == "May 2024"


def _metrics(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model", "period_start", "metric", "coverage", "value"])


JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)


def test_skill_sentence_edge_cases() -> None:
    m = _metrics([("hgb", JAN, "hit_rate", 0.1, 0.4), ("hgb", FEB, "hit_rate", 0.1, 0.5)])
    assert skill_sentence(None, "hgb", 0.1, 12) is None
    assert skill_sentence(m.iloc[:0], "hgb", 0.1, 12) is None
    assert skill_sentence(m, None, 0.1, 12) is None
    assert skill_sentence(m, "logistic", 0.1, 12) is None           # the champion has no hit rate
    assert skill_sentence(m, "hgb", 0.2, 12) is None                # none at the flagged share
    # no moving average to compare with: the sentence ends there; 2 periods, not 12; mean 45%
    assert skill_sentence(m, "hgb", 0.1, 12, language="en") == (
        "Over the last 2 months of the backtest, the 10% of villages the model would have flagged held 45% "
        "of the severity-weighted incidents that followed.")
    assert skill_sentence(m, "hgb", 0.1, 1, language="zh") == (
        "在回测的最近1个月中，模型会标记的10%的村集中了随后按严重程度加权案件的50%。")


def test_skill_sentence_counts_quarters_and_years() -> None:
    m = _metrics([("hgb", JAN, "hit_rate", 0.1, 0.4), ("hgb", date(2024, 4, 1), "hit_rate", 0.1, 0.5)])
    assert skill_sentence(m, "hgb", 0.1, 12, grain="quarter", language="en").startswith(
        "Over the last 2 quarters of the backtest,")
    assert skill_sentence(m, "hgb", 0.1, 1, grain="quarter", language="zh").startswith("在回测的最近1个季度中，")
    assert skill_sentence(m, "hgb", 0.1, 1, grain="year", language="en").startswith("Over the last year of the backtest,")
    assert skill_sentence(m, "hgb", 0.1, 2, grain="year", language="zh").startswith("在回测的最近2年中，")


def test_metric_summary_means_over_the_recent_periods() -> None:
    m = _metrics([
        ("a", JAN, "pei_star", 0.1, 0.2), ("a", FEB, "pei_star", 0.1, 0.4), ("a", MAR, "pei_star", 0.1, 0.6),
        ("a", JAN, "roc_auc", None, 0.7), ("a", FEB, "roc_auc", None, 0.8), ("a", MAR, "roc_auc", None, 0.9),
        ("a", MAR, "hit_rate", 0.2, 0.3), ("a", MAR, "log_loss", None, 9.0),
        ("b", MAR, "roc_auc", None, 0.6),
    ])
    cols, rows = metric_summary(m, recent_periods=2, language="en")
    # headline metrics in METRIC_LABELS order (PEI*, hit rate, ..., ROC AUC); log_loss is not one
    assert cols == ["PEI* @ top 10%", "Hit rate @ top 20%", "ROC AUC"]
    # the latest 2 periods: February and March -> PEI* (0.4 + 0.6) / 2, ROC AUC (0.8 + 0.9) / 2
    assert [r["model"] for r in rows] == ["a", "b"] and [r["periods"] for r in rows] == [2, 1]
    assert rows[0]["values"] == pytest.approx({"PEI* @ top 10%": 0.5, "Hit rate @ top 20%": 0.3, "ROC AUC": 0.85})
    assert rows[1]["values"]["ROC AUC"] == 0.6 and math.isnan(rows[1]["values"]["PEI* @ top 10%"])
    cols_all, rows_all = metric_summary(m, language="zh")
    assert cols_all == ["PEI*（前10%）", "命中率（前20%）", "ROC AUC"]
    assert rows_all[0]["periods"] == 3 and rows_all[0]["values"]["ROC AUC"] == pytest.approx(0.8)
    assert metric_summary(None) == ([], []) and metric_summary(m.iloc[:0]) == ([], [])


def test_shown_names_add_the_code_only_to_a_name_twice_in_a_township() -> None:
    risk = pd.DataFrame({"village_id": ["V1", "V2", "V3", "V4", "V5"],
                         "village_name": ["东村", "东村", "东村", None, "西村"],
                         "township_name": ["A镇", "A镇", "B乡", "A镇", "A镇"]})
    assert shown_names(risk).tolist() == ["东村 (V1)", "东村 (V2)", "东村", "V4", "西村"]


def _data(**kw) -> ReportData:
    return ReportData(period_start=date(2024, 5, 1), risk=pd.DataFrame(), **kw)


def test_header_in_chinese() -> None:
    data = _data(county="M县", data_cutoff=datetime(2024, 4, 29, 17, 5),
                 champion={"model": "hgb_count", "version": "r7", "train_end": date(2024, 3, 1)})
    assert header(data, datetime(2024, 4, 30, 9, 0, tzinfo=UTC)) == {
        "county": "M县", "forecast": "2024年5月", "start": "2024年5月1日", "based_on": "2024年4月30日",
        "cutoff": "2024-04-29 17:05", "generated": "2024-04-30 09:00 UTC", "model": "梯度提升树（预期案件数）",
        "model_version": "r7", "trained_to": "2024年3月1日", "past": False,
    }


def test_header_without_a_champion_or_cut_off_and_for_a_week() -> None:
    week = ReportData(period_start=date(2024, 4, 29), risk=pd.DataFrame(), grain="week")
    h = header(week, datetime(2024, 5, 5, 23, 59), "en")
    assert h["forecast"] == "the week starting 2024-04-29" and h["based_on"] == "2024-04-28"
    assert h["cutoff"] is None and h["model"] is None and h["model_version"] is None and h["trained_to"] is None
    assert h["generated"] == "2024-05-05 23:59"  # a naive time: no zone name
    # the week ends (exclusive) on Monday 6 May: past from that day on
    assert h["past"] is False and header(week, datetime(2024, 5, 6), "en")["past"] is True


def test_header_for_a_quarter_and_a_year() -> None:
    quarter = ReportData(period_start=date(2024, 4, 1), risk=pd.DataFrame(), grain="quarter")
    h = header(quarter, datetime(2024, 6, 30, 23, 59), "en")
    assert (h["forecast"], h["start"], h["based_on"]) == ("Q2 2024", "2024-04-01", "2024-03-31")
    # Q2 ends (exclusive) on 1 July
    assert h["past"] is False and header(quarter, datetime(2024, 7, 1), "en")["past"] is True
    year = ReportData(period_start=date(2025, 1, 1), risk=pd.DataFrame(), grain="year")
    h = header(year, datetime(2025, 12, 31, 12, 0))
    assert (h["forecast"], h["based_on"], h["past"]) == ("2025年", "2024年12月31日", False)
    assert header(year, datetime(2026, 1, 1))["past"] is True


def test_inert_prefixes_only_formula_starts() -> None:
    frame = pd.DataFrame({"name": ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "a=b", "东村", None],
                          "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9]})
    out = _inert(frame)
    assert out["name"].tolist() == ["'=SUM(A1)", "'+1", "'-2", "'@x", "'\tx", "'\rx", "a=b", "东村", None]
    assert out["n"].tolist() == frame["n"].tolist() and frame["name"].iloc[0] == "=SUM(A1)"  # a copy


def test_plan_csv_without_a_plan_has_its_columns() -> None:
    got = plan_csv(_data())
    assert list(got.columns) == ["village_id", "village_name", "township_name", "actor_type", "hours", "stops",
                                 "reason"] and got.empty


def test_publish_latest_replaces_a_hand_made_folder_and_a_stale_staging_link(tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-2").mkdir()
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "old.html").write_text("x")
    os.symlink("run-1", tmp_path / ".latest-run-2")  # left by an interrupted run
    latest = publish_latest(tmp_path, "run-2")
    assert latest.is_symlink() and os.readlink(latest) == "run-2"  # relative
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-1", "run-2"]
    publish_latest(tmp_path, "run-1")
    assert os.readlink(tmp_path / "latest") == "run-1"
