"""The core of `rural-risk features` in DuckDB SQL: incident counts per village and period over
trailing windows, read from silver through delta-rs (no JVM). A reference for the features
stage's time, run by benchmarks/pipeline_scale.py as the "duckdb_features" stage.

Same definitions as features/incidents.py (incident_history) and jobs/features.py:

- periods are local (conf `timezone`) months, or weeks by `period: week`; they run from the
  period of the first incident with a village to the last complete period of the as-of date,
  which defaults to the end of the latest period holding an incident report (capped at today);
- every village of silver.villages gets a row for every period (0 when nothing counts);
- false alarms never count (is_false_alarm, or status false_alarm); a null status neither;
- an incident counts for period t when t - its period is 0 .. w-1 (windows of
  conf/features.yaml, 1/3/6/12).

Point in time: the features job counts the version of an incident that was current when t
ended, recovering earlier versions from bronze.incidents. Silver holds the latest version
only, so this reference counts an incident reported by the end of t unless silver marks it a
false alarm and that version was known before t ended (updated_at < end of t): a later status
change (most often "resolved") does not hide it, a false alarm known in time does. It differs
from the job where an earlier version was a false alarm, or a first version landed after t
ended; `compare` reports how many village-periods agree with gold.village_features (239 of
240 on a 20-village, 1-year county).

    .venv/bin/python benchmarks/duckdb_features.py --lakehouse data/bench/lakehouse --out data/bench/duckdb.parquet
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _period_index_sql(day: str, grain: str) -> str:
    """Integer index of the period holding a DATE expression (months or weeks since the epoch)."""
    if grain == "month":
        return f"(year({day}) * 12 + month({day}) - 1)"
    return f"floor(datediff('day', DATE '1970-01-05', {day}) / 7)::INTEGER"


def _period_start_sql(pidx: str, grain: str) -> str:
    if grain == "month":
        return f"make_date(({pidx}) // 12, ({pidx}) % 12 + 1, 1)"
    return f"(DATE '1970-01-05' + INTERVAL (({pidx}) * 7) DAY)::DATE"


def feature_sql(windows: list[int], grain: str, zone: str, as_of: date | None, today: date) -> str:
    """The query over views `incidents` and `villages`: one row per village and period."""
    local = f"(reported_at AT TIME ZONE '{zone}')"
    pidx = _period_index_sql(f"CAST({local} AS DATE)", grain)
    if as_of is not None:
        last = f"{_period_index_sql(f'DATE {as_of.isoformat()!r}', grain)} - 1"
    else:
        # The as-of default: the end of the latest period with a report, never later than today.
        today_idx = _period_index_sql(f"DATE '{today.isoformat()}'", grain)
        latest = f"(SELECT max({pidx}) FROM incidents)"  # every report, with a village or not
        last = f"least({latest}, {today_idx} - 1)"
    end_of = _period_start_sql("t.pidx + 1", grain)
    counts = ",\n       ".join(
        f"count(i.pidx) FILTER (WHERE t.pidx - i.pidx < {w})::BIGINT AS inc_all_{w}" for w in windows
    )
    return f"""
WITH inc_all AS (
  SELECT village_id, {pidx} AS pidx, (updated_at AT TIME ZONE '{zone}') AS known_from,
         coalesce(is_false_alarm, false) OR status = 'false_alarm' AS false_alarm, status
  FROM incidents WHERE village_id IS NOT NULL
),
inc AS (SELECT village_id, pidx, known_from, false_alarm FROM inc_all WHERE status IS NOT NULL),
bounds AS (SELECT (SELECT min(pidx) FROM inc_all) AS first_idx, {last} AS last_idx),
targets AS (
  SELECT range AS pidx, {_period_start_sql("range", grain)} AS period_start
  FROM bounds, range(bounds.first_idx, bounds.last_idx + 1)
),
spine AS (SELECT v.village_id, t.pidx, t.period_start FROM villages v CROSS JOIN targets t)
SELECT t.village_id, t.period_start,
       {counts}
FROM spine t
LEFT JOIN inc i
  ON i.village_id = t.village_id
 AND i.pidx BETWEEN t.pidx - {max(windows) - 1} AND t.pidx
 AND NOT (i.false_alarm AND i.known_from < CAST({end_of} AS TIMESTAMP))
GROUP BY t.village_id, t.period_start
"""


def connect(lakehouse: str):
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    root = lakehouse.rstrip("/")
    con.register("incidents", DeltaTable(f"{root}/silver/incidents").to_pyarrow_dataset())
    con.register("villages", DeltaTable(f"{root}/silver/villages").to_pyarrow_dataset())
    return con


def compare(result: str | Path, lakehouse: str, windows: list[int]) -> dict[str, float | int]:
    """How many village-periods of the DuckDB result hold the same inc_all_<w> as gold."""
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    gold = DeltaTable(f"{lakehouse.rstrip('/')}/gold/village_features").to_pyarrow_dataset()
    con.register("gold", gold)
    same = " AND ".join(f"d.inc_all_{w} = g.inc_all_{w}" for w in windows)
    row = con.execute(f"""
        SELECT count(*) AS rows, count(*) FILTER (WHERE {same}) AS agree,
               (SELECT count(*) FROM gold) AS gold_rows
        FROM read_parquet('{result}') d
        JOIN gold g ON g.village_id = d.village_id AND g.period_start = d.period_start
    """).fetchone()
    rows, agree, gold_rows = (int(x) for x in row)
    return {"rows_compared": rows, "rows_agree": agree, "gold_rows": gold_rows,
            "agree_share": round(agree / rows, 4) if rows else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lakehouse", required=True, help="lakehouse root holding silver.incidents and silver.villages")
    ap.add_argument("--out", required=True, help="Parquet file for the result")
    ap.add_argument("--as-of", type=date.fromisoformat, default=None)
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: every CPU)")
    ap.add_argument("--compare", action="store_true", help="then compare with gold.village_features")
    args = ap.parse_args(argv)

    from conf import load_settings

    started = time.monotonic()
    settings = load_settings("local")
    conf = settings.section("features")
    windows = [int(w) for w in conf["windows"]]
    grain = str(settings.get("period", "month"))
    lakehouse = str(Path(args.lakehouse).resolve()) if "://" not in args.lakehouse else args.lakehouse
    con = connect(lakehouse)
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    sql = feature_sql(windows, grain, settings.timezone, args.as_of, date.today())
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    # The same shape as the project's progress lines, which pipeline_scale.py reads.
    print(f"{time.strftime('%H:%M:%S')} INFO duckdb: duckdb_features: done in "
          f"{time.monotonic() - started:.1f}s, {rows:,} rows -> {out}", file=sys.stderr)
    if args.compare:
        print(compare(out, lakehouse, windows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
