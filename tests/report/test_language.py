"""The page's language (conf `language`): every message has Chinese text, the page is Chinese by
default and English on request, and a wrong value is refused before Spark starts."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from test_report_page import _command_centre_data, full_data

from conf import Settings
from conf.language import LanguageError, check_language, language
from report.i18n import LOCALE, load_catalog
from report.render import TEMPLATES, environment, render, skill_sentence

REPORT = Path(__file__).resolve().parents[2] / "report"
WRITTEN = datetime(2024, 4, 30, 9, 0, tzinfo=UTC)


def _messages() -> list[str]:
    """Every message of the page: the template's ({% trans %}, _()) and the Python modules'
    _() / N_() with a literal text."""
    env = environment("en")
    source = (TEMPLATES / "index.html.j2").read_text(encoding="utf-8")
    found = [m[0] if isinstance(m, tuple) else m for _, _, m in env.extract_translations(source)]
    for path in sorted(REPORT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.append(node.args[0].value)
    return list(dict.fromkeys(found))


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\([a-z_]+\)s|\{[a-z_]+\}", text))


def test_every_message_has_chinese_text_and_the_catalog_holds_no_stale_one():
    messages, zh = _messages(), load_catalog(LOCALE / "messages.zh.yaml")
    assert len(messages) > 100  # the template and the modules were read
    assert [m for m in messages if not zh.get(m, "").strip()] == [], "messages without Chinese text"
    assert [m for m in zh if m not in messages] == [], "catalog entries no message uses"
    for m in messages:  # the same placeholders, and a literal % only as %% in the template's
        assert _placeholders(zh[m]) == _placeholders(m), m
        assert zh[m].count("%%") == m.count("%%"), m


def _visible_words(html: str) -> set[str]:
    """Latin words a reader sees: tags, SVG charts and the embedded numbers left out."""
    body = html.split("</style>", 1)[1]
    body = re.sub(r"<svg.*?</svg>|<script.*?</script>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>|&[a-z]+;|&#\d+;", " ", body)
    return set(re.findall(r"[A-Za-z][A-Za-z*]+", body))


def test_page_is_chinese_by_default():
    html = render(_command_centre_data(), "run-9", generated=WRITTEN)
    assert html.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert "<title>M县：2024年5月风险村研判与巡逻计划</title>" in html
    assert '<dd data-key="forecast">2024年5月（自2024年5月1日起）</dd>' in html
    assert "训练数据截至2024年3月1日" in html and "标记为高风险的村" in html
    # Latin words left are data (names, model codes, reasons as given, the run id), abbreviations
    # and the command's name
    data = {"East", "South", "Xicun", "Nancun", "burglaries", "up", "fights", "gbm", "hgb", "count",
            "baseline", "ma", "run", "bad", "type", "severity", "invalid", "response"}
    assert _visible_words(html) - data == {"CSV", "UTC", "PEI*", "Brier", "rural", "risk", "report"}


def test_every_section_is_chinese_when_tables_are_missing():
    from report.data import ReportData, _attach_plan

    bare = ReportData(period_start=date(2024, 5, 1), risk=full_data().risk, missing=["silver.villages"])
    _attach_plan(bare)
    html = render(bare, "run-2", generated=WRITTEN)
    for text in ("地图不可用", "巡逻力量数据不可用", "对比不可用", "趋势不可用", "治理能力数据不可用",
                 "模型指标不可用", "乡镇核查不可用", "隔离统计不可用", "不详（silver.incidents 不可用）"):
        assert text in html
    assert "not available" not in html and "is missing" not in html


def test_page_is_english_when_configured():
    html = render(_command_centre_data(), "run-9", generated=WRITTEN, language="en")
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "<h2>How good is the model?</h2>" in html and "M县: village risk and patrol plan for May 2024" in html
    assert not re.search(r"[\u4e00-\u9fff]", html.replace("M县", ""))  # no Chinese besides the data


def test_skill_sentence_in_chinese():
    data = _command_centre_data()
    assert skill_sentence(data.metrics, "hgb_count", 0.1, 12) == (
        "在回测的最近12个月中，模型会标记的10%的村集中了随后按严重程度加权案件的27%；"
        "若按过去12个月案件数的平均值标记，则为25%。")
    assert skill_sentence(data.metrics, "baseline_ma12", 0.1, 1, grain="week") == (
        "在回测的最近1周中，模型会标记的10%的村集中了随后按严重程度加权案件的25%；"
        "该模型本身就是过去12周案件数的平均值。")


def test_wrong_language_is_refused_with_the_setting_value_and_choices():
    expected = ("setting 'language' is 'fr': expected one of zh, en "
                "(conf/base.yaml or the profile's file in conf/profiles/)")
    with pytest.raises(LanguageError) as err:
        check_language("fr")
    assert str(err.value) == expected
    assert language(Settings(profile="x", data={})) == "zh"  # unset: Chinese
    assert language(Settings(profile="x", data={"language": "en"})) == "en"
    with pytest.raises(LanguageError, match=re.escape("setting 'language' is 'EN'")):
        language(Settings(profile="x", data={"language": "EN"}))


def test_report_and_score_refuse_a_wrong_language_before_spark(tmp_path):
    from conf import load_settings
    from jobs.context import RunContext
    from jobs.report import report
    from jobs.score import score
    from store.lakehouse import Lakehouse

    base = load_settings("test")
    settings = Settings(profile="test", data={**base.data, "language": "fr"})
    ctx = RunContext(settings=settings, lakehouse=Lakehouse(str(tmp_path / "lh")), run_id="r")
    for stage in (report, score):
        with pytest.raises(LanguageError, match="setting 'language' is 'fr'"):
            stage(ctx)
    assert ctx._spark is None
