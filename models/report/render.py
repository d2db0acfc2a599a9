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
from models.report.charts import (
    RISK_BREAKS,
    RISK_COLOURS,
    calibration_svg,
    comparison_svg,
    governance_svg,
    map_points,
    trends_svg,
)
from models.report.data import ACTORS, ReportData, summary_numbers

TEMPLATES = Path(__file__).resolve().parent / "templates"
ACTOR_HEADINGS = {
    "police": "Police", "auxiliary_police": "Auxiliary police", "joint_defense": "Joint defense",
    "volunteer": "Volunteers", "security_company": "Security company", "village_committee": "Village committee",
}
METRIC_LABELS = {"pei_star": "PEI*", "hit_rate": "Hit rate", "pai": "PAI", "roc_auc": "ROC AUC",
                 "pr_auc": "PR AUC", "brier": "Brier", "ece": "Calibration error"}


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


def environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(num=_num, pct=_pct, hours=_hours)
    return env


def model_words(name: str, grain: str = "month") -> str:
    """A model of the registry or the backtest in a planner's words."""
    fixed = {
        "logistic": "logistic regression on the village features",
        "hgb": "gradient-boosted trees (chance of high risk)",
        "hgb_count": "gradient-boosted trees (expected incidents)",
        "baseline_prev": f"last {grain}'s incidents",
        "baseline_ewm": "exponentially weighted mean of past incidents",
        "baseline_hotspot": "recent incidents of the village and its neighbours (hotspot)",
    }
    if name in fixed:
        return fixed[name]
    m = re.fullmatch(r"baseline_ma(\d+)", name)
    return f"{m.group(1)}-{grain} average of past incidents" if m else name.replace("_", " ")


def period_words(start: date, grain: str) -> str:
    return start.strftime("%B %Y") if grain == "month" else f"the week starting {start.isoformat()}"


def _recent(metrics: pd.DataFrame, periods: int) -> pd.DataFrame:
    """The metric rows of the latest `periods` backtest periods (the ones selection looks at)."""
    m = metrics[metrics["period_start"].notna()]
    keep = sorted(m["period_start"].unique())[-periods:]
    return m[m["period_start"].isin(keep)]


def skill_sentence(metrics: pd.DataFrame | None, champion: str | None, flag_share: float,
                   recent_periods: int, grain: str = "month") -> str | None:
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
    span = f"last {grain}" if n == 1 else f"last {n} {grain}s"
    text = (f"Over the {span} of the backtest, the {flag_share:.0%} of villages the model would have "
            f"flagged held {own:.0%} of the severity-weighted incidents that followed")
    averages = sorted(
        (int(m.group(1)), str(name)) for name in means.index
        if (m := re.fullmatch(r"baseline_ma(\d+)", str(name)))
    )
    if averages:
        reference = averages[-1][1]
        if reference == champion:
            return text + f"; the model is itself a {model_words(reference, grain)}."
        ref = means[reference]
        if ref == ref:
            return text + f"; a {model_words(reference, grain)} would have held {ref:.0%}."
    return text + "."


def metric_summary(metrics: pd.DataFrame | None, recent_periods: int | None = None
                   ) -> tuple[list[str], list[dict]]:
    """Mean of each headline metric per model over the latest `recent_periods` backtest periods
    (every period when None): (columns, rows)."""
    if metrics is None or metrics.empty:
        return [], []
    m = metrics[metrics["metric"].isin(METRIC_LABELS)].copy()
    if recent_periods is not None:
        m = _recent(m, recent_periods)
    cov = m["coverage"].astype(float) if "coverage" in m else pd.Series(float("nan"), index=m.index)
    m["column"] = [
        f"{METRIC_LABELS[k]} @ top {c:.0%}" if not math.isnan(c) else METRIC_LABELS[k]
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


def header(data: ReportData, generated: datetime) -> dict[str, Any]:
    """What the page covers, in words: county, forecast period, data cut-off, model."""
    start = data.period_start
    based_on = start - timedelta(days=1)
    champ = data.champion or {}
    model = champ.get("model")
    cutoff = data.data_cutoff
    return {
        "county": data.county,
        "forecast": period_words(start, data.grain),
        "based_on": based_on.isoformat(),
        "cutoff": cutoff.strftime("%Y-%m-%d %H:%M") if cutoff is not None else None,
        "generated": generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
        "model": model_words(str(model), data.grain) if model else None,
        "model_version": champ.get("version"),
        "trained_to": champ["train_end"].isoformat() if champ.get("train_end") is not None else None,
        "past": period_end(start, data.grain) <= generated.date(),  # exclusive end
    }


def context(data: ReportData, run_id: str, top_n: int, generated: datetime | None = None) -> dict[str, Any]:
    r = data.risk.assign(shown_name=shown_names(data.risk))
    top = r.head(max(top_n, int(r["flagged"].fillna(False).sum())))  # every flagged village
    ctx: dict[str, Any] = {
        "run_id": run_id, "period_start": data.period_start.isoformat(),
        "villages": len(r), "flagged": int(r["flagged"].fillna(False).sum()),
        "model_version": ", ".join(sorted({str(x) for x in r["model_version"].dropna()})) or "unknown",
        "actors": ACTORS, "actor_headings": ACTOR_HEADINGS,
        "plan_actors": [a for a in ACTORS if r[f"hours_{a}"].sum() > 0],  # table columns with hours
        "ranked": top.to_dict(orient="records"), "ranked_total": len(r),
        "total_hours": float(sum(r[f"hours_{a}"].sum() for a in ACTORS)),
        "map": map_points(r, data.villages), "palette": list(zip(RISK_COLOURS, ("<10%", "10-25%", "25-50%",
                                                                          "50-75%", "≥75%"), strict=True)),
        "breaks": RISK_BREAKS, "missing": data.missing, "numbers": summary_numbers(data),
        "head": header(data, generated or datetime.now().astimezone()),
        "files": {"risk": RISK_CSV, "plan": PLAN_CSV},
    }
    champion = (data.champion or {}).get("model")
    ctx["champion"] = champion
    ctx["skill"] = skill_sentence(data.metrics, champion, data.flag_share, data.recent_periods, data.grain)
    ctx["recent_periods"] = data.recent_periods
    ctx["model_words"] = {str(m): model_words(str(m), data.grain)
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
        ctx["comparison_svg"] = comparison_svg(totals)
    ctx["trends_svg"] = trends_svg(data.trends) if data.trends is not None and len(data.trends) else None
    ctx["governance"] = None if data.governance is None or data.governance.empty else \
        data.governance.to_dict(orient="records")
    ctx["governance_svg"] = governance_svg(data.governance) if ctx["governance"] else None
    ctx["metric_columns"], ctx["metric_rows"] = metric_summary(data.metrics, data.recent_periods)
    rel = data.reliability
    ctx["calibration_svg"] = calibration_svg(rel, sorted(rel["model"].unique())) \
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


def render(data: ReportData, run_id: str, top_n: int = 30, generated: datetime | None = None) -> str:
    return environment().get_template("index.html.j2").render(**context(data, run_id, top_n, generated))


# Beside the page: the risk list and the plan as CSV (UTF-8 with a BOM, so a spreadsheet
# opens Chinese names right).
RISK_CSV, PLAN_CSV = "risk_list.csv", "patrol_plan.csv"
LATEST = "latest"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (=, +, -, @ first) get a leading
    apostrophe, so a name like =HYPERLINK(...) from a landing file is shown, not run."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [("'" + v) if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                        for v in out[col]]
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
                 generated: datetime | None = None) -> Path:
    """Write <out_dir>/<run_id>/index.html with the risk list and plan as CSV beside it, point
    <out_dir>/latest at the folder, and return the page's path."""
    folder = Path(out_dir) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    for name, frame in ((RISK_CSV, risk_csv(data)), (PLAN_CSV, plan_csv(data))):
        _write_atomic(folder / name, lambda p, f=frame: f.to_csv(p, index=False, encoding="utf-8-sig"))
    html = render(data, run_id, top_n, generated)
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
