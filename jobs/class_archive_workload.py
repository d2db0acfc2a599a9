"""The workload whose classes the Spark driver's class archive holds (jobs/class_archive.py).

Run by `python -m jobs.class_archive` in a JVM of its own started with ArchiveClassesAtExit:
`python -m jobs.class_archive_workload DIR` runs the kinds of query the jobs run, on a few rows
in DIR. It lives apart from jobs/class_archive.py because it starts Spark, and jobs/spark.py
reads the archive's option from that module.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from conf import load_settings


def _workload(folder: Path) -> None:
    """The kinds of query the jobs run, on a few rows, so their classes are loaded (and archived)."""
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from jobs.spark import build_spark

    spark = build_spark(load_settings(os.environ.get("RURAL_RISK_PROFILE", "local")), "rural-risk-class-archive")
    table = str(folder / "t")
    df = spark.createDataFrame(pd.DataFrame({"k": [1, 2, 3], "v": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}))
    spark.sql(f"CREATE TABLE delta.`{table}` (k BIGINT NOT NULL, v DOUBLE, s STRING, d DATE) USING delta "
              "TBLPROPERTIES ('delta.enableDeletionVectors' = 'false', 'delta.constraints.k_positive' = 'k > 0')")
    rows = df.withColumn("d", F.current_date())
    rows.write.format("delta").mode("append").save(table)
    from delta.tables import DeltaTable

    (DeltaTable.forPath(spark, table).alias("t").merge(rows.alias("s"), "t.k = s.k")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    rows.filter("k < 3").write.format("delta").mode("overwrite").option("replaceWhere", "k IN (1, 2)").save(table)
    read = spark.read.format("delta").load(table)
    w = Window.partitionBy("s").orderBy("d")
    out = (read.join(F.broadcast(df.select("k", F.col("s").alias("s2"))), "k", "left_semi")
           .withColumn("r", F.row_number().over(w)).groupBy("s").agg(F.sum("v"), F.max("r")))
    out.toPandas()
    spark.read.format("delta").option("versionAsOf", 0).load(table).exceptAll(read).count()
    DeltaTable.forPath(spark, table).detail().collect()
    spark.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m jobs.class_archive_workload DIR  (run by python -m jobs.class_archive)",
              file=sys.stderr if args and args[0] not in ("-h", "--help") else sys.stdout)
        return 0 if args and args[0] in ("-h", "--help") else 2
    _workload(Path(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
