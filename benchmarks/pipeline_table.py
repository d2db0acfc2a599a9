"""Markdown tables for docs/benchmarks.md from benchmarks/pipeline_scale.py's JSON lines.

    .venv/bin/python benchmarks/pipeline_table.py                 # benchmarks/results/pipeline_scale*.jsonl
    .venv/bin/python benchmarks/pipeline_table.py FILE.jsonl --all

One summary table (a row per county size: the latest complete run of that size unless --all)
and one table per run with every stage. "pipeline" is the sum of the seven pipeline stages
(ingest .. report); the two references (floor, duckdb_features) and generate are not in it.
Ratios are taken within one run_id: ingest / floor, pipeline / floor, features / duckdb.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ("ingest", "features", "backtest", "train", "score", "allocate", "report")
ORDER = ("generate", "floor", *PIPELINE[:2], "duckdb_features", *PIPELINE[2:])


def load(paths: Iterable[Path]) -> dict[str, list[dict]]:
    """Records grouped by run_id, in file order."""
    runs: dict[str, list[dict]] = {}
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not a JSON line ({exc})") from exc
            if "run_id" not in rec or "stage" not in rec:
                raise SystemExit(f"{path}:{n}: not a pipeline_scale.py record (no run_id or stage)")
            runs.setdefault(rec["run_id"], []).append(rec)
    return runs


def _stages(records: list[dict]) -> dict[str, dict]:
    return {r["stage"]: r for r in records}


def _ok(rec: dict | None) -> bool:
    return rec is not None and rec.get("exit_code", 0) == 0


def complete(records: list[dict]) -> bool:
    st = _stages(records)
    return all(_ok(st.get(s)) for s in PIPELINE)


def _secs(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s >= 600:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "n/a"


def _int(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _load(rec: dict) -> str:
    b, a = rec.get("loadavg_before") or [None], rec.get("loadavg_after") or [None]
    return f"{b[0]} -> {a[0]}"


def totals(records: list[dict]) -> dict[str, float | None]:
    st = _stages(records)

    def wall(name: str) -> float | None:
        return st[name]["wall_s"] if _ok(st.get(name)) else None

    pipe = [st[s] for s in PIPELINE if _ok(st.get(s))]
    whole = len(pipe) == len(PIPELINE)
    loads = [x for r in records for x in (r.get("loadavg_before") or [None])[:1]
             + (r.get("loadavg_after") or [None])[:1] if x is not None]
    return {
        "pipeline_wall": sum(r["wall_s"] for r in pipe) if whole else None,
        "pipeline_cpu": sum(r["cpu_s"] for r in pipe) if whole else None,
        "pipeline_rss": max((r["peak_rss_mib"] for r in pipe), default=None),
        "ingest": wall("ingest"), "floor": wall("floor"),
        "features": wall("features"), "duckdb": wall("duckdb_features"),
        "load_min": min(loads, default=None), "load_max": max(loads, default=None),
    }


def summary_table(runs: dict[str, list[dict]]) -> str:
    head = ("| villages x years | run | profile | pipeline wall | pipeline CPU | peak RSS (largest stage) "
            "| ingest / floor | pipeline / floor | features / duckdb | load avg (1 min) |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for run_id, recs in runs.items():
        first, t = recs[0], totals(recs)
        rows.append(
            f"| {first['villages']:,} x {first['years']} | {run_id} | {first.get('profile', '')} "
            f"| {_secs(t['pipeline_wall'])} | {_secs(t['pipeline_cpu'])} "
            f"| {_int(t['pipeline_rss'])} MiB | {_ratio(t['ingest'], t['floor'])} "
            f"| {_ratio(t['pipeline_wall'], t['floor'])} | {_ratio(t['features'], t['duckdb'])} "
            f"| {t['load_min']}..{t['load_max']} |"
        )
    return "\n".join([head, *rows])


def run_table(records: list[dict]) -> str:
    """Every stage of one run: wall, CPU, peak RSS, rows, load average before -> after."""
    first = records[0]
    st = _stages(records)
    names = [s for s in ORDER if s in st] + [s for s in st if s not in ORDER]
    lines = [
        f"**{first['villages']:,} villages x {first['years']} years**, run `{first['run_id']}` "
        f"(profile {first.get('profile', '?')}, commit {first.get('git_commit', '?')}, "
        f"{first.get('timestamp', '')[:16]}):",
        "",
        "| stage | wall | CPU (tree) | peak RSS (tree) | rows | load avg (1 min) before -> after |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        r = st[name]
        label = name if _ok(r) else f"{name} (FAILED, exit {r.get('exit_code')})"
        if name in ("floor", "duckdb_features"):
            label += " (reference)"
        lines.append(
            f"| {label} | {_secs(r['wall_s'])} | {_secs(r['cpu_s'])} | {r['peak_rss_mib']:,} MiB "
            f"| {_int(r.get('rows'))} | {_load(r)} |"
        )
    t = totals(records)
    if t["pipeline_wall"] is not None:
        lines.append(f"| **pipeline (ingest .. report)** | **{_secs(t['pipeline_wall'])}** "
                     f"| **{_secs(t['pipeline_cpu'])}** | {_int(t['pipeline_rss'])} MiB | | |")
    check = (st.get("duckdb_features") or {}).get("check")
    notes = [f"ingest / floor {_ratio(t['ingest'], t['floor'])}",
             f"pipeline / floor {_ratio(t['pipeline_wall'], t['floor'])}",
             f"features / duckdb {_ratio(t['features'], t['duckdb'])}"]
    if check and check.get("rows_compared"):
        notes.append(f"DuckDB's inc_all_* agree with gold.village_features on "
                     f"{check['rows_agree']:,} of {check['rows_compared']:,} village-periods")
    lines += ["", "; ".join(notes) + "."]
    return "\n".join(lines)


def select(runs: dict[str, list[dict]], every: bool) -> dict[str, list[dict]]:
    """Every run, or the latest complete run of each size (the latest run when none is complete)."""
    if every:
        return runs
    by_size: dict[tuple[int, int], tuple[str, list[dict]]] = {}
    for run_id, recs in runs.items():
        key = (recs[0]["villages"], recs[0]["years"])
        old = by_size.get(key)
        better = old is None or (complete(recs), recs[0].get("timestamp", "")) >= (
            complete(old[1]), old[1][0].get("timestamp", ""))
        if better:
            by_size[key] = (run_id, recs)
    return {run_id: recs for _, (run_id, recs) in sorted(by_size.items())}


def render(runs: dict[str, list[dict]]) -> str:
    if not runs:
        return "(no pipeline_scale results)"
    parts = [summary_table(runs)]
    parts += [run_table(recs) for recs in runs.values()]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path, help="JSON lines files (default: benchmarks/results/pipeline_scale*.jsonl)")
    ap.add_argument("--all", action="store_true", help="every run, not only the latest of each size")
    args = ap.parse_args(argv)
    files = args.files or sorted((ROOT / "benchmarks" / "results").glob("pipeline_scale*.jsonl"))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"pipeline_table: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(render(select(load(files), args.all)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
