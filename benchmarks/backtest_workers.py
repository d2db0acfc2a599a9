"""Backtest with refit groups fitted one at a time against several at once (backtest.workers).

Collects the training panel of a lakehouse once (Spark, as `rural-risk train` does), then runs
the same rolling-origin backtest of every configured model with each worker count in turn,
alternating A B A B so load drifts hit both, and checks the predictions are identical. One
JSON line per run goes to benchmarks/results/backtest_workers.jsonl (wall and CPU seconds of
the process, peak RSS, load average before and after).

    .venv/bin/python benchmarks/backtest_workers.py --lakehouse LH [--workers 1 2] [--runs 2]
        [--build --landing DIR]

With --build the lakehouse is first filled by `ingest` and `features` from --landing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "backtest_workers.jsonl"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lakehouse", required=True, help="lakehouse holding gold.village_features")
    ap.add_argument("--landing", default=None, help="landing folder (with --build)")
    ap.add_argument("--build", action="store_true", help="ingest and build features first")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    ap.add_argument("--runs", type=int, default=2, help="runs of each worker count")
    ap.add_argument("--profile", default="local")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if args.build and not args.landing:
        ap.error("--build needs --landing")

    import pandas as pd

    from conf import load_settings
    from jobs.context import RunContext, setup_logging
    from jobs.model_runs import panel_from_lakehouse
    from models.backtest import run_backtest
    from models.panel import to_pandas
    from models.training import backtest_config, model_factories
    from store.lakehouse import Lakehouse

    run_id = f"backtest-workers-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    setup_logging(run_id)
    settings = load_settings(args.profile)
    ctx = RunContext(settings=settings, lakehouse=Lakehouse(args.lakehouse), run_id=run_id)
    if args.build:
        from jobs.features import build_features
        from jobs.ingest import ingest

        ingest(ctx, args.landing)
        build_features(ctx)
    conf = settings.section("models")
    grain = str(settings.get("period", "month"))
    panel_df, inputs, _ = panel_from_lakehouse(ctx.spark, ctx.lakehouse, conf, grain, None,
                                      neighbours=ctx.settings.section("features")["neighbours"])
    panel = to_pandas(panel_df, inputs)
    ctx.spark.stop()  # the JVM stays out of the measurement
    factories = model_factories(conf, inputs)
    base = backtest_config(conf)
    print(f"panel {len(panel):,} rows x {len(inputs)} inputs, {len(factories)} models, "
          f"{panel['village_id'].nunique():,} villages", flush=True)
    reference = None
    with open(args.out, "a", encoding="utf-8") as out:
        for run in range(args.runs):
            for workers in args.workers:
                cfg = type(base)(**{**base.__dict__, "workers": workers})
                before, wall0, cpu0 = _load(), time.perf_counter(), time.process_time()
                preds = run_backtest(panel, factories, cfg)
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                same = None
                if reference is None:
                    reference = preds
                else:
                    try:
                        pd.testing.assert_frame_equal(preds, reference)
                        same = True
                    except AssertionError:
                        same = False
                record = {
                    "run_id": run_id, "run": run + 1, "workers": workers, "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2), "rows": len(preds), "panel_rows": len(panel),
                    "villages": int(panel["village_id"].nunique()), "models": len(factories),
                    "origins": int(preds["period_start"].nunique()), "same_as_first": same,
                    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                    "load_before": before, "load_after": _load(), "cpus": os.cpu_count(),
                }
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
