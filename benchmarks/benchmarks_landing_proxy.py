"""A history-only stand-in for gold.village_features, read straight from the landing CSVs.

For measuring the models when the full ingest + features run cannot finish (e.g. a busy
machine). It is NOT the pipeline's feature table: per village and month it holds only the
citizen-source and all-source severity-weighted counts and the patrol-found count of the
month, and the label built the way the features stage builds it (citizen sources, severity
weights of conf/features.yaml, top share by next month's count, ties by village_id).
Incidents: latest version per incident_id by updated_at, false alarms out, rows without a
village_id or with unparseable fields dropped (the real ingest snaps coordinates instead).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conf import load_yaml
from features.labels import high_risk_flags


def _codes(kind: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, labels in load_yaml("codes.yaml")[kind].items():
        out[str(code)] = str(code)
        for label in labels or []:
            out[str(label)] = str(code)
    return out


def read_csvs(folder: Path) -> pd.DataFrame:
    frames = [pd.read_csv(f, dtype=str, on_bad_lines="skip", encoding_errors="replace")
              for f in sorted(folder.rglob("*.csv"))]
    return pd.concat(frames, ignore_index=True)


def proxy_tables(landing: str, fconf: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    root = Path(landing)
    inc = read_csvs(root / "incidents")
    inc["updated"] = pd.to_datetime(inc["updated_at"], errors="coerce")
    inc["reported"] = pd.to_datetime(inc["reported_at"], errors="coerce")
    inc["severity"] = pd.to_numeric(inc["severity"], errors="coerce")
    inc["source"] = inc["source"].str.strip().map(_codes("incident_source"))
    inc["status"] = inc["status"].str.strip().map(_codes("incident_status"))
    inc = inc.dropna(subset=["incident_id", "updated", "reported", "severity", "source", "status", "village_id"])
    # Dirty rows include future timestamps: keep the simulated span of _truth/summary.json.
    summary = json.loads((root / "_truth" / "summary.json").read_text(encoding="utf-8"))
    start = pd.Timestamp(summary["start"])
    end = start + pd.DateOffset(years=int(summary["years"]))
    inc = inc[(inc["reported"] >= start) & (inc["reported"] < end)]
    inc = inc.sort_values("updated").drop_duplicates("incident_id", keep="last")
    inc = inc[(inc["status"] != "false_alarm") & inc["severity"].between(1, 4)]
    weights = {int(k): float(v) for k, v in fconf["severity_weights"].items()}
    inc["w"] = inc["severity"].astype(int).map(weights)
    inc["period_start"] = inc["reported"].dt.to_period("M").dt.to_timestamp().dt.date
    citizen = set(fconf["label"]["sources"])

    vil = read_csvs(root / "villages")
    vil["updated"] = pd.to_datetime(vil["updated_at"], errors="coerce")
    vil = vil.dropna(subset=["village_id", "updated"]).sort_values("updated").drop_duplicates("village_id", keep="last")
    for c in ("longitude", "latitude", "area_km2"):
        vil[c] = pd.to_numeric(vil[c], errors="coerce")
    vil = vil[["village_id", "village_name", "township_id", "township_name", "longitude", "latitude", "area_km2"]]
    inc = inc[inc["village_id"].isin(set(vil["village_id"]))]

    periods = sorted(inc["period_start"].unique())
    periods = list(pd.period_range(periods[0], periods[-1], freq="M").to_timestamp().date)
    grid = pd.MultiIndex.from_product([vil["village_id"], periods], names=["village_id", "period_start"])

    def count(mask: pd.Series, col: str) -> pd.Series:
        return inc[mask].groupby(["village_id", "period_start"])[col].sum().reindex(grid, fill_value=0.0)

    inc["one"] = 1.0
    f = pd.DataFrame(
        {
            "inc_citizen_sev_1": count(inc["source"].isin(citizen), "w"),
            "inc_all_sev_1": count(inc["source"].notna(), "w"),
            "inc_patrol_found_1": count(inc["source"] == "patrol_found", "one"),
        }
    ).reset_index()
    f = f.merge(vil[["village_id", "township_id"]], on="village_id", how="left")
    f = f.sort_values(["village_id", "period_start"]).reset_index(drop=True)
    f["label_weighted_next"] = f.groupby("village_id")["inc_citizen_sev_1"].shift(-1)
    f["label_high_risk_next"] = pd.Series(None, index=f.index, dtype="object")
    share = float(fconf["label"]["high_risk_share"])
    for _, g in f[f["label_weighted_next"].notna()].groupby("period_start"):
        f.loc[g.index, "label_high_risk_next"] = high_risk_flags(g, "label_weighted_next", share)
    return f, vil


def write_proxy_tables(ctx: Any, landing: str, fconf: dict[str, Any]) -> None:
    from pyspark.sql import types as T

    features, villages = proxy_tables(landing, fconf)
    schema = T.StructType(
        [
            T.StructField("village_id", T.StringType()), T.StructField("township_id", T.StringType()),
            T.StructField("period_start", T.DateType()),
            T.StructField("inc_citizen_sev_1", T.DoubleType()), T.StructField("inc_all_sev_1", T.DoubleType()),
            T.StructField("inc_patrol_found_1", T.DoubleType()),
            T.StructField("label_weighted_next", T.DoubleType()),
            T.StructField("label_high_risk_next", T.BooleanType()),
        ]
    )
    records = [
        tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in r)
        for r in features[[x.name for x in schema.fields]].itertuples(index=False, name=None)
    ]
    spark, lh = ctx.spark, ctx.lakehouse
    spark.createDataFrame(records, schema).write.format("delta").mode("overwrite").save(
        lh.path("gold.village_features"))
    spark.createDataFrame(villages).write.format("delta").mode("overwrite").save(lh.path("silver.villages"))
    lh.register_all(spark)
