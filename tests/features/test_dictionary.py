"""features/dictionary.py: the columns of gold.village_features per grain, their labels in both
languages, the Delta schema and the generated-document helpers (no Spark session needed).
docs/features.md drift is tests/features/test_dictionary_doc.py's."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from pyspark.sql import types as T

from conf import load_yaml
from features import dictionary as d

CONF = load_yaml("features.yaml")
KEYS = ["village_id", "township_id", "period_start"]


def _by_name(grain: str, conf=CONF) -> dict[str, d.Column]:
    return {c.name: c for c in d.village_feature_columns(conf, grain)}


def test_column_count_and_order_from_the_settings():
    names = [c.name for c in d.village_feature_columns(CONF, "month")]
    # by hand from conf/features.yaml: 3 keys; 4 windows x (7 groups + all, sev, citizen,
    # patrol_found) = 44; 7 last-year/trend/rate; 2 neighbour windows x 2 = 4; spatial lag and
    # nbr_count 2; response, resolution and 6 calendar = 8; population 9; 2 patrol windows x
    # (6 unit types + hours + sessions) = 16; 6 patrol shares/rates; 10 organizations and
    # resources; 7 survey; 2 labels: 118
    assert len(names) == 118 and len(set(names)) == 118
    assert names[:5] == [*KEYS, "inc_property_1", "inc_fraud_1"]
    assert names[3:14] == [f"inc_{g}_1" for g in CONF["category_groups"]] + [
        "inc_all_1", "inc_sev_1", "inc_citizen_1", "inc_patrol_found_1"]
    assert names[-2:] == ["label_weighted_next", "label_high_risk_next"]
    for name in ("response_minutes_mean_3", "resolution_rate_12", "non_police_share_3",
                 "joint_patrol_share_3", "patrol_hours_per_1000_3", "nbr_sev_3", "inc_other_12"):
        assert name in names, name
    # the grain changes words, never names or types
    for grain in ("week", "quarter", "year"):
        other = d.village_feature_columns(CONF, grain)
        assert [(c.name, c.type) for c in other] == [(c.name, c.type) for c in d.village_feature_columns(CONF, "month")]


def test_settings_change_the_columns():
    conf = copy.deepcopy(CONF)
    conf["windows"] = [2]
    conf["category_groups"] = {"property": ["theft"], "rural": ["crop_theft", "livestock_theft"]}
    conf["patrol"]["windows"] = [1, 6]
    conf["mechanism"] = {"response_window": 1, "resolution_window": 6}
    names = [c.name for c in d.village_feature_columns(conf, "month")]
    assert [n for n in names if n.startswith("inc_") and n[-1].isdigit()] == [
        "inc_property_2", "inc_rural_2", "inc_all_2", "inc_sev_2", "inc_citizen_2", "inc_patrol_found_2"]
    # the shares and rates of patrols use the longest patrol window (6)
    assert {"non_police_share_6", "patrol_actor_types_6", "police_hours_per_1000_6",
            "response_minutes_mean_1", "resolution_rate_6"} <= set(names)
    assert "non_police_share_3" not in names and "inc_all_1" not in names
    # 118 - 44 + 6 (one window x (2 groups + 4)); still two patrol windows of 8 columns: 80
    assert len(names) == 80


def test_definitions_and_windows_follow_the_grain():
    month, week = _by_name("month"), _by_name("week")
    assert month["inc_fraud_3"].window == "last 3 months (t-2..t)"
    assert week["inc_fraud_3"].window == "last 3 weeks (t-2..t)"
    assert month["inc_all_1"].window == "the month t itself"
    # the same period last year: 12 months or 52 weeks back; "none" is one more than the lookback
    assert (month["inc_all_last_year"].window, week["inc_all_last_year"].window) == ("t-12", "t-52")
    assert month["periods_since_serious"].definition == (
        "Months since the latest incident of severity >= 3 (0 = in t); 13 = none in t-12..t.")
    assert week["periods_since_serious"].definition == (
        "Weeks since the latest incident of severity >= 3 (0 = in t); 53 = none in t-52..t.")
    assert month["month_of_year"].definition == "Month (1..12) of t."
    assert week["month_of_year"].definition == "Month (1..12) of t (month of its Thursday)."
    assert month["inc_fraud_3"].definition == "Incidents in group fraud (fraud, telecom_fraud), false alarms excluded."
    # 0.10 of conf label.high_risk_share written as a percentage
    assert "among the top 10% of villages of t" in month["label_high_risk_next"].definition
    assert month["nbr_count"].definition == (
        "Neighbours used: the 5 nearest villages within 15.0 km, weights 1/max(d, 0.5 km) "
        "normalised; null when none.")
    assert month["inc_fraud_3"].comment == (
        "Incidents in group fraud (fraud, telecom_fraud), false alarms excluded. "
        "Window: last 3 months (t-2..t). Source: silver.incidents (+ bronze.incidents versions).")


def test_quarter_and_year_words():
    quarter, year = _by_name("quarter"), _by_name("year")
    assert quarter["inc_fraud_3"].window == "last 3 quarters (t-2..t)"
    assert year["inc_all_1"].window == "the year t itself"
    # the same period last year: 4 quarters or 1 year back; "none" is one more than the lookback
    assert (quarter["inc_all_last_year"].window, year["inc_all_last_year"].window) == ("t-4", "t-1")
    assert quarter["periods_since_serious"].definition == (
        "Quarters since the latest incident of severity >= 3 (0 = in t); 5 = none in t-4..t.")
    assert year["periods_since_serious"].definition == (
        "Years since the latest incident of severity >= 3 (0 = in t); 2 = none in t-1..t.")
    assert quarter["month_of_year"].definition == "Month (1..12) of t (month of its middle day: 2, 5, 8 or 11)."
    assert year["month_of_year"].definition == "Month (1..12) of t (month of its middle day: 7)."
    assert (quarter["is_harvest"].definition, year["next_is_harvest"].definition) == (
        "t holds a whole harvest month (conf/calendar.yaml).", "t+1 holds a whole harvest month.")
    assert year["rate_per_1000_shrunk"].definition.startswith(
        "Empirical-Bayes rate (y + k r) / (e + k), e = exposure in 1,000 person-years,")
    en_q, en_y = d.feature_labels(CONF, "quarter", "en"), d.feature_labels(CONF, "year", "en")
    zh_q, zh_y = d.feature_labels(CONF, "quarter"), d.feature_labels(CONF, "year")
    assert (en_q["inc_all_1"], en_y["inc_fraud_3"]) == ("incidents over the last quarter", "fraud incidents over the last 3 years")
    assert (zh_q["inc_fraud_3"], zh_y["inc_fraud_3"]) == ("近3个季度诈骗案件数", "近3年诈骗案件数")
    # a year's "same period last year" is the year before, not "the same year last year"
    assert (en_q["inc_all_last_year"], en_y["inc_all_last_year"]) == (
        "incidents in the same quarter last year", "incidents in the year before")
    assert (zh_q["inc_all_last_year"], zh_y["inc_all_last_year"]) == ("去年同季度案件数", "上一年案件数")
    assert (zh_q["periods_since_serious"], zh_y["periods_since_serious"]) == ("距上次严重案件的季度数", "距上次严重案件的年数")
    assert (zh_q["label_high_risk_next"], zh_y["label_high_risk_next"]) == ("下季度属于高风险村", "下年度属于高风险村")
    assert (zh_q["patrol_nights_1"], zh_y["festival_days"]) == ("上季度夜间巡逻天数", "本年度春节期间天数")
    assert [d.unit_zh(g).mean for g in ("month", "week", "quarter", "year")] == ["月均", "周均", "季均", "年均"]


def test_an_unknown_grain_is_refused():
    with pytest.raises(ValueError, match=r"^setting 'period' is 'day': expected one of month, week, quarter, year"):
        d.village_feature_columns(CONF, "day")


def test_labels_in_english_and_chinese():
    month, week = d.feature_labels(CONF, "month", "en"), d.feature_labels(CONF, "week", "en")
    zh_month, zh_week = d.feature_labels(CONF, "month"), d.feature_labels(CONF, "week", "zh")  # zh default
    assert month["inc_fraud_3"] == "fraud incidents over the last 3 months"
    assert month["inc_all_1"] == "incidents over the last month"  # one period: no number
    assert week["inc_all_1"] == "incidents over the last week"
    assert zh_month["inc_fraud_3"] == "近3个月诈骗案件数" and zh_week["inc_fraud_3"] == "近3周诈骗案件数"
    assert zh_month["inc_all_1"] == "近1个月案件数"
    assert (zh_month["inc_all_last_year"], zh_week["inc_all_last_year"]) == ("去年同月案件数", "去年同周案件数")
    # unit types: English from the code, Chinese from conf/codes.yaml's first label
    assert month["patrol_hours_joint_defense_3"] == "patrol hours by joint defense units over the last 3 months"
    assert zh_month["patrol_hours_joint_defense_3"] == "近3个月联防队巡逻小时数"
    assert zh_week["patrol_hours_auxiliary_police_1"] == "近1周辅警巡逻小时数"
    assert month["survey_trust_police"] == "residents' trust in the police (survey score)"
    assert zh_month["survey_trust_police"] == "群众对公安机关的信任度（问卷得分）"
    # the governance index's columns are labelled too
    assert (month["capacity_index"], zh_month["capacity_index"]) == ("governance capacity (score)", "基层治理能力（得分）")
    assert d.Column("x", "int", "", "", "", label="en words", label_zh="中文").label_in("en") == "en words"
    assert d.Column("x", "int", "", "", "", label="en words", label_zh="中文").label_in("fr") == "en words"


@pytest.mark.parametrize("grain", ["month", "week", "quarter", "year"])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_feature_has_its_own_label(grain, language):
    cols = d.village_feature_columns(CONF, grain)
    labels = [c.label_in(language) for c in cols]
    assert all(labels), [c.name for c in cols if not c.label_in(language)]
    repeated = [label for label, n in Counter(labels).items() if n > 1]
    assert repeated == []  # a reason naming a label names one column


def test_a_group_without_a_chinese_name_is_named_by_its_categories():
    conf = copy.deepcopy(CONF)
    # crop_theft has the label 盗窃农作物, fire 火灾; open has no label (its words), an unknown code too
    conf["category_groups"] = {"farm": ["crop_theft", "fire"], "odd": ["open", "made_up_code"]}
    zh = {c.name: c.label_zh for c in d.village_feature_columns(conf, "month")}
    assert zh["inc_farm_3"] == "近3个月盗窃农作物、火灾类案件数"
    assert zh["inc_odd_1"] == "近1个月open、made up code类案件数"
    en = {c.name: c.label for c in d.village_feature_columns(conf, "month")}
    assert en["inc_farm_3"] == "farm incidents over the last 3 months"


def test_schema_of_keys_not_null_types_and_comments():
    cols = d.governance_columns()
    schema = d.schema_of(cols)
    assert [f.name for f in schema.fields] == [*KEYS, "subject", "organization", "resource", "mechanism",
                                               "capacity_index"]
    assert [f.nullable for f in schema.fields] == [False, False, False] + [True] * 5
    assert [f.dataType for f in schema.fields[:4]] == [T.StringType(), T.StringType(), T.DateType(), T.DoubleType()]
    assert schema.fields[7].metadata == {"comment": (
        "Weighted mean of the four sub-scores (0..100). Window: as in its indicators. "
        "Source: gold.village_features, conf/governance.yaml.")}
    features = d.schema_of(d.village_feature_columns(CONF, "month"))
    types = {f.name: f.dataType for f in features.fields}
    assert (types["mass_members"], types["is_harvest"], types["pop_snapshot_date"]) == (
        T.LongType(), T.BooleanType(), T.DateType())
    assert sorted(f.name for f in features.fields if not f.nullable) == sorted(KEYS)
    with pytest.raises(KeyError):
        d.schema_of([d.Column("x", "float", "", "", "")])  # only the six dictionary types


def test_markdown_table_and_generated_block():
    cols = [d.Column("a", "int", "A count.", "t", "s1"), d.Column("b", "double", "B | share.", "-", "s2")]
    assert d.markdown_table(cols) == (
        "| column | type | definition | window | source |\n|---|---|---|---|---|\n"
        "| `a` | int | A count. | t | s1 |\n| `b` | double | B | share. | - | s2 |")
    text = "intro\n<!-- BEGIN generated:x -->\nold\n<!-- END generated:x -->\noutro\n"
    assert d.replace_generated(text, "x", "new", "doc.md") == (
        "intro\n<!-- BEGIN generated:x -->\nnew\n<!-- END generated:x -->\noutro\n")
    # idempotent: the body sits on its own lines between the markers
    once = d.replace_generated(text, "x", "new", "doc.md")
    assert d.replace_generated(once, "x", "new", "doc.md") == once
    for broken in ("no markers", "<!-- BEGIN generated:x -->\nold\n", "<!-- END generated:x -->",
                   text.replace("generated:x", "generated:y")):
        with pytest.raises(ValueError) as err:
            d.replace_generated(broken, "x", "new", "docs/some.md")
        assert str(err.value) == (
            "docs/some.md has no <!-- BEGIN generated:x --> ... <!-- END generated:x --> block")


def test_write_or_check(tmp_path, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text("old", encoding="utf-8")
    assert d.write_or_check(doc, "old", "new", "make docs", check=True) == 1
    assert capsys.readouterr().err == f"{doc} is stale: run `make docs`\n"
    assert doc.read_text(encoding="utf-8") == "old"  # --check never writes
    assert d.write_or_check(doc, "same", "same", "make docs", check=True) == 0
    assert capsys.readouterr() == ("", "")
    assert d.write_or_check(doc, "old", "new", "make docs", check=False) == 0
    assert doc.read_text(encoding="utf-8") == "new"
    assert capsys.readouterr().out == f"wrote {doc}\n"
