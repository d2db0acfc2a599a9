"""rural-risk training DAG: backtest -> train -> promote, once a month (conf/schedule.yaml).

Runs after a month closes, on the features up to the last complete period of the run's
as-of date (the local date its data interval ends on): `backtest` writes the rolling-origin
predictions and metrics of every model, `train` fits and registers the models and picks
the champion, `promote` checks that the champion of this run loads and scores the latest
period before the pipeline's `score` task uses it. Each task runs one `rural-risk` stage
through spark-submit with the run id of its interval, so a rerun writes the same rows.
"""

from __future__ import annotations

from airflow.sdk import dag
from rural_risk_common import Schedule, as_of_template, stage_task

CFG = Schedule.load()
CFG.define_connection()
BLOCK = CFG.dag("training")


@dag(**CFG.dag_arguments(BLOCK), doc_md=__doc__)
def rural_risk_training() -> None:
    as_of = ["--as-of", as_of_template(CFG)]
    backtest = stage_task(CFG, "backtest", ["backtest", *as_of])
    train = stage_task(CFG, "train", ["train", *as_of])
    promote = stage_task(CFG, "promote", ["promote", *as_of])
    backtest >> train >> promote


rural_risk_training()
