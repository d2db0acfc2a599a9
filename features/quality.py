"""Great Expectations suites built from conf/expectations/<table>.yaml and run on every batch.

The expectations are the same checks as the row-level reason columns of
features/landing/rules.py (one expectation per check, named by its reason code in the
expectation's meta), validated on the typed batch before it is split into accepted and
quarantined rows. `agreement` compares GX's unexpected counts with the rows the Spark
checks flag; ingestion logs any difference. GX is imported inside functions: it is slow
to import and only ingestion needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from features.landing.rules import ColumnRule, TableSpec, check_column_name, range_ok


@dataclass
class BatchValidation:
    """Outcome of one suite on one batch."""

    suite: str
    success: bool
    evaluated: int
    rows: int = 0  # rows in the batch (GX's element_count)
    failed: list[str] = field(default_factory=list)  # checks below `mostly` (GX's own verdict)
    unexpected: dict[str, int] = field(default_factory=dict)  # check -> GX unexpected count

    def over_share(self, max_bad_share: float) -> list[str]:
        """Checks whose unexpected rows exceed `max_bad_share` of all the batch's rows.

        GX's `mostly` measures the share among non-null values, so an optional column that
        is nearly empty fails its expectation on one bad value; the batch gate uses the
        share of all rows instead, as the row checks and the per-file gate do.
        """
        if self.rows <= 0:
            return []
        return sorted(c for c, n in self.unexpected.items() if n / self.rows > max_bad_share)


def _native(check: str, rule: ColumnRule | None, codes: Mapping[str, Any], bbox: Mapping[str, float]):
    """A built-in GX expectation for a check when one fits (else None: the boolean check column)."""
    import great_expectations.expectations as gxe

    reason, _, tag = check.partition("|")
    if rule is None or (tag and not tag.startswith("range:")):
        return None
    if reason.startswith("missing_required:"):
        return gxe.ExpectColumnValuesToNotBeNull(column=f"_in_{rule.name}")
    if check.startswith(f"{rule.range_reason}|range:"):
        lo, hi = rule.min, rule.max
        if rule.bbox:
            lo, hi = float(bbox[f"{rule.bbox}_min"]), float(bbox[f"{rule.bbox}_max"])
        return gxe.ExpectColumnValuesToBeBetween(column=rule.name, min_value=lo, max_value=hi)
    if reason.startswith("bad_code:"):
        allowed = sorted({str(c) for c in (codes[rule.codes] or {})})
        return gxe.ExpectColumnValuesToBeInSet(column=rule.name, value_set=allowed)
    return None


def _rule_for(check: str, spec: TableSpec) -> ColumnRule | None:
    head = check.split("|", 1)
    name = head[1].split(":", 1)[1] if len(head) == 2 and head[1].startswith("range:") else None
    name = name or (head[0].split(":", 1)[1] if ":" in head[0] else None)
    try:
        return spec.column(name) if name else None
    except KeyError:
        return None


def build_suite(spec: TableSpec, checks: list[str], codes: Mapping[str, Any],
                bbox: Mapping[str, float], mostly: float):
    """One ExpectationSuite for a silver table: one expectation per check."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=spec.table)
    for check in checks:
        rule = _rule_for(check, spec)
        exp = _native(check, rule, codes, bbox)
        if exp is None:
            exp = gxe.ExpectColumnValuesToBeInSet(column=check_column_name(check), value_set=[True])
        exp.mostly = mostly
        exp.meta = {"check": check, "reason": check.split("|", 1)[0]}
        suite.add_expectation(exp)
    return suite


class Validator:
    """An ephemeral GX context with a Spark and a pandas dataframe data source and a Data Docs
    site.

    A batch of at most `pandas_max_rows` rows is validated on pandas: the columns the suite
    reads are collected once from the cached Spark frame, and GX computes every metric in
    the driver's memory. On Spark, GX plans and runs a query or two per expectation, which on
    a small batch costs seconds of planning for milliseconds of work. Larger batches stay on
    Spark. The suite, the expectations and their verdicts are the same on both engines
    (tests/features/test_quality.py runs one batch through both)."""

    def __init__(self, docs_dir: str | Path | None, pandas_max_rows: int = 0) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.docs_dir = Path(docs_dir).resolve() if docs_dir else None
        if self.docs_dir:
            self.context.add_data_docs_site(
                site_name="rural_risk",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                      "base_directory": str(self.docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self.datasource = self.context.data_sources.add_spark(name="landing_batches")
        self.pandas = self.context.data_sources.add_pandas(name="small_landing_batches")
        self.pandas_max_rows = int(pandas_max_rows)

    def validate(self, df: DataFrame, spec: TableSpec, checks: list[str], codes: Mapping[str, Any],
                 bbox: Mapping[str, float], mostly: float, run_name: str,
                 rows: int | None = None) -> BatchValidation:
        """Run the suite of `checks` on the typed batch `df` (cached); `rows` is its row count
        when known, which picks the engine (pandas up to `pandas_max_rows`, else Spark)."""
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        suite = self.context.suites.add(build_suite(spec, checks, codes, bbox, mostly))
        data: Any = df
        source = self.datasource
        if rows is not None and rows <= self.pandas_max_rows:
            data = df.select(*sorted({e.column for e in suite.expectations})).toPandas()
            source = self.pandas
        asset = source.add_dataframe_asset(name=spec.source)
        batch_def = asset.add_batch_definition_whole_dataframe(f"{spec.source}_batch")
        vd = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{spec.table} batch", data=batch_def, suite=suite)
        )
        result = vd.run(batch_parameters={"dataframe": data}, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0},
                        run_id=RunIdentifier(run_name=run_name))
        out = BatchValidation(suite=spec.table, success=bool(result.success),
                              evaluated=int(result.statistics.get("evaluated_expectations", 0)))
        for r in result.results:
            check = r.expectation_config.meta["check"]
            out.unexpected[check] = int((r.result or {}).get("unexpected_count") or 0)
            out.rows = max(out.rows, int((r.result or {}).get("element_count") or 0))
            if not r.success:
                out.failed.append(check)
        return out

    def build_docs(self) -> str | None:
        if not self.docs_dir:
            return None
        self.context.build_data_docs()
        return str(self.docs_dir / "index.html")


def agreement(gx_result: BatchValidation, counts: Mapping[str, int]) -> list[str]:
    """Checks where GX and the Spark reason columns disagree (empty = they agree)."""
    return [f"{c}: GX {n} vs Spark {counts.get(c, 0)}" for c, n in sorted(gx_result.unexpected.items())
            if n != counts.get(c, 0)]


__all__ = ["BatchValidation", "Validator", "agreement", "build_suite", "range_ok"]
