"""`rural-risk promote`: the last task of the Airflow training DAG (backtest -> train -> promote).

`rural-risk train` registers its fits and picks the champion (or keeps the incumbent);
this checks that the champion the scorer will now use can actually serve: its registry
row exists, its artifact loads, and every input it was trained on is in the scorer's panel
(gold.village_features and the history signals derived from it). A failure stops the DAG run before the pipeline scores with it.
"""

from __future__ import annotations

import argparse

from jobs.arguments import add_as_of
from jobs.context import RunContext

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
HELP = "check that the registered champion loads and every input it needs is in the scorer's panel"


class PromotionError(ValueError):
    """The champion cannot serve: no registry row, an unreadable artifact, missing features."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "logged with the check; the champion is the latest registered one")


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    from models import registry

    spark, lh = ctx.spark, ctx.lakehouse
    champ = registry.current_champion(spark, lh)
    if champ is None:
        raise PromotionError("ops.model_registry holds no champion: the train task registered none")
    try:
        registry.load_artifact(champ.artifact_path, champ.artifact_sha256)
    except Exception as exc:  # any unpickling or storage error means the scorer would fail too
        raise PromotionError(f"champion {champ.version}: artifact {champ.artifact_path} does not load: {exc}") from exc
    from models.panel import build_panel

    # The scorer's own input panel: gold.village_features plus the history signals (hist_*)
    # the models derive from it, so a baseline champion is checked on what it really reads.
    panel, _, _ = build_panel(
        spark, lh, ctx.settings.section("models"), str(ctx.settings.get("period", "month")),
        args.as_of, history_only=True,
    )
    columns = set(panel.columns)
    missing = [f for f in champ.features if f not in columns]
    if missing:
        raise PromotionError(
            f"champion {champ.version} needs features gold.village_features lacks: {', '.join(missing)}"
        )
    fresh = champ.version.startswith(f"{ctx.run_id}-")
    print(
        f"champion {champ.version} ({champ.model}) serves: artifact loads, "
        f"{len(champ.features)} features present; "
        + ("registered by this run" if fresh else "kept from an earlier run")
        + (f"; as of {args.as_of}" if args.as_of else "")
    )
    return 0
