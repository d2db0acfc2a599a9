"""Generate a whole county: shards in-process or as Spark tasks, then the `_truth/` files.

Shards write their own files, so Spark never collects data to the driver: each task returns
one small summary row. Truth parts are concatenated in shard order into `_truth/*.csv`.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from synthetic.geography import County, build_county, plan_survey
from synthetic.shard import SOURCES, generate_shard

TRUTH_FILES = ("intensity", "counts", "dirty_rows", "personal_values", "villages")
CSV_SOURCES = tuple(s for s in SOURCES if s != "patrols")


@dataclass(frozen=True)
class Request:
    """What to generate (the CLI options, checked)."""

    out: Path
    villages: int
    years: int
    seed: int
    start: date
    dirty_rate: float
    gb18030: tuple[str, ...] = ()


def check_request(r: Request) -> Request:
    """Clear errors for values the generator cannot use."""
    if r.villages < 1:
        raise ValueError(f"--villages must be at least 1, got {r.villages}")
    if r.years < 1:
        raise ValueError(f"--years must be at least 1, got {r.years}")
    if not 0 <= r.dirty_rate <= 0.5:
        raise ValueError(f"--dirty-rate must be between 0 and 0.5, got {r.dirty_rate}")
    if r.start.day != 1:
        raise ValueError(f"--start must be the first day of a month, got {r.start.isoformat()}")
    unknown = sorted(set(r.gb18030) - set(CSV_SOURCES))
    if unknown:
        raise ValueError(f"--gb18030: {', '.join(unknown)} is not a CSV source; expected some of {', '.join(CSV_SOURCES)}")
    return r


def prepare_out(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty --out unless --overwrite, and then only a folder this generator wrote."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(f"--out {out} exists and is not empty: choose another folder or pass --overwrite")
        if not (out / "_truth").is_dir():
            raise ValueError(f"--out {out} holds files the generator did not write (no _truth/): not overwriting it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


@functools.lru_cache(maxsize=2)
def _county(seed: int, villages: int, years: int, params_json: str) -> County:
    """The county layout, built once per process (Spark reuses its Python workers across tasks)."""
    params = json.loads(params_json)
    return plan_survey(build_county(seed, villages, params), seed, years, params)


def _shard_runner(req: Request, params: dict[str, Any], labels: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    county = _county(req.seed, req.villages, req.years, json.dumps(params, sort_keys=True, default=str))
    encodings = dict.fromkeys(req.gb18030, "gb18030")

    def run(shard: int) -> dict[str, Any]:
        return generate_shard(county, shard, req.seed, req.start, req.years, params, req.out.resolve(),
                              req.dirty_rate, encodings, labels)

    return run


def n_shards(req: Request, params: dict[str, Any]) -> int:
    return _county(req.seed, req.villages, req.years, json.dumps(params, sort_keys=True, default=str)).n_shards


def run_local(req: Request, params: dict[str, Any], labels: dict[str, Any]) -> list[dict[str, Any]]:
    run = _shard_runner(req, params, labels)
    return [run(s) for s in range(n_shards(req, params))]


def run_spark(spark, req: Request, params: dict[str, Any], labels: dict[str, Any]) -> list[dict[str, Any]]:
    """One Spark task per shard (mapInPandas); each writes its files, returns one summary row."""
    shards = n_shards(req, params)

    def tasks(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        run = _shard_runner(req, params, labels)   # geography rebuilt inside the task: cheap
        for batch in batches:
            for s in batch["shard"]:
                res = run(int(s))
                yield pd.DataFrame({"shard": [res["shard"]], "summary": [json.dumps(res)]})

    df = spark.range(0, shards, numPartitions=shards).selectExpr("CAST(id AS INT) AS shard")
    rows = df.mapInPandas(tasks, schema="shard INT, summary STRING").collect()
    return sorted((json.loads(r["summary"]) for r in rows), key=lambda r: r["shard"])


def merge_truth(out: Path, shards: int) -> None:
    """Concatenate each truth part in shard order (header once), then drop the parts."""
    parts = out / "_truth" / "_parts"
    for name in TRUTH_FILES:
        with open(out / "_truth" / f"{name}.csv", "wb") as dst:
            for s in range(shards):
                src = parts / name / f"s{s:04d}.csv"
                with open(src, "rb") as fh:
                    header = fh.readline()
                    if s == 0:
                        dst.write(header)
                    shutil.copyfileobj(fh, dst)
    shutil.rmtree(parts)


def summarize(out: Path, req: Request, results: list[dict[str, Any]]) -> dict[str, Any]:
    rows: dict[str, int] = {}
    for r in results:
        for k, n in r["rows"].items():
            rows[k] = rows.get(k, 0) + n
    summary = {
        # The mark ingest looks for before it may use the development pseudonymization key.
        "synthetic": True, "generator": "rural-risk generate",
        "villages": req.villages, "years": req.years, "seed": req.seed, "start": req.start.isoformat(),
        "dirty_rate": req.dirty_rate, "gb18030": list(req.gb18030), "shards": len(results),
        "landing_lines": dict(sorted(rows.items())), "dirty_rows": sum(r["dirty"] for r in results),
    }
    (out / "_truth" / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def generate(req: Request, params: dict[str, Any], labels: dict[str, Any], overwrite: bool = False,
             spark=None) -> dict[str, Any]:
    """Check the request, prepare --out, run every shard (in Spark when a session is given),
    write `_truth/`; returns the summary."""
    check_request(req)
    prepare_out(req.out, overwrite)
    results = run_spark(spark, req, params, labels) if spark is not None else run_local(req, params, labels)
    merge_truth(req.out, len(results))
    return summarize(req.out, req, results)
