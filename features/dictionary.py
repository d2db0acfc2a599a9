"""Data dictionary of gold.village_features and gold.governance_index: one entry per column.

The same entries give the closing select (names, order, types), the Delta column comments and
docs/features.md, so the three cannot drift apart. Column names follow conf/features.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import types as T

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

    @property
    def comment(self) -> str:
        return f"{self.definition} Window: {self.window}. Source: {self.source}."


def _w(w: int, unit: str) -> str:
    return f"last {w} {unit}s (t-{w - 1}..t)" if w > 1 else f"the {unit} t itself"


def _over(w: int, unit: str) -> str:
    """A window in words: "the last month", "the last 3 months"."""
    return f"the last {unit}" if w == 1 else f"the last {w} {unit}s"


_SURVEY_WORDS = {
    "safety": "residents' sense of safety", "trust_police": "residents' trust in the police",
    "participation": "residents taking part in village security",
    "satisfaction": "residents' satisfaction with security work",
}


def _words(code: str) -> str:
    return code.replace("_", " ")


def village_feature_columns(conf: Mapping[str, Any], grain: str) -> list[Column]:
    """Every column of gold.village_features in table order."""
    unit, inc = grain, "silver.incidents (+ bronze.incidents versions)"
    groups = conf["category_groups"]
    cols = [
        Column("village_id", "string", "Village code.", "-", "silver.villages", label="village code"),
        Column("township_id", "string", "Township of the village.", "-", "silver.villages", label="township"),
        Column("period_start", "date", f"First day of the {unit} t the row describes.", "-", "periods", label=f"{unit} of the row"),
    ]
    for w in conf["windows"]:
        for g, cats in groups.items():
            cols.append(Column(f"inc_{g}_{w}", "int", f"Incidents in group {g} ({', '.join(cats)}), false alarms excluded.", _w(w, unit), inc, label=f"{_words(g)} incidents over {_over(w, unit)}"))
        cols += [
            Column(f"inc_all_{w}", "int", "Incidents of every category, false alarms excluded.", _w(w, unit), inc, label=f"incidents over {_over(w, unit)}"),
            Column(f"inc_sev_{w}", "double", "Severity-weighted incident count (weights in conf severity_weights).", _w(w, unit), inc, label=f"severity-weighted incidents over {_over(w, unit)}"),
            Column(f"inc_citizen_{w}", "int", f"Incidents reported by citizens (sources {', '.join(conf['citizen_sources'])}).", _w(w, unit), inc, label=f"incidents reported by residents over {_over(w, unit)}"),
            Column(f"inc_patrol_found_{w}", "int", f"Incidents found by patrols (sources {', '.join(conf['patrol_sources'])}).", _w(w, unit), inc, label=f"incidents found by patrols over {_over(w, unit)}"),
        ]
    lookback = 12 if grain == "month" else 52
    short, long = conf["trend"]["short"], conf["trend"]["long"]
    rate_w, k = conf["rate"]["window"], conf["rate"]["prior_strength"]
    cols += [
        Column("inc_all_last_year", "int", "Incidents in the same period one year earlier.", f"t-{lookback}", inc, label=f"incidents in the same {unit} last year"),
        Column("inc_sev_last_year", "double", "Severity-weighted incidents in the same period one year earlier.", f"t-{lookback}", inc, label=f"severity-weighted incidents in the same {unit} last year"),
        Column("inc_trend", "double", f"Mean severity-weighted count per {unit} over the last {short} minus over the last {long}.", f"last {long} {unit}s", inc, label="the recent rise in incidents"),
        Column("periods_since_serious", "int", f"{unit.capitalize()}s since the latest incident of severity >= {conf['serious_severity']} (0 = in t); {lookback + 1} = none in t-{lookback}..t.", f"t-{lookback}..t", inc, label=f"{unit}s since the last serious incident"),
        Column("rate_per_1000", "double", f"Incidents per 1,000 residents per {unit}: inc_all_{rate_w} / (resident_pop / 1000 * {rate_w}); null without population.", _w(rate_w, unit), f"{inc}, silver.population", label="incidents per 1,000 residents"),
        Column("township_rate_per_1000", "double", "Township rate: sum of its villages' incidents / sum of their exposure (villages with population).", _w(rate_w, unit), f"{inc}, silver.population", label="the township's incidents per 1,000 residents"),
        Column("rate_per_1000_shrunk", "double", f"Empirical-Bayes rate (y + k r) / (e + k), e = exposure in 1,000 person-{unit}s, r = township rate, k = {k}; the township rate without population.", _w(rate_w, unit), f"{inc}, silver.population", label="incidents per 1,000 residents (steadied by the township rate)"),
    ]
    for w in conf["neighbours"]["windows"]:
        cols += [
            Column(f"nbr_inc_{w}", "double", "Distance-weighted mean of inc_all over the neighbouring villages (near-repeat).", _w(w, unit), f"{inc}, silver.villages", label=f"incidents in neighbouring villages over {_over(w, unit)}"),
            Column(f"nbr_sev_{w}", "double", "Distance-weighted mean of inc_sev over the neighbouring villages.", _w(w, unit), f"{inc}, silver.villages", label=f"severity-weighted incidents in neighbouring villages over {_over(w, unit)}"),
        ]
    nb = conf["neighbours"]
    cols += [
        Column("spatial_lag_rate", "double", "Spatial lag: distance-weighted mean of the neighbours' rate_per_1000_shrunk.", _w(rate_w, unit), f"{inc}, silver.population, silver.villages", label="the incident rate of neighbouring villages"),
        Column("nbr_count", "int", f"Neighbours used: the {nb['k']} nearest villages within {nb['max_km']} km, weights 1/max(d, {nb['min_km']} km) normalised; null when none.", "-", "silver.villages", label="number of neighbouring villages"),
    ]
    mech = conf["mechanism"]
    rw, resw = mech["response_window"], mech["resolution_window"]
    cols += [
        Column(f"response_minutes_mean_{rw}", "double", "Mean response minutes of the incidents with a response time.", _w(rw, unit), inc, label=f"police response time in minutes over {_over(rw, unit)}"),
        Column(f"resolution_rate_{resw}", "double", "Share of incidents (false alarms excluded) whose status at the end of t is resolved.", _w(resw, unit), inc, label=f"share of incidents resolved over {_over(resw, unit)}"),
        Column("month_of_year", "int", f"Month (1..12) of t{' (month of its Thursday)' if grain == 'week' else ''}.", "t", "calendar", label="month of the year"),
        Column("festival_days", "int", "Days of t inside the Spring Festival window (conf/calendar.yaml).", "t", "conf/calendar.yaml", label=f"Spring Festival days this {unit}"),
        Column("is_harvest", "boolean", "t falls in a harvest month (conf/calendar.yaml).", "t", "conf/calendar.yaml", label="harvest season"),
        Column("next_month_of_year", "int", "Month of t+1 (the period the label describes; known in advance).", "t+1", "calendar", label="month of the year being forecast"),
        Column("next_festival_days", "int", "Days of t+1 inside the Spring Festival window.", "t+1", "conf/calendar.yaml", label=f"Spring Festival days in the {unit} being forecast"),
        Column("next_is_harvest", "boolean", "t+1 falls in a harvest month.", "t+1", "conf/calendar.yaml", label=f"harvest season in the {unit} being forecast"),
    ]
    pop = "silver.population (latest snapshot dated before t ends)"
    cols += [
        Column("resident_pop", "int", "Resident population.", "as of t", pop, label="resident population"),
        Column("households", "int", "Households.", "as of t", pop, label="households"),
        Column("ageing_share", "double", "pop_60_plus / resident_pop.", "as of t", pop, label="share of residents aged 60 or over"),
        Column("left_behind_children_per_1000", "double", "Left-behind children per 1,000 residents.", "as of t", pop, label="left-behind children per 1,000 residents"),
        Column("left_behind_elderly_per_1000", "double", "Left-behind elderly per 1,000 residents.", "as of t", pop, label="left-behind elderly per 1,000 residents"),
        Column("migrant_out_share", "double", "migrant_workers_out / registered_pop.", "as of t", pop, label="share of registered residents working away"),
        Column("low_income_share", "double", "low_income_households / households.", "as of t", pop, label="share of low-income households"),
        Column("per_capita_income_yuan", "double", "Per-capita income (yuan).", "as of t", pop, label="income per head (yuan)"),
        Column("pop_snapshot_date", "date", "Date of the snapshot used.", "as of t", pop, label="date of the population figures"),
    ]
    pw, units = conf["patrol"]["windows"], conf["patrol"]["unit_types"]
    r, pat = max(pw), "silver.patrols"
    for w in pw:
        cols += [Column(f"patrol_hours_{u}_{w}", "double", f"Patrol hours by {u} units.", _w(w, unit), pat, label=f"patrol hours by {_words(u)} units over {_over(w, unit)}") for u in units]
        cols += [
            Column(f"patrol_hours_{w}", "double", "Patrol hours, all actors.", _w(w, unit), pat, label=f"patrol hours over {_over(w, unit)}"),
            Column(f"patrol_sessions_{w}", "int", "Patrol sessions, all actors.", _w(w, unit), pat, label=f"patrol sessions over {_over(w, unit)}"),
        ]
    police, joint = conf["patrol"]["police_unit_types"], conf["patrol"]["joint_unit_types"]
    cols += [
        Column(f"non_police_share_{r}", "double", f"Share of patrol hours by units other than {', '.join(police)} (co-governance); null without patrols.", _w(r, unit), pat, label=f"share of patrol hours by co-governance teams over {_over(r, unit)}"),
        Column(f"joint_patrol_share_{r}", "double", f"Share of patrol hours by {', '.join(joint)} units; null without patrols.", _w(r, unit), pat, label=f"share of patrol hours by joint-defense teams over {_over(r, unit)}"),
        Column(f"patrol_actor_types_{r}", "int", "Distinct unit types that patrolled the village.", _w(r, unit), pat, label=f"kinds of teams that patrolled over {_over(r, unit)}"),
        Column("patrol_nights_1", "int", "Distinct nights (20:00-06:00) with a night patrol started in t.", "t", pat, label=f"nights patrolled last {unit}"),
        Column(f"patrol_hours_per_1000_{r}", "double", "Patrol hours per 1,000 residents.", _w(r, unit), f"{pat}, silver.population", label=f"patrol hours per 1,000 residents over {_over(r, unit)}"),
        Column(f"police_hours_per_1000_{r}", "double", f"Patrol hours by {', '.join(police)} per 1,000 residents.", _w(r, unit), f"{pat}, silver.population", label=f"police patrol hours per 1,000 residents over {_over(r, unit)}"),
    ]
    org, res = "silver.organizations (active at the end of t)", "silver.resources (active at the end of t)"
    mass = ", ".join(conf["organizations"]["mass_prevention_types"])
    cols += [
        Column("orgs_active", "int", "Active organizations of any type.", "end of t", org, label="active security organizations"),
        Column("org_types_active", "int", "Distinct types of the active organizations.", "end of t", org, label="kinds of active security organizations"),
        Column("mass_orgs_active", "int", f"Active mass-prevention organizations ({mass}).", "end of t", org, label="active mass-prevention organizations"),
        Column("mass_members", "long", "Members of the active mass-prevention organizations.", "end of t", org, label="members of mass-prevention organizations"),
        Column("mass_trained_share", "double", "Trained members / members of the mass-prevention organizations; null without members.", "end of t", org, label="share of mass-prevention members trained"),
        Column("mass_members_per_1000", "double", "Mass-prevention members per 1,000 residents.", "end of t", f"{org}, silver.population", label="mass-prevention members per 1,000 residents"),
        Column("cameras_working", "int", "Cameras with status working, installed and not removed.", "end of t", res, label="working cameras"),
        Column("cameras_per_km2", "double", "Working cameras per km2 of village area.", "end of t", f"{res}, silver.villages", label="working cameras per square kilometre"),
        Column("cameras_per_1000", "double", "Working cameras per 1,000 residents.", "end of t", f"{res}, silver.population", label="working cameras per 1,000 residents"),
        Column("km_to_police", "double", f"Km from the village point to the nearest {', '.join(conf['resources']['police_types'])} (its own point or its village's); null when none.", "end of t", f"{res}, silver.villages", label="distance to the nearest police station or post (km)"),
    ]
    sv = "silver.survey (latest wave with responses dated before t ends)"
    m = conf["survey"]["prior_responses"]
    cols += [
        Column("survey_responses", "int", "Responses of the village in its latest wave.", "latest wave", sv, label="survey responses"),
        *[
            Column(f"survey_{q}", "double", f"Mean of q_{q} (1..5) shrunk toward the township mean with {m} pseudo-responses; the township mean without responses.", "latest wave", sv, label=f"{_SURVEY_WORDS[q]} (survey score)")
            for q in ("safety", "trust_police", "participation", "satisfaction")
        ],
        Column("survey_wave_start", "date", f"Start of the latest wave ({conf['survey']['wave_grain']}).", "latest wave", sv, label="date of the latest survey"),
        Column("survey_responses_per_1000", "double", "Survey responses per 1,000 residents (data about residents).", "latest wave", f"{sv}, silver.population", label="survey responses per 1,000 residents"),
    ]
    lab = conf["label"]
    cols += [
        Column("label_weighted_next", "double", f"Label: severity-weighted count of incidents reported in t+1 from {', '.join(lab['sources'])}, false alarms excluded (latest versions); null for the last period.", "t+1", "silver.incidents", label=f"severity-weighted incidents in the next {unit}"),
        Column("label_high_risk_next", "boolean", f"Label: among the top {lab['high_risk_share']:.0%} of villages of t by label_weighted_next (ties by village_id) and > 0; null for the last period.", "t+1", "silver.incidents", label=f"among the highest-risk villages in the next {unit}"),
    ]
    return cols


def governance_columns() -> list[Column]:
    src = "gold.village_features, conf/governance.yaml"
    return [
        Column("village_id", "string", "Village code.", "-", "silver.villages", label="village code"),
        Column("township_id", "string", "Township of the village.", "-", "silver.villages", label="township"),
        Column("period_start", "date", "First day of period t.", "-", "periods", label="period of the row"),
        Column("subject", "double", "Subject score 0..100: diversity of actors in patrols and organizations.", "as in its indicators", src, label="diversity of security actors (score)"),
        Column("organization", "double", "Organization score 0..100: strength and training of mass-prevention organizations.", "as in its indicators", src, label="strength of mass-prevention organizations (score)"),
        Column("resource", "double", "Resource score 0..100: police, cameras and data per resident, distance to police.", "as in its indicators", src, label="security resources per resident (score)"),
        Column("mechanism", "double", "Mechanism score 0..100: response time, resolution rate, joint patrols.", "as in its indicators", src, label="response and joint-working mechanisms (score)"),
        Column("capacity_index", "double", "Weighted mean of the four sub-scores (0..100).", "as in its indicators", src, label="governance capacity (score)"),
    ]


def feature_labels(conf: Mapping[str, Any], grain: str) -> dict[str, str]:
    """Column name -> label of every column of gold.village_features and gold.governance_index."""
    return {c.name: c.label for c in [*village_feature_columns(conf, grain), *governance_columns()]}


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
    lines = ["| column | type | definition | window | source |", "|---|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.definition} | {c.window} | {c.source} |" for c in columns]
    return "\n".join(lines)
