"""rural-risk pipeline DAG: ingest (one task per source) -> validate -> features -> score
-> allocate -> report, once per data interval (daily by default, conf/schedule.yaml).

Every task runs one `rural-risk` stage through spark-submit with the as-of date and the
run id of its data interval, so a retry, a rerun or a backfill of an interval writes the
same rows again (exactly-once ingest manifest, replaceWhere / MERGE writes in the jobs).

Failure of one source: villages loads first (the others check village_id against it),
then the other sources in parallel; each waits for villages to finish, whatever its
outcome. `validate` runs when every ingest task is done (trigger rule all_done) and fails
only when a source the features need has no silver table at all, so features, scores
and plans go ahead with what loaded. `ingest_complete` needs every ingest task to succeed:
when one source failed, it ends upstream_failed and the run is marked failed, so the
failure is seen although the rest of the pipeline ran.
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
    first = str(BLOCK.get("first_source", "villages"))
    ingest_first = stage_task(
        CFG, f"ingest_{first}", ["ingest", "--landing", CFG.landing, "--source", first]
    )
    ingest_rest = [
        stage_task(
            CFG, f"ingest_{source}", ["ingest", "--landing", CFG.landing, "--source", source],
            trigger_rule=TriggerRule.ALL_DONE,
        )
        for source in BLOCK.get("sources", [])
    ]
    ingest_all = [ingest_first, *ingest_rest]
    ingest_first >> ingest_rest

    validate = stage_task(CFG, "validate", ["validate", *as_of], trigger_rule=TriggerRule.ALL_DONE)
    features = stage_task(CFG, "features", ["features", *as_of])
    score = stage_task(CFG, "score", ["score", *as_of])
    allocate = stage_task(CFG, "allocate", ["allocate", *as_of])
    report = stage_task(CFG, "report", ["report", "--out", CFG.reports])
    ingest_all >> validate >> features >> score >> allocate >> report

    ingest_complete = EmptyOperator(task_id="ingest_complete", retries=0)
    ingest_all >> ingest_complete


rural_risk_pipeline()
