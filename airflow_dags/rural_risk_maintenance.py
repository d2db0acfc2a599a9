"""rural-risk maintenance DAG: `rural-risk maintain` once a week (conf/schedule.yaml).

Compacts every table's small files (OPTIMIZE), deletes the files no version within the
retention needs (VACUUM, `maintenance.vacuum_retention_hours` of the settings, 168 h by
default), logs both in ops.maintenance_log and rewrites ops.data_dictionary. Both commit a
new version of each table, so the next pipeline run recomputes its stages once (their inputs
record Delta versions); schedule it away from the pipeline's runs (max_active_runs 1 keeps
maintenance runs apart; Delta's optimistic commits keep a concurrent pipeline write safe).
"""

from __future__ import annotations

from airflow.sdk import dag
from rural_risk_common import Schedule, stage_task

CFG = Schedule.load()
CFG.define_connection()
BLOCK = CFG.dag("maintenance")


@dag(**CFG.dag_arguments(BLOCK), doc_md=__doc__)
def rural_risk_maintenance() -> None:
    stage_task(CFG, "maintain", ["maintain"])


rural_risk_maintenance()
