"""Gather what the command-centre report shows, as small pandas frames (None: table missing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from store import catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from store.lakehouse import Lakehouse

# Every table the report reads (the reader refuses others, so the list stays whole: the report
# stage skips when none of them changed, jobs/reuse.py).
TABLES = (catalog.VILLAGE_RISK, catalog.SILVER_VILLAGES, catalog.PATROL_PLAN, catalog.PATROL_CAPACITY_USED,
          catalog.ALLOCATION_BACKTEST, catalog.SILVER_INCIDENTS, catalog.GOVERNANCE_INDEX,
          catalog.MODEL_METRICS, catalog.TOWNSHIP_AUDIT, catalog.QUARANTINE, catalog.INGEST_LOG,
          catalog.MODEL_REGISTRY)
ACTORS = ("police", "auxiliary_police", "joint_defense", "volunteer", "security_company",
          "village_committee")


class ReportInputError(ValueError):
    """The report cannot be built: gold.village_risk (its one required table) is missing or empty."""


@dataclass
class ReportData:
    period_start: date
    risk: pd.DataFrame  # the scored period, one row per village, with planned hours per actor
    villages: pd.DataFrame | None = None  # village_id, longitude, latitude, township_id
    plan: pd.DataFrame | None = None
    capacity: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    trends: pd.DataFrame | None = None  # township_name, period_start, incidents
    governance: pd.DataFrame | None = None  # township_name, subject, organization, resource, mechanism, capacity_index
    metrics: pd.DataFrame | None = None
    reliability: pd.DataFrame | None = None  # model, bin, rows, predicted, observed
    audit: pd.DataFrame | None = None
    quarantine: pd.DataFrame | None = None  # source, reason, rows
    ingest: pd.DataFrame | None = None
    missing: list[str] = field(default_factory=list)
    # What the header says: the county, the newest incident report in silver.incidents (the
    # data cut-off) and the champion's registry row (model, version, train_end, selection_note).
    county: str | None = None
    data_cutoff: datetime | None = None
    champion: dict[str, Any] | None = None
    # Settings the page words its numbers with: the period grain, the flagged share, and how
    # many recent backtest periods chose the champion (models.selection.recent_periods).
    grain: str = "month"
    flag_share: float = 0.10
    recent_periods: int = 12


class _Reader:
    def __init__(self, spark: SparkSession, lakehouse: Lakehouse) -> None:
        self.spark, self.lakehouse, self.missing = spark, lakehouse, []

    def __call__(self, name: str) -> DataFrame | None:
        if name not in TABLES:
            raise ValueError(f"the report reads {name}, which report.data.TABLES does not list")
        if self.lakehouse.exists(self.spark, name):
            return self.lakehouse.read(self.spark, name)
        self.missing.append(name)
        return None


def gather(spark: SparkSession, lakehouse: Lakehouse, trend_periods: int = 24, **settings: Any) -> ReportData:
    """Read every table the report shows; optional tables that are missing become None.
    `settings` are ReportData's grain, flag_share and recent_periods.

    Each table is collected once over Arrow (store.frames.pandas_frame); frames read twice
    (silver.villages) are collected once and shared."""
    from pyspark.sql import functions as F

    from store.frames import pandas_frame

    read = _Reader(spark, lakehouse)
    risk_all = read(catalog.VILLAGE_RISK)
    if risk_all is None:
        raise ReportInputError("the report needs gold.village_risk: run `rural-risk score` first")
    # The latest period's rows in one query (the period is a scalar subquery, not a round trip).
    latest = risk_all.select(F.max("period_start")).scalar()
    risk = pandas_frame(risk_all.filter(F.col("period_start") == latest))
    if risk.empty:
        raise ReportInputError("gold.village_risk is empty: run `rural-risk score` first")
    period = risk["period_start"].iloc[0]
    risk = risk.sort_values("rank").reset_index(drop=True)
    data = ReportData(period_start=period, risk=risk, **settings)
    at_period = F.col("period_start") == F.lit(period)

    villages = read(catalog.SILVER_VILLAGES)
    if villages is not None:
        county = ["county_name"] if "county_name" in villages.columns else []
        data.villages = pandas_frame(villages.select(
            "village_id", "village_name", "township_id", "township_name", "longitude", "latitude", *county
        ))
        if county:
            names = sorted({str(x) for x in data.villages["county_name"].dropna()})
            data.county = "、".join(names) or None
    plan = read(catalog.PATROL_PLAN)
    if plan is not None:
        data.plan = pandas_frame(plan.filter(at_period))
    cap = read(catalog.PATROL_CAPACITY_USED)
    if cap is not None:
        data.capacity = pandas_frame(cap.filter(at_period))
    comp = read(catalog.ALLOCATION_BACKTEST)
    if comp is not None:
        data.comparison = pandas_frame(comp)
    incidents = read(catalog.SILVER_INCIDENTS)
    if incidents is not None:
        data.data_cutoff = incidents.agg(F.max("reported_at")).first()[0]  # a value, not a subquery
    data.trends = _trends(incidents, villages, trend_periods)
    gov = read(catalog.GOVERNANCE_INDEX)
    if gov is not None:
        data.governance = _governance(gov, data.villages, risk)
    metrics = read(catalog.MODEL_METRICS)
    if metrics is not None:
        m = pandas_frame(metrics)
        data.metrics = m[m["period_start"].notna()] if "period_start" in m else m
        data.reliability = _reliability(m)
    audit = read(catalog.TOWNSHIP_AUDIT)
    if audit is not None:
        data.audit = _latest_known_audit(pandas_frame(audit))
    q = read(catalog.QUARANTINE)
    if q is not None:
        data.quarantine = pandas_frame(
            q.select("source", F.explode_outer("reasons").alias("reason"))
            .groupBy("source", "reason").agg(F.count(F.lit(1)).alias("rows"))
            .orderBy("source", F.col("rows").desc())
        )
    log = read(catalog.INGEST_LOG)
    if log is not None:
        data.ingest = pandas_frame(
            log.groupBy("source").agg(
                F.count(F.lit(1)).alias("files"),
                *[F.sum(c).alias(c) for c in ("rows_read", "rows_accepted", "rows_quarantined",
                                              "rows_duplicate")],
            ).orderBy("source")
        )
    registry = read(catalog.MODEL_REGISTRY)
    versions = sorted({str(v) for v in risk["model_version"].dropna()})
    if registry is not None and versions:
        rows = pandas_frame(registry.filter(F.col("version").isin(versions)).select(
            "version", "model", "train_end", "selection_note", "created_at"))
        if len(rows):
            data.champion = rows.sort_values("created_at").iloc[-1].to_dict()
    data.missing = read.missing
    _attach_plan(data)
    return data


def _latest_known_audit(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit rows of the latest period whose outcome is known (the scored period has none
    yet), else of the latest period. The table is small: townships x backtest periods."""
    known = audit[audit["actual_high_risk_rate"].notna()]
    periods = (known if len(known) else audit)["period_start"].dropna()
    if periods.empty:
        return audit.iloc[0:0]
    return audit[audit["period_start"] == periods.max()]


def _trends(incidents: DataFrame | None, villages: DataFrame | None, periods: int) -> pd.DataFrame | None:
    """Incidents per township and month (false alarms left out) over the latest periods."""
    from pyspark.sql import functions as F

    from store.frames import pandas_frame

    if incidents is None or villages is None:
        return None
    real = ~F.coalesce(F.col("is_false_alarm"), F.lit(False))
    monthly = pandas_frame(
        incidents.filter(real)
        .select("village_id", F.to_date(F.date_trunc("month", F.coalesce("occurred_at", "reported_at"))).alias("period_start"))
        .join(villages.select("village_id", "township_name"), on="village_id", how="inner")
        .groupBy("township_name", "period_start").agg(F.count(F.lit(1)).alias("incidents"))
    )
    keep = sorted(monthly["period_start"].dropna().unique())[-periods:]
    return monthly[monthly["period_start"].isin(keep)].sort_values(["township_name", "period_start"])


def _governance(gov: DataFrame, villages: pd.DataFrame | None, risk: pd.DataFrame) -> pd.DataFrame:
    """Mean of the four governance dimensions per township, latest period of the index."""
    from pyspark.sql import functions as F

    from store.frames import pandas_frame

    latest = gov.select(F.max("period_start")).scalar()
    g = pandas_frame(gov.filter(F.col("period_start") == latest).select(
        "period_start", "village_id", "subject", "organization", "resource", "mechanism", "capacity_index"))
    last = g["period_start"].iloc[0] if len(g) else None
    names = (villages if villages is not None else risk)[["village_id", "township_name"]]
    g = g.drop(columns="period_start").merge(names, on="village_id", how="inner")
    out = g.groupby("township_name")[["subject", "organization", "resource", "mechanism", "capacity_index"]]
    return out.mean().reset_index().assign(period_start=last)


def _reliability(m: pd.DataFrame) -> pd.DataFrame | None:
    if "bin" not in m.columns:
        return None
    r = m[m["metric"].isin(["reliability_rows", "reliability_predicted", "reliability_observed"])]
    if r.empty:
        return None
    wide = r.pivot_table(index=["model", "bin"], columns="metric", values="value", aggfunc="first")
    wide = wide.rename(columns=lambda c: c.removeprefix("reliability_")).reset_index()
    return wide.dropna(subset=["predicted", "observed"])


def _attach_plan(data: ReportData) -> None:
    """Planned hours per actor type (columns hours_<actor>) and stops on each risk row."""
    r = data.risk
    for a in ACTORS:
        r[f"hours_{a}"] = 0.0
    r["stops"] = 0
    if data.plan is None or data.plan.empty:
        return
    wide = data.plan.pivot_table(index="village_id", columns="actor_type", values="hours", aggfunc="sum")
    for a in ACTORS:
        if a in wide.columns:
            r[f"hours_{a}"] = r["village_id"].map(wide[a]).fillna(0.0).astype(float)
    r["stops"] = r["village_id"].map(data.plan.groupby("village_id")["stops"].sum()).fillna(0).astype(int)


def summary_numbers(data: ReportData) -> dict[str, Any]:
    """Key numbers embedded in the page as JSON (tests compare them with the tables)."""
    r = data.risk
    out: dict[str, Any] = {
        "period_start": data.period_start.isoformat(),
        "villages": int(len(r)),
        "flagged": int(r["flagged"].fillna(False).sum()),
        "planned_hours": {a: round(float(r[f"hours_{a}"].sum()), 4) for a in ACTORS},
        "missing_tables": list(data.missing),
    }
    if data.quarantine is not None:
        out["quarantine"] = {f"{s}|{x}": int(n) for s, x, n in data.quarantine[["source", "reason", "rows"]]
                             .itertuples(index=False)}
    if data.comparison is not None and not data.comparison.empty:
        out["plan_comparison"] = {k: round(float(v), 6) for k, v in
                                  data.comparison.groupby("strategy")["actual_prevented"].sum().items()}
    return out
