"""Data dictionary of gold.village_features and gold.governance_index: one entry per column.

The same entries give the closing select (names, order, types), the Delta column comments and
docs/features.md, so the three cannot drift apart. Column names follow conf/features.yaml.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pyspark.sql import types as T

from features.periods import check_grain, periods_per_year

TYPES = {
    "string": T.StringType(), "date": T.DateType(), "int": T.IntegerType(),
    "long": T.LongType(), "double": T.DoubleType(), "boolean": T.BooleanType(),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    definition: str
    window: str
    source: str
    # The column in a planner's words (reasons, report); never the column name itself.
    label: str = ""
    # The same in Chinese, composed the same way (conf `language: zh`, conf/language.py).
    label_zh: str = ""

    def label_in(self, language: str) -> str:
        """The label in `language` (zh or en)."""
        return self.label_zh if language == "zh" else self.label

    @property
    def comment(self) -> str:
        return f"{self.definition} Window: {self.window}. Source: {self.source}."


def _w(w: int, unit: str) -> str:
    return f"last {w} {unit}s (t-{w - 1}..t)" if w > 1 else f"the {unit} t itself"


def _over(w: int, unit: str) -> str:
    """A window in words: "the last month", "the last 3 months"."""
    return f"the last {unit}" if w == 1 else f"the last {w} {unit}s"


class ZhUnit(NamedTuple):
    """Chinese words of a period grain."""

    itself: str  # the period itself: 上月, 本季度, 下年度
    span: str  # a count of periods: 近3个月, 近3周, 近2个季度, 近3年
    count: str  # a number of periods: 月数, 周数, 季度数, 年数
    mean: str  # a mean per period: 月均, 周均, 季均, 年均


UNIT_ZH = {
    "month": ZhUnit("月", "个月", "月", "月均"), "week": ZhUnit("周", "周", "周", "周均"),
    "quarter": ZhUnit("季度", "个季度", "季度", "季均"), "year": ZhUnit("年度", "年", "年", "年均"),
}


def unit_zh(grain: str) -> ZhUnit:
    """The Chinese words of `grain` (checked)."""
    return UNIT_ZH[check_grain(grain)]


def _zh(unit: str) -> str:
    return unit_zh(unit).itself


def _over_zh(w: int, unit: str) -> str:
    """A window in Chinese words: "近1个月", "近3个月", "近3周", "近2个季度", "近3年"."""
    return f"近{w}{unit_zh(unit).span}"


def _last_year(unit: str) -> tuple[str, str]:
    """"The same period last year" in English and Chinese; for a year, the year before."""
    if unit == "year":
        return "in the year before", "上一年"
    return f"in the same {unit} last year", f"去年同{_zh(unit)}"


# The month of t (features/calendar.py: the month of t's middle day), said per grain.
_MONTH_OF = {
    "month": "", "week": " (month of its Thursday)",
    "quarter": " (month of its middle day: 2, 5, 8 or 11)", "year": " (month of its middle day: 7)",
}

# The harvest season of t (features/calendar.py): a month or week falls in a harvest month
# (a week by its Thursday), a quarter or year holds one.
_HARVEST = {"month": "falls in a harvest month", "week": "falls in a harvest month (by its Thursday)",
            "quarter": "holds a whole harvest month", "year": "holds a whole harvest month"}


# Incident groups of conf/features.yaml in Chinese; a group added there without a name here
# is named by its categories' Chinese labels from conf/codes.yaml.
_GROUP_ZH = {
    "property": "侵财类", "fraud": "诈骗", "violence": "暴力类", "dispute": "纠纷",
    "order": "治安秩序类", "accident": "事故类", "other": "其他",
}

_SURVEY_WORDS_ZH = {
    "safety": "群众安全感", "trust_police": "群众对公安机关的信任度",
    "participation": "群众参与治安防范的程度", "satisfaction": "群众对治安工作的满意度",
}


@functools.cache
def _codes() -> dict[str, Any]:
    from conf import load_yaml

    return load_yaml("codes.yaml")


def _code_zh(kind: str, code: str) -> str:
    """The first Chinese label of a code in conf/codes.yaml (the code itself when it has none)."""
    labels = (_codes().get(kind) or {}).get(code) or []
    return str(labels[0]) if labels else _words(code)


def _group_zh(group: str, categories: list[str]) -> str:
    if group in _GROUP_ZH:
        return _GROUP_ZH[group]
    return "、".join(_code_zh("incident_category", c) for c in categories) + "类"


_SURVEY_WORDS = {
    "safety": "residents' sense of safety", "trust_police": "residents' trust in the police",
    "participation": "residents taking part in village security",
    "satisfaction": "residents' satisfaction with security work",
}


def _words(code: str) -> str:
    return code.replace("_", " ")


def village_feature_columns(conf: Mapping[str, Any], grain: str) -> list[Column]:
    """Every column of gold.village_features in table order."""
    unit, inc = check_grain(grain), "silver.incidents (+ bronze.incidents versions)"
    groups = conf["category_groups"]
    cols = [
        Column("village_id", "string", "Village code.", "-", "silver.villages", label="village code", label_zh="村代码"),
        Column("township_id", "string", "Township of the village.", "-", "silver.villages", label="township", label_zh="乡镇"),
        Column("period_start", "date", f"First day of the {unit} t the row describes.", "-", "periods", label=f"{unit} of the row", label_zh="数据所属时段"),
    ]
    for w in conf["windows"]:
        for g, cats in groups.items():
            cols.append(Column(f"inc_{g}_{w}", "int", f"Incidents in group {g} ({', '.join(cats)}), false alarms excluded.", _w(w, unit), inc, label=f"{_words(g)} incidents over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}{_group_zh(g, cats)}案件数"))
        cols += [
            Column(f"inc_all_{w}", "int", "Incidents of every category, false alarms excluded.", _w(w, unit), inc, label=f"incidents over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}案件数"),
            Column(f"inc_sev_{w}", "double", "Severity-weighted incident count (weights in conf severity_weights).", _w(w, unit), inc, label=f"severity-weighted incidents over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}按严重程度加权的案件数"),
            Column(f"inc_citizen_{w}", "int", f"Incidents reported by citizens (sources {', '.join(conf['citizen_sources'])}).", _w(w, unit), inc, label=f"incidents reported by residents over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}群众报案数"),
            Column(f"inc_patrol_found_{w}", "int", f"Incidents found by patrols (sources {', '.join(conf['patrol_sources'])}).", _w(w, unit), inc, label=f"incidents found by patrols over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}巡逻发现的案件数"),
        ]
    lookback = periods_per_year(grain)
    last_year, last_year_zh = _last_year(unit)
    short, long = conf["trend"]["short"], conf["trend"]["long"]
    rate_w, k = conf["rate"]["window"], conf["rate"]["prior_strength"]
    cols += [
        Column("inc_all_last_year", "int", "Incidents in the same period one year earlier.", f"t-{lookback}", inc, label=f"incidents {last_year}", label_zh=f"{last_year_zh}案件数"),
        Column("inc_sev_last_year", "double", "Severity-weighted incidents in the same period one year earlier.", f"t-{lookback}", inc, label=f"severity-weighted incidents {last_year}", label_zh=f"{last_year_zh}按严重程度加权的案件数"),
        Column("inc_trend", "double", f"Mean severity-weighted count per {unit} over the last {short} minus over the last {long}.", f"last {long} {unit}s", inc, label="the recent rise in incidents", label_zh="近期案件上升幅度"),
        Column("periods_since_serious", "int", f"{unit.capitalize()}s since the latest incident of severity >= {conf['serious_severity']} (0 = in t); {lookback + 1} = none in t-{lookback}..t.", f"t-{lookback}..t", inc, label=f"{unit}s since the last serious incident", label_zh=f"距上次严重案件的{unit_zh(unit).count}数"),
        Column("rate_per_1000", "double", f"Incidents per 1,000 residents per {unit}: inc_all_{rate_w} / (resident_pop / 1000 * {rate_w}); null without population.", _w(rate_w, unit), f"{inc}, silver.population", label="incidents per 1,000 residents", label_zh="每千人案件数"),
        Column("township_rate_per_1000", "double", "Township rate: sum of its villages' incidents / sum of their exposure (villages with population).", _w(rate_w, unit), f"{inc}, silver.population", label="the township's incidents per 1,000 residents", label_zh="所在乡镇每千人案件数"),
        Column("rate_per_1000_shrunk", "double", f"Empirical-Bayes rate (y + k r) / (e + k), e = exposure in 1,000 person-{unit}s, r = township rate, k = {k}; the township rate without population.", _w(rate_w, unit), f"{inc}, silver.population", label="incidents per 1,000 residents (steadied by the township rate)", label_zh="每千人案件数（参照乡镇水平平滑）"),
    ]
    for w in conf["neighbours"]["windows"]:
        cols += [
            Column(f"nbr_inc_{w}", "double", "Distance-weighted mean of inc_all over the neighbouring villages (near-repeat).", _w(w, unit), f"{inc}, silver.villages", label=f"incidents in neighbouring villages over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}相邻村案件数"),
            Column(f"nbr_sev_{w}", "double", "Distance-weighted mean of inc_sev over the neighbouring villages.", _w(w, unit), f"{inc}, silver.villages", label=f"severity-weighted incidents in neighbouring villages over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}相邻村按严重程度加权的案件数"),
        ]
    nb = conf["neighbours"]
    cols += [
        Column("spatial_lag_rate", "double", "Spatial lag: distance-weighted mean of the neighbours' rate_per_1000_shrunk.", _w(rate_w, unit), f"{inc}, silver.population, silver.villages", label="the incident rate of neighbouring villages", label_zh="相邻村案件发生率"),
        Column("nbr_count", "int", f"Neighbours used: the {nb['k']} nearest villages within {nb['max_km']} km, weights 1/max(d, {nb['min_km']} km) normalised; null when none.", "-", "silver.villages", label="number of neighbouring villages", label_zh="相邻村数量"),
    ]
    mech = conf["mechanism"]
    rw, resw = mech["response_window"], mech["resolution_window"]
    cols += [
        Column(f"response_minutes_mean_{rw}", "double", "Mean response minutes of the incidents with a response time.", _w(rw, unit), inc, label=f"police response time in minutes over {_over(rw, unit)}", label_zh=f"{_over_zh(rw, unit)}平均出警时间（分钟）"),
        Column(f"resolution_rate_{resw}", "double", "Share of incidents (false alarms excluded) whose status at the end of t is resolved.", _w(resw, unit), inc, label=f"share of incidents resolved over {_over(resw, unit)}", label_zh=f"{_over_zh(resw, unit)}案件办结率"),
        Column("month_of_year", "int", f"Month (1..12) of t{_MONTH_OF[unit]}.", "t", "calendar", label="month of the year", label_zh="所在月份"),
        Column("festival_days", "int", "Days of t inside the Spring Festival window (conf/calendar.yaml).", "t", "conf/calendar.yaml", label=f"Spring Festival days this {unit}", label_zh=f"本{_zh(unit)}春节期间天数"),
        Column("is_harvest", "boolean", f"t {_HARVEST[unit]} (conf/calendar.yaml).", "t", "conf/calendar.yaml", label="harvest season", label_zh="农忙收获季"),
        Column("next_month_of_year", "int", "Month of t+1 (the period the label describes; known in advance).", "t+1", "calendar", label="month of the year being forecast", label_zh="预测时段所在月份"),
        Column("next_festival_days", "int", "Days of t+1 inside the Spring Festival window.", "t+1", "conf/calendar.yaml", label=f"Spring Festival days in the {unit} being forecast", label_zh=f"预测{_zh(unit)}内春节期间天数"),
        Column("next_is_harvest", "boolean", f"t+1 {_HARVEST[unit]}.", "t+1", "conf/calendar.yaml", label=f"harvest season in the {unit} being forecast", label_zh=f"预测{_zh(unit)}处于农忙收获季"),
    ]
    pop = "silver.population (latest snapshot dated before t ends)"
    cols += [
        Column("resident_pop", "int", "Resident population.", "as of t", pop, label="resident population", label_zh="常住人口"),
        Column("households", "int", "Households.", "as of t", pop, label="households", label_zh="户数"),
        Column("ageing_share", "double", "pop_60_plus / resident_pop.", "as of t", pop, label="share of residents aged 60 or over", label_zh="60岁及以上人口占比"),
        Column("left_behind_children_per_1000", "double", "Left-behind children per 1,000 residents.", "as of t", pop, label="left-behind children per 1,000 residents", label_zh="每千人留守儿童数"),
        Column("left_behind_elderly_per_1000", "double", "Left-behind elderly per 1,000 residents.", "as of t", pop, label="left-behind elderly per 1,000 residents", label_zh="每千人留守老人数"),
        Column("migrant_out_share", "double", "migrant_workers_out / registered_pop.", "as of t", pop, label="share of registered residents working away", label_zh="外出务工人员占户籍人口比例"),
        Column("low_income_share", "double", "low_income_households / households.", "as of t", pop, label="share of low-income households", label_zh="低收入户占比"),
        Column("per_capita_income_yuan", "double", "Per-capita income (yuan).", "as of t", pop, label="income per head (yuan)", label_zh="人均收入（元）"),
        Column("pop_snapshot_date", "date", "Date of the snapshot used.", "as of t", pop, label="date of the population figures", label_zh="人口数据日期"),
    ]
    pw, units = conf["patrol"]["windows"], conf["patrol"]["unit_types"]
    r, pat = max(pw), "silver.patrols"
    for w in pw:
        cols += [Column(f"patrol_hours_{u}_{w}", "double", f"Patrol hours by {u} units.", _w(w, unit), pat, label=f"patrol hours by {_words(u)} units over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}{_code_zh('unit_type', u)}巡逻小时数") for u in units]
        cols += [
            Column(f"patrol_hours_{w}", "double", "Patrol hours, all actors.", _w(w, unit), pat, label=f"patrol hours over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}巡逻小时数"),
            Column(f"patrol_sessions_{w}", "int", "Patrol sessions, all actors.", _w(w, unit), pat, label=f"patrol sessions over {_over(w, unit)}", label_zh=f"{_over_zh(w, unit)}巡逻次数"),
        ]
    police, joint = conf["patrol"]["police_unit_types"], conf["patrol"]["joint_unit_types"]
    cols += [
        Column(f"non_police_share_{r}", "double", f"Share of patrol hours by units other than {', '.join(police)} (co-governance); null without patrols.", _w(r, unit), pat, label=f"share of patrol hours by co-governance teams over {_over(r, unit)}", label_zh=f"{_over_zh(r, unit)}群防群治力量巡逻时长占比"),
        Column(f"joint_patrol_share_{r}", "double", f"Share of patrol hours by {', '.join(joint)} units; null without patrols.", _w(r, unit), pat, label=f"share of patrol hours by joint-defense teams over {_over(r, unit)}", label_zh=f"{_over_zh(r, unit)}联防队巡逻时长占比"),
        Column(f"patrol_actor_types_{r}", "int", "Distinct unit types that patrolled the village.", _w(r, unit), pat, label=f"kinds of teams that patrolled over {_over(r, unit)}", label_zh=f"{_over_zh(r, unit)}参与巡逻的力量类型数"),
        Column("patrol_nights_1", "int", "Distinct nights (20:00-06:00) with a night patrol started in t.", "t", pat, label=f"nights patrolled last {unit}", label_zh=f"上{_zh(unit)}夜间巡逻天数"),
        Column(f"patrol_hours_per_1000_{r}", "double", "Patrol hours per 1,000 residents.", _w(r, unit), f"{pat}, silver.population", label=f"patrol hours per 1,000 residents over {_over(r, unit)}", label_zh=f"{_over_zh(r, unit)}每千人巡逻小时数"),
        Column(f"police_hours_per_1000_{r}", "double", f"Patrol hours by {', '.join(police)} per 1,000 residents.", _w(r, unit), f"{pat}, silver.population", label=f"police patrol hours per 1,000 residents over {_over(r, unit)}", label_zh=f"{_over_zh(r, unit)}每千人警力巡逻小时数"),
    ]
    org, res = "silver.organizations (active at the end of t)", "silver.resources (active at the end of t)"
    mass = ", ".join(conf["organizations"]["mass_prevention_types"])
    cols += [
        Column("orgs_active", "int", "Active organizations of any type.", "end of t", org, label="active security organizations", label_zh="在运行的治安组织数"),
        Column("org_types_active", "int", "Distinct types of the active organizations.", "end of t", org, label="kinds of active security organizations", label_zh="在运行的治安组织类型数"),
        Column("mass_orgs_active", "int", f"Active mass-prevention organizations ({mass}).", "end of t", org, label="active mass-prevention organizations", label_zh="群防群治组织数"),
        Column("mass_members", "long", "Members of the active mass-prevention organizations.", "end of t", org, label="members of mass-prevention organizations", label_zh="群防群治组织成员数"),
        Column("mass_trained_share", "double", "Trained members / members of the mass-prevention organizations; null without members.", "end of t", org, label="share of mass-prevention members trained", label_zh="群防群治成员受训比例"),
        Column("mass_members_per_1000", "double", "Mass-prevention members per 1,000 residents.", "end of t", f"{org}, silver.population", label="mass-prevention members per 1,000 residents", label_zh="每千人群防群治成员数"),
        Column("cameras_working", "int", "Cameras with status working, installed and not removed.", "end of t", res, label="working cameras", label_zh="正常运行的监控探头数"),
        Column("cameras_per_km2", "double", "Working cameras per km2 of village area.", "end of t", f"{res}, silver.villages", label="working cameras per square kilometre", label_zh="每平方公里监控探头数"),
        Column("cameras_per_1000", "double", "Working cameras per 1,000 residents.", "end of t", f"{res}, silver.population", label="working cameras per 1,000 residents", label_zh="每千人监控探头数"),
        Column("km_to_police", "double", f"Km from the village point to the nearest {', '.join(conf['resources']['police_types'])} (its own point or its village's); null when none.", "end of t", f"{res}, silver.villages", label="distance to the nearest police station or post (km)", label_zh="距最近派出所或警务室的距离（公里）"),
    ]
    sv = "silver.survey (latest wave with responses dated before t ends)"
    m = conf["survey"]["prior_responses"]
    cols += [
        Column("survey_responses", "int", "Responses of the village in its latest wave.", "latest wave", sv, label="survey responses", label_zh="问卷答卷数"),
        *[
            Column(f"survey_{q}", "double", f"Mean of q_{q} (1..5) shrunk toward the township mean with {m} pseudo-responses; the township mean without responses.", "latest wave", sv, label=f"{_SURVEY_WORDS[q]} (survey score)", label_zh=f"{_SURVEY_WORDS_ZH[q]}（问卷得分）")
            for q in ("safety", "trust_police", "participation", "satisfaction")
        ],
        Column("survey_wave_start", "date", f"Start of the latest wave ({conf['survey']['wave_grain']}).", "latest wave", sv, label="date of the latest survey", label_zh="最近一次问卷调查日期"),
        Column("survey_responses_per_1000", "double", "Survey responses per 1,000 residents (data about residents).", "latest wave", f"{sv}, silver.population", label="survey responses per 1,000 residents", label_zh="每千人问卷答卷数"),
    ]
    lab = conf["label"]
    cols += [
        Column("label_weighted_next", "double", f"Label: severity-weighted count of incidents reported in t+1 from {', '.join(lab['sources'])}, false alarms excluded (latest versions); null for the last period.", "t+1", "silver.incidents", label=f"severity-weighted incidents in the next {unit}", label_zh=f"下{_zh(unit)}按严重程度加权的案件数"),
        Column("label_high_risk_next", "boolean", f"Label: among the top {lab['high_risk_share']:.0%} of villages of t by label_weighted_next (ties by village_id) and > 0; null for the last period.", "t+1", "silver.incidents", label=f"among the highest-risk villages in the next {unit}", label_zh=f"下{_zh(unit)}属于高风险村"),
    ]
    return cols


def governance_columns() -> list[Column]:
    src = "gold.village_features, conf/governance.yaml"
    return [
        Column("village_id", "string", "Village code.", "-", "silver.villages", label="village code", label_zh="村代码"),
        Column("township_id", "string", "Township of the village.", "-", "silver.villages", label="township", label_zh="乡镇"),
        Column("period_start", "date", "First day of period t.", "-", "periods", label="period of the row", label_zh="数据所属时段"),
        Column("subject", "double", "Subject score 0..100: diversity of actors in patrols and organizations.", "as in its indicators", src, label="diversity of security actors (score)", label_zh="治安主体多元程度（得分）"),
        Column("organization", "double", "Organization score 0..100: strength and training of mass-prevention organizations.", "as in its indicators", src, label="strength of mass-prevention organizations (score)", label_zh="群防群治组织实力（得分）"),
        Column("resource", "double", "Resource score 0..100: police, cameras and data per resident, distance to police.", "as in its indicators", src, label="security resources per resident (score)", label_zh="人均治安资源（得分）"),
        Column("mechanism", "double", "Mechanism score 0..100: response time, resolution rate, joint patrols.", "as in its indicators", src, label="response and joint-working mechanisms (score)", label_zh="出警与联动机制（得分）"),
        Column("capacity_index", "double", "Weighted mean of the four sub-scores (0..100).", "as in its indicators", src, label="governance capacity (score)", label_zh="基层治理能力（得分）"),
    ]


def feature_labels(conf: Mapping[str, Any], grain: str, language: str = "zh") -> dict[str, str]:
    """Column name -> label in `language` (zh or en) of every column of gold.village_features
    and gold.governance_index."""
    return {c.name: c.label_in(language) for c in [*village_feature_columns(conf, grain), *governance_columns()]}


def schema_of(columns: list[Column]) -> T.StructType:
    """The Delta schema with comments; keys are NOT NULL."""
    keys = {"village_id", "township_id", "period_start"}
    return T.StructType(
        [
            T.StructField(c.name, TYPES[c.type], c.name not in keys, metadata={"comment": c.comment})
            for c in columns
        ]
    )


def markdown_table(columns: list[Column]) -> str:
    """The feature reference of docs/features.md: one row per column."""
    lines = ["| column | type | definition | window | source |", "|---|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.definition} | {c.window} | {c.source} |" for c in columns]
    return "\n".join(lines)


def replace_generated(text: str, block: str, body: str, where: str) -> str:
    """`text` with the part between `<!-- BEGIN generated:block -->` and its END marker
    replaced by `body` (a document whose reference is rendered from the code)."""
    begin, end = f"<!-- BEGIN generated:{block} -->", f"<!-- END generated:{block} -->"
    if begin not in text or end not in text:
        raise ValueError(f"{where} has no {begin} ... {end} block")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


DOC = Path(__file__).resolve().parents[1] / "docs" / "features.md"


def rewrite_doc(conf: Mapping[str, Any], grain: str) -> tuple[str, str]:
    """(current text, text with the generated feature reference) of docs/features.md."""
    text = DOC.read_text(encoding="utf-8")
    return text, replace_generated(text, "features", markdown_table(village_feature_columns(conf, grain)), str(DOC))


def write_or_check(doc: Path, current: str, wanted: str, command: str, check: bool) -> int:
    """A generated document's command line: with `check`, exit 1 (saying so) when `doc` is
    stale; else write it. Shared by this module and store/catalog.py."""
    if check:
        if current != wanted:
            print(f"{doc} is stale: run `{command}`", file=sys.stderr)
            return 1
        return 0
    doc.write_text(wanted, encoding="utf-8")
    print(f"wrote {doc}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    from conf import load_settings

    parser = argparse.ArgumentParser(
        prog="python -m features.dictionary",
        description="Rewrite the generated feature reference of docs/features.md from the data "
                    "dictionary (the default settings); --check only says whether it is current.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/features.md is stale")
    args = parser.parse_args(argv)
    settings = load_settings()
    current, wanted = rewrite_doc(settings.section("features"), str(settings.get("period", "month")))
    return write_or_check(DOC, current, wanted, "python -m features.dictionary", args.check)


if __name__ == "__main__":
    raise SystemExit(main())
