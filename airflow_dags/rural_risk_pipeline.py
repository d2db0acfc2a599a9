"""rural-risk pipeline DAG: ingest -> validate -> features -> first_champion -> score ->
allocate -> report, once per data interval (daily by default, conf/schedule.yaml).

`first_champion` runs `rural-risk train --if-no-champion`: on a new lakehouse it trains and
registers the first champion, so the first run scores, plans and reports instead of failing
for want of a model; once a champion exists it exits at once (a look at ops.model_registry,
no Spark session on a local lakehouse) and retraining stays with the training DAG.

Every task runs one `rural-risk` stage through spark-submit with the as-of date and the
run id of its data interval, so a retry, a rerun or a backfill of an interval writes the
same rows again (exactly-once ingest manifest, replaceWhere / MERGE writes in the jobs).

Ingest is one task: `rural-risk ingest` loads every source in one Spark session, villages
first (the others check village_id against it), and writes the shared ops tables (changed
periods, quarantine, file manifest) once for the run rather than once per source. A task
per source paid a JVM start and a cold Delta log for each of seven sources, which on a
small county was most of the run. A source that fails does not stop the others: the task
loads what it can and then fails, naming the source. `validate` runs when ingest is done
(trigger rule all_done) and fails only when a source the features need has no silver table
at all, so features, scores and plans go ahead with what loaded. `ingest_complete` needs
ingest to succeed: when a source failed it ends upstream_failed and the run is marked
failed, so the failure is seen although the rest of the pipeline ran.
"""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import TriggerRule, dag
from rural_risk_common import Schedule, as_of_template, stage_task

CFG = Schedule.load()
CFG.define_connection()
BLOCK = CFG.dag("pipeline")


@dag(**CFG.dag_arguments(BLOCK), doc_md=__doc__)
def rural_risk_pipeline() -> None:
    as_of = ["--as-of", as_of_template(CFG)]
    only = [arg for source in BLOCK.get("sources") or [] for arg in ("--source", str(source))]
    ingest = stage_task(CFG, "ingest", ["ingest", "--landing", CFG.landing, *only])
    validate = stage_task(CFG, "validate", ["validate", *as_of], trigger_rule=TriggerRule.ALL_DONE)
    features = stage_task(CFG, "features", ["features", *as_of])
    # A first training may take as long as the training DAG's: its time limit, not the pipeline's.
    first_champion = stage_task(
        CFG, "first_champion", ["train", *as_of, "--if-no-champion"],
        execution_timeout=CFG.default_args(CFG.dag("training"))["execution_timeout"],
    )
    score = stage_task(CFG, "score", ["score", *as_of])
    allocate = stage_task(CFG, "allocate", ["allocate", *as_of])
    report = stage_task(CFG, "report", ["report", "--out", CFG.reports])
    ingest >> validate >> features >> first_champion >> score >> allocate >> report

    ingest_complete = EmptyOperator(task_id="ingest_complete", retries=0)
    ingest >> ingest_complete


rural_risk_pipeline()
