"""Views over the lakehouse for SQL tools: every table by name, read-only, and views for the
questions analysts ask (`analyst.*`).

The SQL server (jobs/sql_server.py) names each table `layer.table` as a view over its Delta path
(Spark refuses DELETE, UPDATE, INSERT and MERGE on a view) and creates the analyst views on
start and on every refresh. A plain pyspark session can have the same views:

    from conf import load_settings
    from store.lakehouse import Lakehouse
    from jobs.spark import build_spark
    from jobs.views import create_views

    spark = build_spark(load_settings())
    create_views(spark, Lakehouse("lakehouse"))   # tables registered as tables, plus analyst.*
    spark.sql("SELECT * FROM analyst.latest_risk_list ORDER BY rank LIMIT 10").show()

The path layout stays the source of truth: nothing here is stored outside the session's catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from store import catalog
from store.lakehouse import LAYERS, Lakehouse

ANALYST = "analyst"
log = logging.getLogger("rural-risk")


@dataclass(frozen=True)
class View:
    name: str
    needs: tuple[str, ...]  # lakehouse tables the view reads; created once all of them exist
    answers: str  # the question, in a line (the view's comment, docs/analysts.md)
    sql: str


VIEWS: tuple[View, ...] = (
    View(
        f"{ANALYST}.latest_risk_list",
        (catalog.VILLAGE_RISK, catalog.PATROL_PLAN),
        "Which villages are most at risk in the latest forecast period, why, and how many patrol "
        "hours the plan gives each (one row per village, rank 1 = highest risk)",
        """
        WITH latest AS (SELECT max(period_start) AS period_start FROM gold.village_risk),
        plan AS (
          SELECT village_id, period_start, sum(hours) AS planned_hours, sum(stops) AS planned_stops,
                 map_from_entries(collect_list(struct(actor_type, hours))) AS hours_by_actor
          FROM gold.patrol_plan GROUP BY village_id, period_start)
        SELECT r.period_start, r.rank, r.village_id, r.village_name, r.township_id, r.township_name,
               r.probability, r.expected_weighted_count, r.flagged, r.reasons,
               coalesce(p.planned_hours, 0D) AS planned_hours, coalesce(p.planned_stops, 0L) AS planned_stops,
               p.hours_by_actor, r.model_version, r.run_id
        FROM gold.village_risk AS r
        JOIN latest ON r.period_start = latest.period_start
        LEFT JOIN plan AS p ON p.village_id = r.village_id AND p.period_start = r.period_start
        """,
    ),
    View(
        f"{ANALYST}.township_trends",
        (catalog.VILLAGE_FEATURES, catalog.GOVERNANCE_INDEX),
        "How incidents and governance capacity develop per township, period by period (one row "
        "per township and period)",
        """
        SELECT f.township_id, f.period_start, count(*) AS villages,
               sum(f.inc_all_1) AS incidents, round(sum(f.inc_sev_1), 3) AS severity_weighted,
               round(avg(f.rate_per_1000), 4) AS mean_rate_per_1000,
               round(avg(g.capacity_index), 2) AS mean_capacity_index,
               sum(f.inc_all_1) - lag(sum(f.inc_all_1)) OVER (
                 PARTITION BY f.township_id ORDER BY f.period_start) AS incidents_change
        FROM gold.village_features AS f
        LEFT JOIN gold.governance_index AS g
          ON g.village_id = f.village_id AND g.period_start = f.period_start
        GROUP BY f.township_id, f.period_start
        """,  # lag takes no frame of its own: Spark refuses one (it is the row before)
    ),
    View(
        f"{ANALYST}.quarantine_by_reason",
        (catalog.QUARANTINE,),
        "Which landed records were rejected, by source and reason code (one row per source and "
        "reason; a record with two reasons counts under both)",
        """
        SELECT q.source, reason, count(*) AS records, count(DISTINCT q.file) AS files,
               min(q.quarantined_at) AS first_quarantined_at, max(q.quarantined_at) AS last_quarantined_at,
               max_by(q.run_id, q.quarantined_at) AS last_run_id
        FROM ops.quarantine AS q LATERAL VIEW explode(q.reasons) r AS reason
        GROUP BY q.source, reason
        """,
    ),
    View(
        f"{ANALYST}.model_performance",
        (catalog.MODEL_METRICS,),
        "How well each model did in each backtest period: hit rate, PEI* and PAI at 10 % "
        "coverage, ROC and PR AUC, Brier score (one row per model and period)",
        """
        SELECT model, period_start,
               max(CASE WHEN metric = 'hit_rate' AND abs(coverage - 0.1) < 1e-9 THEN value END) AS hit_rate_at_10,
               max(CASE WHEN metric = 'pei_star' AND abs(coverage - 0.1) < 1e-9 THEN value END) AS pei_star_at_10,
               max(CASE WHEN metric = 'pai' AND abs(coverage - 0.1) < 1e-9 THEN value END) AS pai_at_10,
               max(CASE WHEN metric = 'roc_auc' THEN value END) AS roc_auc,
               max(CASE WHEN metric = 'pr_auc' THEN value END) AS pr_auc,
               max(CASE WHEN metric = 'brier' THEN value END) AS brier,
               max(run_id) AS run_id
        FROM gold.model_metrics
        WHERE period_start IS NOT NULL
        GROUP BY model, period_start
        """,
    ),
)


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_view_sql(lakehouse: Lakehouse, name: str) -> str:
    """`layer.table` as a view over the table's Delta path. Every query reads the table's latest
    version; WITH SCHEMA EVOLUTION follows a rewrite that changes the columns."""
    from store.catalog import description

    path = lakehouse.path(name).replace("`", "``")
    comment = description(name)
    about = f" COMMENT {_sql_string(comment)}" if comment else ""
    return (f"CREATE OR REPLACE VIEW {name} WITH SCHEMA EVOLUTION{about} "
            f"AS SELECT * FROM delta.`{path}`")


def create_databases(spark: Any) -> None:
    for db in (*LAYERS, ANALYST):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")


def create_table_views(spark: Any, lakehouse: Lakehouse, names: Iterable[str]) -> list[str]:
    """Name each table as a view over its path; returns the names made."""
    made = []
    for name in names:
        spark.sql(table_view_sql(lakehouse, name))
        made.append(name)
    return made


def create_analyst_views(spark: Any, present: Iterable[str], only_missing: bool = False) -> list[str]:
    """Create (or replace) every analyst view whose tables are all present; a view the current
    tables cannot support (a column renamed by a newer release) is skipped with a warning, so
    the others are still made. `only_missing` leaves views that exist alone."""
    have = set(present)
    made = []
    for view in VIEWS:
        if not set(view.needs) <= have:
            continue
        if only_missing and spark.catalog.tableExists(view.name):
            continue
        try:
            spark.sql(f"CREATE OR REPLACE VIEW {view.name} COMMENT {_sql_string(view.answers)} "
                      f"AS {view.sql.strip()}")
        except Exception as exc:  # an AnalysisException, worded by Spark
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("view %s not created: %s", view.name, first[:300])
            continue
        made.append(view.name)
    return made


def drop_view(spark: Any, name: str) -> None:
    spark.sql(f"DROP VIEW IF EXISTS {name}")


def create_views(spark: Any, lakehouse: Lakehouse) -> list[str]:
    """For a plain pyspark session: register every table by name (as tables, so time travel,
    DESCRIBE HISTORY and table_changes work by name too) and create the analyst views."""
    names = lakehouse.register_all(spark)
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {ANALYST}")
    return [*names, *create_analyst_views(spark, names)]
