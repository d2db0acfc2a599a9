"""Schemas of the tables the models, the patrol plan and maintenance write, with a comment on
every column. The catalog (store/catalog.py) names each one; bronze, silver, the ingest's ops
tables and the feature tables take theirs from the landing contract (features/landing) and the
feature dictionary (features/dictionary.py), since those depend on the settings.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import types as T


def _f(name: str, dtype: Any, comment: str, nullable: bool = True) -> T.StructField:
    return T.StructField(name, dtype, nullable, {"comment": comment})


# gold.backtest_predictions
BACKTEST_PREDICTIONS_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False, {"comment": "Village code."}),
        T.StructField("township_id", T.StringType(), True, {"comment": "Township code of the village."}),
        T.StructField("period_start", T.DateType(), False, {"comment": "The period the prediction is for, whose outcome is in actual_weighted and actual_label (as period_start in gold.village_risk)."}),
        T.StructField("feature_period_start", T.DateType(), False, {"comment": "The period whose features the prediction was made from: the one before period_start."}),
        T.StructField("model", T.StringType(), False, {"comment": "Model name (a baseline or a classifier of conf/models.yaml)."}),
        T.StructField("score", T.DoubleType(), True, {"comment": "The model's ranking score; higher is riskier."}),
        T.StructField("probability", T.DoubleType(), True, {"comment": "Predicted chance of being among the highest-risk villages of the period (null for baselines without one)."}),
        T.StructField("expected_weighted_count", T.DoubleType(), True, {"comment": "Predicted severity-weighted count of the label's incidents in the period."}),
        T.StructField("actual_weighted", T.DoubleType(), True, {"comment": "Severity-weighted count of the label's incidents reported in the period."}),
        T.StructField("actual_label", T.BooleanType(), True, {"comment": "The period's high-risk label (label_high_risk_next of the feature period)."}),
        T.StructField("trained_through", T.DateType(), True, {"comment": "Last feature period of the fit that made the prediction (rolling origin)."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)


# gold.model_metrics
MODEL_METRICS_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType(), False, {"comment": "Model name."}),
        T.StructField("period_start", T.DateType(), True, {"comment": "The period whose outcome was scored (the predictions' period_start); null for rows pooled over every period (reliability bins)."}),
        T.StructField("feature_period_start", T.DateType(), True, {"comment": "The period whose features the scored predictions were made from: the one before period_start; null when period_start is."}),
        T.StructField("metric", T.StringType(), False, {"comment": "Metric name: hit_rate, pei_star, pai, roc_auc, pr_auc, brier, ece, reliability_* (docs/models.md)."}),
        T.StructField("coverage", T.DoubleType(), True, {"comment": "Share of villages flagged for the coverage metrics (hit_rate, pei_star, pai); null otherwise."}),
        T.StructField("bin", T.IntegerType(), True, {"comment": "Reliability bin (0 = lowest predicted chance) for reliability_* rows; null otherwise."}),
        T.StructField("value", T.DoubleType(), True, {"comment": "Metric value."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)


# ops.model_registry
MODEL_REGISTRY_SCHEMA = T.StructType(
    [
        T.StructField("version", T.StringType(), False, {"comment": "Model version: <run id>-<model name>; gold.village_risk.model_version points here."}),
        T.StructField("model", T.StringType(), False, {"comment": "Model name."}),
        T.StructField("kind", T.StringType(), False, {"comment": "baseline or classifier."}),
        T.StructField("role", T.StringType(), False, {"comment": "candidate (chosen by its training run, not promoted), champion (promoted; the latest promoted one is the one the scorer uses) or challenger."}),
        T.StructField("params", T.StringType(), True, {"comment": "The model's settings as JSON."}),
        T.StructField("features", T.ArrayType(T.StringType()), True, {"comment": "Input columns the model uses."}),
        T.StructField("label", T.StringType(), True, {"comment": "Label column it was trained on."}),
        T.StructField("train_start", T.DateType(), True, {"comment": "First feature period of the final fit."}),
        T.StructField("train_end", T.DateType(), True, {"comment": "Last feature period of the final fit."}),
        T.StructField("calibration_start", T.DateType(), True, {"comment": "First feature period held out for calibration; null without calibration."}),
        T.StructField("metrics", T.MapType(T.StringType(), T.DoubleType()), True, {"comment": "Selection metrics: mean over the recent backtest periods."}),
        T.StructField("selection_note", T.StringType(), True, {"comment": "Why the champion was chosen (champion row only)."}),
        T.StructField("artifact_path", T.StringType(), False, {"comment": "Where the fitted model is stored."}),
        T.StructField("artifact_sha256", T.StringType(), True, {"comment": "SHA-256 of the artifact file, checked before it is loaded; null for rows of releases before the check."}),
        T.StructField("input_versions", T.MapType(T.StringType(), T.LongType()), True, {"comment": "Delta versions of the tables it was trained from."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Training run."}),
        T.StructField("created_at", T.TimestampType(), False, {"comment": "When the row was registered."}),
        T.StructField("promoted_at", T.TimestampType(), True, {"comment": "When `rural-risk promote` made the candidate champion; null otherwise (and on champions of releases before promotion, ordered by created_at)."}),
    ]
)


# gold.village_risk
VILLAGE_RISK_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False, {"comment": "Village code (silver.villages)."}),
        T.StructField("period_start", T.DateType(), False, {"comment": "First day of the period the forecast is for: the period after the last complete one the features describe."}),
        T.StructField("village_name", T.StringType(), True, {"comment": "Village name (silver.villages)."}),
        T.StructField("township_id", T.StringType(), True, {"comment": "Township code of the village."}),
        T.StructField("township_name", T.StringType(), True, {"comment": "Township name of the village."}),
        T.StructField("score", T.DoubleType(), True, {"comment": "The champion's ranking score; higher is riskier, its scale depends on the model."}),
        T.StructField("probability", T.DoubleType(), True, {"comment": "Calibrated chance that the village is among the highest-risk villages of the period (the label's top share)."}),
        T.StructField("expected_weighted_count", T.DoubleType(), True, {"comment": "Expected severity-weighted count of the label's incidents in the period."}),
        T.StructField("rank", T.IntegerType(), False, {"comment": "1 = highest risk in the period (by probability, then score, then village_id)."}),
        T.StructField("flagged", T.BooleanType(), False, {"comment": "On the risk list: among the top scoring.flag_share of villages by rank."}),
        T.StructField("reasons", T.ArrayType(T.StringType()), True, {"comment": "Up to scoring.reasons_per_village plain-word drivers that raise the risk against the township average."}),
        T.StructField("model_version", T.StringType(), False, {"comment": "ops.model_registry version of the champion that scored the row."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)


# gold.township_audit
TOWNSHIP_AUDIT_SCHEMA = T.StructType(
    [
        T.StructField("township_id", T.StringType(), True, {"comment": "Township code."}),
        T.StructField("period_start", T.DateType(), False, {"comment": "The period the flags are for; for backtest rows the period the backtest predicted, whose outcome scores them."}),
        T.StructField("villages", T.LongType(), False, {"comment": "Villages of the township in the period."}),
        T.StructField("villages_flagged", T.LongType(), False, {"comment": "Villages of the township on the risk list."}),
        T.StructField("flag_rate", T.DoubleType(), True, {"comment": "villages_flagged / villages."}),
        T.StructField("actual_high_risk_rate", T.DoubleType(), True, {"comment": "Share of the township's villages that turned out high risk; null before the outcome is known."}),
        T.StructField("recall", T.DoubleType(), True, {"comment": "Share of the township's truly high-risk villages that were flagged; null without any."}),
        T.StructField("flags_from", T.StringType(), False, {"comment": "backtest (the champion's rolling-origin flags) or scored (the forecast period, no outcome yet)."}),
        T.StructField("model", T.StringType(), True, {"comment": "Champion model name."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)


# gold.label_source_comparison
LABEL_SOURCE_COMPARISON_SCHEMA = T.StructType(
    [
        T.StructField("village_id", T.StringType(), False, {"comment": "Village code."}),
        T.StructField("township_id", T.StringType(), True, {"comment": "Township code of the village."}),
        T.StructField("period_start", T.DateType(), False, {"comment": "The period the forecast is for (as in gold.village_risk)."}),
        T.StructField("probability_citizen_label", T.DoubleType(), True, {"comment": "Chance from the champion fit on citizen-reported labels (the default)."}),
        T.StructField("probability_all_source_label", T.DoubleType(), True, {"comment": "Chance from the same model fit on labels from every source (patrol finds included)."}),
        T.StructField("flagged_citizen_label", T.BooleanType(), False, {"comment": "Flagged under the citizen-reported label."}),
        T.StructField("flagged_all_source_label", T.BooleanType(), False, {"comment": "Flagged under the all-source label."}),
        T.StructField("model", T.StringType(), False, {"comment": "Champion model name."}),
        T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
    ]
)


# gold.patrol_plan
PATROL_PLAN_SCHEMA = T.StructType([
    T.StructField("village_id", T.StringType(), False, {"comment": "Village code."}),
    T.StructField("period_start", T.DateType(), False, {"comment": "The period the plan is for (as in gold.village_risk)."}),
    T.StructField("actor_type", T.StringType(), False, {"comment": "Who patrols: police, auxiliary_police, joint_defense, volunteer, security_company, village_committee."}),
    T.StructField("hours", T.DoubleType(), False, {"comment": "Planned patrol hours of this actor type in the village over the period."}),
    T.StructField("stops", T.IntegerType(), False, {"comment": "The hours as short stops (allocation.stop_minutes each)."}),
    T.StructField("reason", T.StringType(), True, {"comment": "Why the village gets these hours, in plain words."}),
    T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
])


# gold.patrol_capacity_used
PATROL_CAPACITY_USED_SCHEMA = T.StructType([
    T.StructField("period_start", T.DateType(), False, {"comment": "The period the plan is for."}),
    T.StructField("actor_type", T.StringType(), False, {"comment": "Actor type whose hours are counted."}),
    T.StructField("scope", T.StringType(), False, {"comment": "Where those hours may go: county, township or village."}),
    T.StructField("scope_id", T.StringType(), False, {"comment": "Code of the county, township or village of the scope."}),
    T.StructField("capacity_hours", T.DoubleType(), False, {"comment": "Hours the actor type has in the scope over the period (conf/allocation.yaml and the registries)."}),
    T.StructField("used_hours", T.DoubleType(), False, {"comment": "Hours the plan uses of them."}),
    T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
])


# gold.allocation_backtest
ALLOCATION_BACKTEST_SCHEMA = T.StructType([
    T.StructField("period_start", T.DateType(), False, {"comment": "The backtest period the three plans were made for (the outcome period)."}),
    T.StructField("model", T.StringType(), True, {"comment": "Model whose backtest predictions the plans used."}),
    T.StructField("strategy", T.StringType(), False, {"comment": "optimized (the planner's), proportional (hours in proportion to predicted risk) or equal."}),
    T.StructField("hours", T.DoubleType(), False, {"comment": "Hours planned in all (the same for the three strategies)."}),
    T.StructField("expected_prevented", T.DoubleType(), False, {"comment": "Weighted incidents the plan expected to prevent, from the predictions."}),
    T.StructField("actual_prevented", T.DoubleType(), False, {"comment": "Weighted incidents it would have prevented, from what happened."}),
    T.StructField("actual_weighted_total", T.DoubleType(), False, {"comment": "Severity-weighted incidents that happened in the period."}),
    T.StructField("run_id", T.StringType(), False, {"comment": "Run that wrote the row."}),
])


# ops.maintenance_log
MAINTENANCE_LOG_SCHEMA = T.StructType([
    _f("table_name", T.StringType(), "Table maintained (layer.table).", False),
    _f("action", T.StringType(), "optimize (compaction) or vacuum (deletion of unneeded files).", False),
    _f("files_before", T.LongType(), "Data files of the current version before the action."),
    _f("files_after", T.LongType(), "Data files of the current version after it."),
    _f("files_removed", T.LongType(), "optimize: files compacted away; vacuum: files deleted from storage."),
    _f("version_before", T.LongType(), "Table version before the action."),
    _f("version_after", T.LongType(), "Table version after it (optimize and vacuum each commit)."),
    _f("retention_hours", T.DoubleType(), "vacuum: files needed by versions younger than this were kept."),
    _f("seconds", T.DoubleType(), "Wall time of the action."),
    _f("run_id", T.StringType(), "Run that did it.", False),
    _f("done_at", T.TimestampType(), "When it finished.", False),
])


# ops.data_dictionary
DATA_DICTIONARY_SCHEMA = T.StructType([
    _f("table_name", T.StringType(), "Table (layer.table).", False),
    _f("table_description", T.StringType(), "What the table holds.", False),
    _f("grain", T.StringType(), "What one row of the table is.", False),
    _f("position", T.IntegerType(), "Column position in the table, from 1.", False),
    _f("column_name", T.StringType(), "Column.", False),
    _f("data_type", T.StringType(), "Spark SQL type.", False),
    _f("comment", T.StringType(), "What the column means (the Delta column comment).", False),
])
