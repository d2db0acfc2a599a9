"""Render the report page: one self-contained HTML file (inline CSS and SVG, no scripts run)."""

from __future__ import annotations

import math
import os
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from features.periods import period_end
from report.charts import (
    RISK_BREAKS,
    RISK_COLOURS,
    STRATEGY_WORDS,
    calibration_svg,
    comparison_svg,
    governance_svg,
    map_points,
    trends_svg,
)
from report.data import ACTORS, ReportData, summary_numbers
from report.i18n import (
    DEFAULT_LANGUAGE,
    HTML_LANG,
    N_,
    day_words,
    month_words,
    translations,
    translator,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
# English words of codes, translated where shown (report/i18n.py).
ACTOR_HEADINGS = {
    "police": N_("Police"), "auxiliary_police": N_("Auxiliary police"), "joint_defense": N_("Joint defense"),
    "volunteer": N_("Volunteers"), "security_company": N_("Security company"),
    "village_committee": N_("Village committee"),
}
METRIC_LABELS = {"pei_star": N_("PEI*"), "hit_rate": N_("Hit rate"), "pai": N_("PAI"), "roc_auc": N_("ROC AUC"),
                 "pr_auc": N_("PR AUC"), "brier": N_("Brier"), "ece": N_("Calibration error")}
FLAGS_FROM = {"scored": N_("scored"), "backtest": N_("backtest")}
SOURCES = {
    "villages": N_("villages"), "incidents": N_("incidents"), "population": N_("population"),
    "patrols": N_("patrols"), "organizations": N_("organizations"), "resources": N_("resources"),
    "survey": N_("survey"),
}


def _num(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{float(x):,.{digits}f}"


def _pct(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def _hours(x: Any) -> str:
    return "" if not x else f"{float(x):g}"


def environment(language: str = DEFAULT_LANGUAGE):
    """The template environment with Jinja2's i18n extension and the language's translations
    installed (new-style gettext: placeholders are escaped, the translated text is not)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True  # a {% trans %} block's line breaks are one space
    env.install_gettext_translations(translations(language), newstyle=True)
    env.filters.update(num=_num, pct=_pct, hours=_hours)
    return env


# Words that depend on the period grain, one message per grain (the English plural is not "+s"
# in every language).
# A grain the tables do not know reads as months (the report never refuses to render).
_PREVIOUS = {"month": N_("last month's incidents"), "week": N_("last week's incidents"),
             "quarter": N_("last quarter's incidents"), "year": N_("last year's incidents")}
_AVERAGE = {"month": N_("{n}-month average of past incidents"), "week": N_("{n}-week average of past incidents"),
            "quarter": N_("{n}-quarter average of past incidents"),
            "year": N_("{n}-year average of past incidents")}
_SPAN_ONE = {"month": N_("last month"), "week": N_("last week"), "quarter": N_("last quarter"),
             "year": N_("last year")}
_SPAN = {"month": N_("last {n} months"), "week": N_("last {n} weeks"), "quarter": N_("last {n} quarters"),
         "year": N_("last {n} years")}


def model_words(name: str, grain: str = "month", language: str = DEFAULT_LANGUAGE) -> str:
    """A model of the registry or the backtest in a planner's words."""
    _ = translator(language)
    fixed = {
        "logistic": N_("logistic regression on the village features"),
        "hgb": N_("gradient-boosted trees (chance of high risk)"),
        "hgb_count": N_("gradient-boosted trees (expected incidents)"),
        "poisson_glm": N_("Poisson regression per resident (expected incidents)"),
        "baseline_prev": _PREVIOUS.get(grain, _PREVIOUS["month"]),
        "baseline_ewm": N_("exponentially weighted mean of past incidents"),
        "baseline_hotspot": N_("recent incidents of the village and its neighbours (hotspot)"),
    }
    if name in fixed:
        return _(fixed[name])
    m = re.fullmatch(r"baseline_ma(\d+)", name)
    return _(_AVERAGE.get(grain, _AVERAGE["month"])).format(n=m.group(1)) if m else name.replace("_", " ")


def period_words(start: date, grain: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The forecast period: "2024年5月" / "May 2024", the week starting a day, "2024年第2季度" /
    "Q2 2024" or "2024年" / "2024"."""
    if grain == "week":
        _ = translator(language)
        return _("the week starting {day}").format(day=day_words(start, language))
    if grain == "quarter":
        q = (start.month - 1) // 3 + 1
        return f"{start.year}年第{q}季度" if language == "zh" else f"Q{q} {start.year}"
    if grain == "year":
        return f"{start.year}年" if language == "zh" else str(start.year)
    return month_words(start, language)


def _recent(metrics: pd.DataFrame, periods: int) -> pd.DataFrame:
    """The metric rows of the latest `periods` backtest periods (the ones selection looks at)."""
    m = metrics[metrics["period_start"].notna()]
    keep = sorted(m["period_start"].unique())[-periods:]
    return m[m["period_start"].isin(keep)]


def skill_sentence(metrics: pd.DataFrame | None, champion: str | None, flag_share: float,
                   recent_periods: int, grain: str = "month", language: str = DEFAULT_LANGUAGE) -> str | None:
    """"How good is it" in one sentence: the champion's hit rate at the flagged share over the
    recent backtest periods (the window the champion was selected on, models.backtest.recent_mean),
    beside the longest moving average of past incidents over the same periods."""
    from models.backtest import recent_mean

    if metrics is None or metrics.empty or not champion:
        return None
    means = recent_mean(metrics, "hit_rate", flag_share, recent_periods)
    own = means.get(champion)
    if own is None or own != own:
        return None
    hit_periods = metrics.loc[(metrics["metric"] == "hit_rate") & metrics["period_start"].notna(), "period_start"]
    n = min(recent_periods, hit_periods.nunique())
    _ = translator(language)
    unit = grain if grain in _SPAN else "month"
    span = _(_SPAN_ONE[unit]) if n == 1 else _(_SPAN[unit]).format(n=n)
    text = _("Over the {span} of the backtest, the {share} of villages the model would have flagged "
             "held {own} of the severity-weighted incidents that followed").format(
        span=span, share=f"{flag_share:.0%}", own=f"{own:.0%}")
    averages = sorted(
        (int(m.group(1)), str(name)) for name in means.index
        if (m := re.fullmatch(r"baseline_ma(\d+)", str(name)))
    )
    if averages:
        reference = averages[-1][1]
        words = model_words(reference, grain, language)
        if reference == champion:
            return text + _("; the model is itself a {model}.").format(model=words)
        ref = means[reference]
        if ref == ref:
            return text + _("; a {model} would have held {share}.").format(model=words, share=f"{ref:.0%}")
    return text + _(".")


def metric_summary(metrics: pd.DataFrame | None, recent_periods: int | None = None,
                   language: str = DEFAULT_LANGUAGE) -> tuple[list[str], list[dict]]:
    """Mean of each headline metric per model over the latest `recent_periods` backtest periods
    (every period when None): (columns, rows)."""
    if metrics is None or metrics.empty:
        return [], []
    m = metrics[metrics["metric"].isin(METRIC_LABELS)].copy()
    if recent_periods is not None:
        m = _recent(m, recent_periods)
    cov = m["coverage"].astype(float) if "coverage" in m else pd.Series(float("nan"), index=m.index)
    _ = translator(language)
    m["column"] = [
        _("{metric} @ top {share}").format(metric=_(METRIC_LABELS[k]), share=f"{c:.0%}")
        if not math.isnan(c) else _(METRIC_LABELS[k])
        for k, c in zip(m["metric"], cov, strict=True)
    ]
    order = {k: i for i, k in enumerate(METRIC_LABELS)}
    m["order"] = m["metric"].map(order) * 10 + cov.fillna(0)
    columns = list(m.sort_values("order")["column"].drop_duplicates())
    wide = m.groupby(["model", "column"])["value"].mean().unstack("column")
    periods = m.groupby("model")["period_start"].nunique()
    rows = [{"model": str(model), "periods": int(periods.get(model, 0)),
             "values": {c: wide.loc[model].get(c) for c in columns}} for model in wide.index]
    return columns, rows


def shown_names(risk: pd.DataFrame) -> pd.Series:
    """Village names as shown: with the village code where one township has two of the name."""
    name = risk["village_name"].fillna(risk["village_id"]).astype(str)
    twice = name.groupby([risk["township_name"].astype(str), name]).transform("size") > 1
    return name.where(~twice, name + " (" + risk["village_id"].astype(str) + ")")


def header(data: ReportData, generated: datetime, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """What the page covers, in words: county, forecast period, data cut-off, model."""
    start = data.period_start
    based_on = start - timedelta(days=1)
    champ = data.champion or {}
    model = champ.get("model")
    cutoff = data.data_cutoff
    return {
        "county": data.county,
        "forecast": period_words(start, data.grain, language),
        "start": day_words(start, language),
        "based_on": day_words(based_on, language),
        "cutoff": cutoff.strftime("%Y-%m-%d %H:%M") if cutoff is not None else None,
        "generated": generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
        "model": model_words(str(model), data.grain, language) if model else None,
        "model_version": champ.get("version"),
        "trained_to": day_words(champ["train_end"], language) if champ.get("train_end") is not None else None,
        "past": period_end(start, data.grain) <= generated.date(),  # exclusive end
    }


def context(data: ReportData, run_id: str, top_n: int, generated: datetime | None = None,
            language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    _ = translator(language)
    r = data.risk.assign(shown_name=shown_names(data.risk))
    top = r.head(max(top_n, int(r["flagged"].fillna(False).sum())))  # every flagged village
    ctx: dict[str, Any] = {
        "run_id": run_id, "period_start": data.period_start.isoformat(),
        "villages": len(r), "flagged": int(r["flagged"].fillna(False).sum()),
        "model_version": ", ".join(sorted({str(x) for x in r["model_version"].dropna()})) or "unknown",
        "lang": HTML_LANG[language],
        "actors": ACTORS, "actor_headings": {a: _(w) for a, w in ACTOR_HEADINGS.items()},
        "strategies": {s: _(w) for s, w in STRATEGY_WORDS.items()},
        "flags_from": {s: _(w) for s, w in FLAGS_FROM.items()},
        "sources": {s: _(w) for s, w in SOURCES.items()},
        "plan_actors": [a for a in ACTORS if r[f"hours_{a}"].sum() > 0],  # table columns with hours
        "ranked": top.to_dict(orient="records"), "ranked_total": len(r),
        "total_hours": float(sum(r[f"hours_{a}"].sum() for a in ACTORS)),
        "map": map_points(r, data.villages), "palette": list(zip(RISK_COLOURS, ("<10%", "10-25%", "25-50%",
                                                                          "50-75%", "≥75%"), strict=True)),
        "breaks": RISK_BREAKS, "missing": data.missing, "numbers": summary_numbers(data),
        "head": header(data, generated or datetime.now().astimezone(), language),
        "files": {"risk": RISK_CSV, "plan": PLAN_CSV},
    }
    champion = (data.champion or {}).get("model")
    ctx["champion"] = champion
    ctx["skill"] = skill_sentence(data.metrics, champion, data.flag_share, data.recent_periods, data.grain,
                                  language)
    ctx["recent_periods"] = data.recent_periods
    ctx["model_words"] = {str(m): model_words(str(m), data.grain, language)
                          for m in (data.metrics["model"].unique() if data.metrics is not None else [])}
    hours = sum(r[f"hours_{a}"] for a in ACTORS)
    towns = r.assign(planned=hours, flag=r["flagged"].fillna(False).astype(int)).groupby("township_name")
    ctx["townships"] = (
        towns.agg(villages=("village_id", "size"), flagged=("flag", "sum"),
                  harm=("expected_weighted_count", "sum"), planned=("planned", "sum"))
        .reset_index().sort_values("harm", ascending=False).to_dict(orient="records")
    )
    ctx["capacity"] = None
    if data.capacity is not None and not data.capacity.empty:
        c = data.capacity.groupby("actor_type")[["capacity_hours", "used_hours"]].sum()
        ctx["capacity"] = [{"actor": a, "capacity": c.loc[a, "capacity_hours"], "used": c.loc[a, "used_hours"]}
                           for a in ACTORS if a in c.index]
    ctx["comparison"] = ctx["comparison_svg"] = None
    if data.comparison is not None and not data.comparison.empty:
        totals = data.comparison.groupby("strategy")["actual_prevented"].sum()
        totals = totals.reindex([s for s in ("optimized", "proportional", "equal") if s in totals.index])
        base = totals.get("equal", float("nan"))
        ctx["comparison"] = {
            "model": ", ".join(sorted({str(x) for x in data.comparison["model"].dropna()})),
            "periods": int(data.comparison["period_start"].nunique()),
            "actual_total": float(data.comparison.groupby("period_start")["actual_weighted_total"].first().sum()),
            "rows": [{"strategy": s, "prevented": v, "vs_equal": (v / base - 1) if base else float("nan")}
                     for s, v in totals.items()],
        }
        ctx["comparison_svg"] = comparison_svg(totals, language)
    ctx["trends_svg"] = trends_svg(data.trends, language) if data.trends is not None and len(data.trends) else None
    ctx["governance"] = None if data.governance is None or data.governance.empty else \
        data.governance.to_dict(orient="records")
    ctx["governance_svg"] = governance_svg(data.governance, language) if ctx["governance"] else None
    ctx["metric_columns"], ctx["metric_rows"] = metric_summary(data.metrics, data.recent_periods, language)
    rel = data.reliability
    ctx["calibration_svg"] = calibration_svg(rel, sorted(rel["model"].unique()), language) \
        if rel is not None and len(rel) else None
    ctx["audit"] = None
    if data.audit is not None:
        towns = dict(zip(r["township_id"].astype(str), r["township_name"].astype(str), strict=True))
        audit = data.audit.assign(township_name=data.audit["township_id"].astype(str).map(towns)
                                  .fillna(data.audit["township_id"].astype(str)))
        keys = [c for c in ("flags_from", "township_name", "township_id") if c in audit.columns]
        ctx["audit"] = audit.sort_values(keys).to_dict(orient="records")
    ctx["quarantine"] = None if data.quarantine is None else data.quarantine.to_dict(orient="records")
    ctx["ingest"] = None if data.ingest is None else data.ingest.to_dict(orient="records")
    return ctx


def render(data: ReportData, run_id: str, top_n: int = 30, generated: datetime | None = None,
           language: str = DEFAULT_LANGUAGE) -> str:
    """The page in `language` (zh or en, conf/language.py)."""
    ctx = context(data, run_id, top_n, generated, language)
    return environment(language).get_template("index.html.j2").render(**ctx)


# Beside the page: the risk list and the plan as CSV (UTF-8 with a BOM, so a spreadsheet
# opens Chinese names right). Their column names are the same in every language (they are read
# by scripts and match the gold tables' columns); the reasons in them are in the language they
# were scored in. docs/allocation.md says what each column holds.
RISK_CSV, PLAN_CSV = "risk_list.csv", "patrol_plan.csv"
LATEST = "latest"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (=, +, -, @ first) get a leading
    apostrophe, so a name like =HYPERLINK(...) from a landing file is shown, not run."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = pd.Series([("'" + v) if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                                  for v in out[col]], index=out.index, dtype=out[col].dtype)
    return out


def risk_csv(data: ReportData) -> pd.DataFrame:
    r = data.risk
    out = pd.DataFrame({
        "rank": r["rank"], "village_id": r["village_id"], "village_name": r["village_name"],
        "township_id": r["township_id"], "township_name": r["township_name"],
        "period_start": r["period_start"], "chance_high_risk": r["probability"].round(4),
        "expected_harm": r["expected_weighted_count"].round(3), "flagged": r["flagged"].fillna(False),
        "reasons": ["; ".join(x) if x is not None else "" for x in r["reasons"]],
    })
    for a in ACTORS:
        out[f"hours_{a}"] = r[f"hours_{a}"]
    out["stops"] = r["stops"]
    return _inert(out)


def plan_csv(data: ReportData) -> pd.DataFrame:
    cols = ["village_id", "village_name", "township_name", "actor_type", "hours", "stops", "reason"]
    if data.plan is None or data.plan.empty:
        return pd.DataFrame(columns=cols)
    names = data.risk[["village_id", "village_name", "township_name", "rank"]]
    plan = data.plan.merge(names, on="village_id", how="left")
    if "reason" not in plan:
        plan["reason"] = ""
    return _inert(plan.sort_values(["rank", "actor_type"])[cols])


def _write_atomic(path: Path, write) -> None:
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def write_report(data: ReportData, run_id: str, out_dir: str | Path, top_n: int = 30,
                 generated: datetime | None = None, language: str = DEFAULT_LANGUAGE) -> Path:
    """Write <out_dir>/<run_id>/index.html with the risk list and plan as CSV beside it, point
    <out_dir>/latest at the folder, and return the page's path."""
    folder = Path(out_dir) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    for name, frame in ((RISK_CSV, risk_csv(data)), (PLAN_CSV, plan_csv(data))):
        _write_atomic(folder / name, lambda p, f=frame: f.to_csv(p, index=False, encoding="utf-8-sig"))
    html = render(data, run_id, top_n, generated, language)
    _write_atomic(path, lambda p: p.write_text(html, encoding="utf-8"))
    publish_latest(Path(out_dir), run_id)
    return path


def publish_latest(out_dir: Path, run_id: str) -> Path:
    """Make <out_dir>/latest a link to <out_dir>/<run_id> (relative, swapped in one rename, so a
    reader of latest/ sees the previous report or this one, never half of each)."""
    latest, staged = out_dir / LATEST, out_dir / f".{LATEST}-{run_id}"
    if staged.is_symlink() or staged.exists():
        staged.unlink()
    os.symlink(run_id, staged, target_is_directory=True)
    if latest.is_dir() and not latest.is_symlink():
        shutil.rmtree(latest)  # a folder someone made by hand: replaced by the link
    os.replace(staged, latest)
    return latest
