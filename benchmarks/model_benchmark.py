"""Model benchmark: the backtest of every model against the best baseline and a true-intensity oracle.

Reads gold.village_features (and silver.villages) of a lakehouse built from a generated county,
runs the same rolling-origin backtest as `rural-risk train` (nothing is written to the
lakehouse), and ranks villages by the generator's true intensity of the predicted period
(`<landing>/_truth/intensity.csv`, column expected_total) as the oracle. Prints a Markdown
table and writes JSON with every number, for docs/model-card.md.

    .venv/bin/python benchmarks/model_benchmark.py --lakehouse LH --truth LANDING/_truth \
        [--landing LANDING --build] [--out benchmarks/model_benchmark.json]

With --build, the lakehouse is first filled by `ingest` and `features` from --landing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lakehouse", required=True)
    ap.add_argument("--truth", required=True, help="the generator's _truth folder")
    ap.add_argument("--landing", default=None)
    ap.add_argument("--build", action="store_true", help="ingest and build features first")
    ap.add_argument(
        "--proxy-from-landing", action="store_true",
        help="instead of ingest and features, write a history-only feature table read directly "
        "from the landing CSVs (a proxy: see benchmarks/benchmarks_landing_proxy.py)",
    )
    ap.add_argument("--profile", default="local")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "model_benchmark.json"))
    args = ap.parse_args(argv)

    import pandas as pd

    from conf import load_settings
    from features.periods import next_period
    from jobs.context import RunContext, setup_logging
    from jobs.model_runs import panel_from_lakehouse
    from models.backtest import metrics_table, recent_mean, run_backtest
    from models.metrics import period_metrics
    from models.panel import to_pandas
    from models.training import area_series, backtest_config, model_factories
    from store.catalog import SILVER_VILLAGES
    from store.lakehouse import Lakehouse

    setup_logging("model-benchmark")
    settings = load_settings(args.profile)
    ctx = RunContext(settings=settings, lakehouse=Lakehouse(args.lakehouse), run_id="model-benchmark")
    timings: dict[str, float] = {}
    ctx.spark  # noqa: B018 - start the project's session (Delta jars) before any library makes one
    if args.build:
        from jobs.features import build_features
        from jobs.ingest import ingest

        t = time.monotonic()
        ingest(ctx, args.landing)
        build_features(ctx)
        timings["ingest_and_features_s"] = time.monotonic() - t

    if args.proxy_from_landing:
        from benchmarks_landing_proxy import write_proxy_tables

        t = time.monotonic()
        write_proxy_tables(ctx, args.landing, settings.section("features"))
        timings["proxy_tables_s"] = time.monotonic() - t

    conf = settings.section("models")
    grain = str(settings.get("period", "month"))
    t = time.monotonic()
    panel_df, inputs, last = panel_from_lakehouse(ctx.spark, ctx.lakehouse, conf, grain, None,
                                         neighbours=ctx.settings.section("features")["neighbours"])
    panel = to_pandas(panel_df, inputs)
    area = area_series(ctx.lakehouse.read_optional(ctx.spark, SILVER_VILLAGES))
    timings["collect_panel_s"] = time.monotonic() - t

    t = time.monotonic()
    factories = model_factories(conf, inputs)
    preds = run_backtest(
        panel, factories, backtest_config(conf),
        lambda i, n, p: ctx.log.info("backtest origin %d/%d (%s)", i, n, str(p)[:10]),
    )
    timings["backtest_s"] = time.monotonic() - t
    coverages = [float(c) for c in conf["metrics"]["coverages"]]
    metrics = metrics_table(preds, area, coverages, int(conf["metrics"]["calibration_bins"]))

    # Oracle: rank the villages of each origin by the true intensity of the predicted period.
    truth = pd.read_csv(Path(args.truth) / "intensity.csv", dtype={"village_id": str})
    truth["period_start"] = pd.to_datetime(truth["period_start"]).dt.date
    intensity = truth.set_index(["village_id", "period_start"])["expected_total"]
    rows = []
    base = preds[preds["model"] == next(iter(factories))]
    for p, g in base.groupby("period_start"):
        g = g.sort_values("village_id")
        target = next_period(pd.Timestamp(p).date(), grain)
        keys = list(zip(g["village_id"], [target] * len(g), strict=True))
        score = intensity.reindex(keys).to_numpy()
        a = area.reindex(g["village_id"]).to_numpy() if area is not None else None
        for metric, cov, value in period_metrics(
            score, score * 0, g["actual_weighted"], g["actual_label"].astype(float), a, coverages
        ):
            rows.append(("oracle_true_intensity", p, metric, cov, None, value))
    metrics = pd.concat([metrics, pd.DataFrame(rows, columns=metrics.columns)], ignore_index=True)

    sel = conf["selection"]
    recent = int(sel["recent_periods"])
    summary: dict[str, dict[str, float]] = {}
    for metric, cov in [("pei_star", c) for c in coverages] + [("hit_rate", 0.1), ("pai", 0.1)]:
        for window, n in (("recent", recent), ("all", 10_000)):
            for model, v in recent_mean(metrics, metric, cov, n).items():
                summary.setdefault(str(model), {})[f"{metric}@{cov:g}_{window}"] = float(v)
    for metric in ("roc_auc", "pr_auc", "brier", "ece"):
        for model, v in recent_mean(metrics.fillna({"coverage": -1.0}), metric, -1.0, 10_000).items():
            summary.setdefault(str(model), {})[f"{metric}_all"] = float(v)

    key = f"pei_star@{float(sel['coverage']):g}_recent"
    candidates = {m: s[key] for m, s in summary.items() if m != "oracle_true_intensity"}
    champion = max(sorted(candidates), key=lambda m: candidates[m])
    baselines = {m: v for m, v in candidates.items() if m.startswith("baseline_")}
    best_baseline = max(sorted(baselines), key=lambda m: baselines[m])
    oracle = summary["oracle_true_intensity"][key]
    result = {
        "lakehouse": args.lakehouse, "truth": args.truth, "profile": args.profile,
        "periods_backtested": [str(p)[:10] for p in sorted(preds["period_start"].unique())],
        "villages": int(panel["village_id"].nunique()), "inputs": inputs,
        "last_complete_period": str(last), "timings": timings,
        "champion": champion, "best_baseline": best_baseline,
        "champion_vs_best_baseline": candidates[champion] - baselines[best_baseline],
        "champion_share_of_oracle": candidates[champion] / oracle if oracle else None,
        "selection_key": key, "summary": summary,
    }
    Path(args.out).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")

    cols = [key, key.replace("recent", "all"), "pei_star@0.05_recent", "pei_star@0.2_recent",
            "hit_rate@0.1_recent", "pai@0.1_recent", "roc_auc_all", "pr_auc_all", "brier_all", "ece_all"]
    print(f"\nbacktest: {len(result['periods_backtested'])} origins "
          f"({result['periods_backtested'][0]} .. {result['periods_backtested'][-1]}), "
          f"{result['villages']} villages, {len(inputs)} inputs; timings {timings}")
    print("| model | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for model in sorted(summary, key=lambda m: -summary[m].get(key, 0)):
        vals = [summary[model].get(c) for c in cols]
        print(f"| {model} | " + " | ".join("" if v is None else f"{v:.3f}" for v in vals) + " |")
    print(f"\nchampion {champion}; best baseline {best_baseline}; "
          f"champion - best baseline = {result['champion_vs_best_baseline']:+.3f}; "
          f"champion / oracle = {result['champion_share_of_oracle']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
