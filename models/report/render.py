"""Render the report page: one self-contained HTML file (inline CSS and SVG, no scripts run)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

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


def metric_summary(metrics: pd.DataFrame | None) -> tuple[list[str], list[dict]]:
    """Mean of each headline metric per model over the backtest periods: (columns, rows)."""
    if metrics is None or metrics.empty:
        return [], []
    m = metrics[metrics["metric"].isin(METRIC_LABELS)].copy()
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


def context(data: ReportData, run_id: str, top_n: int) -> dict[str, Any]:
    r = data.risk
    top = r.head(max(top_n, int(r["high_risk"].fillna(False).sum())))  # every flagged village
    ctx: dict[str, Any] = {
        "run_id": run_id, "period_start": data.period_start.isoformat(),
        "villages": len(r), "flagged": int(r["high_risk"].fillna(False).sum()),
        "model_version": ", ".join(sorted({str(x) for x in r["model_version"].dropna()})) or "unknown",
        "actors": ACTORS, "actor_headings": ACTOR_HEADINGS,
        "plan_actors": [a for a in ACTORS if r[f"hours_{a}"].sum() > 0],  # table columns with hours
        "ranked": top.to_dict(orient="records"), "ranked_total": len(r),
        "total_hours": float(sum(r[f"hours_{a}"].sum() for a in ACTORS)),
        "map": map_points(r, data.villages), "palette": list(zip(RISK_COLOURS, ("<10%", "10-25%", "25-50%",
                                                                          "50-75%", "≥75%"), strict=True)),
        "breaks": RISK_BREAKS, "missing": data.missing, "numbers": summary_numbers(data),
    }
    hours = sum(r[f"hours_{a}"] for a in ACTORS)
    towns = r.assign(planned=hours, flag=r["high_risk"].fillna(False).astype(int)).groupby("township_name")
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
    ctx["metric_columns"], ctx["metric_rows"] = metric_summary(data.metrics)
    rel = data.reliability
    ctx["calibration_svg"] = calibration_svg(rel, sorted(rel["model"].unique())) \
        if rel is not None and len(rel) else None
    ctx["audit"] = None
    if data.audit is not None:
        keys = [c for c in ("source", "township_id") if c in data.audit.columns]
        ctx["audit"] = data.audit.sort_values(keys).to_dict(orient="records")
    ctx["quarantine"] = None if data.quarantine is None else data.quarantine.to_dict(orient="records")
    ctx["ingest"] = None if data.ingest is None else data.ingest.to_dict(orient="records")
    return ctx


def render(data: ReportData, run_id: str, top_n: int = 30) -> str:
    return environment().get_template("index.html.j2").render(**context(data, run_id, top_n))


def write_report(data: ReportData, run_id: str, out_dir: str | Path, top_n: int = 30) -> Path:
    """Write <out_dir>/<run_id>/index.html and return its path."""
    folder = Path(out_dir) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    path.write_text(render(data, run_id, top_n), encoding="utf-8")
    return path
