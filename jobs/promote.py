"""`rural-risk promote`: the last task of the Airflow training DAG (backtest -> train -> promote).

`rural-risk train` registers the model its selection chose as a candidate; this checks that
the candidate can actually serve, and only then makes it the champion the scorer uses: its
registry row exists, its artifact loads (with the SHA-256 the registry recorded), and every
input it was trained on is in the scorer's panel (gold.village_features and the history
signals derived from it). A failed check leaves the previous champion serving and stops
the DAG run before the pipeline scores.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from jobs.arguments import add_as_of
from jobs.context import RunContext

# The stage reads an existing lakehouse: jobs/cli.py checks --lakehouse before Spark starts.
READS_LAKEHOUSE = True
# The stage writes the lakehouse (the registry row it promotes): run under the write lock.
WRITES_LAKEHOUSE = True
HELP = "check the latest trained candidate (artifact, inputs) and make it the champion the scorer uses"


class PromotionError(ValueError):
    """The candidate cannot serve: an unreadable artifact or missing features; or nothing to serve."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_as_of(parser, "the scorer's panel the candidate's inputs are checked against")


def check_serves(ctx: RunContext, entry: Any, as_of: date | None) -> None:
    """Raise PromotionError unless `entry`'s artifact loads and its inputs are in the panel."""
    from jobs.model_runs import panel_from_lakehouse
    from models.registry import load_artifact

    try:
        load_artifact(entry.artifact_path, entry.artifact_sha256)
    except Exception as exc:  # any unpickling or storage error means the scorer would fail too
        raise PromotionError(f"{entry.role} {entry.version}: artifact {entry.artifact_path} does not load: {exc}") from exc
    # The scorer's own input panel: gold.village_features plus the history signals (hist_*)
    # the models derive from it, so a baseline is checked on what it really reads.
    panel, _, _ = panel_from_lakehouse(
        ctx.spark, ctx.lakehouse, ctx.settings.section("models"), str(ctx.settings.get("period", "month")),
        as_of, history_only=True, neighbours=ctx.settings.section("features")["neighbours"],
    )
    missing = [f for f in entry.features if f not in set(panel.columns)]
    if missing:
        raise PromotionError(
            f"{entry.role} {entry.version} needs features gold.village_features lacks: {', '.join(missing)}"
        )


def promote(ctx: RunContext, as_of: date | None = None) -> str:
    """Promote the latest candidate after its checks; returns what happened, in words. With no
    candidate newer than the champion, the champion is checked and stays."""
    from jobs import registry

    spark, lh = ctx.spark, ctx.lakehouse
    candidate = registry.current_candidate(spark, lh)
    if candidate is None:
        champ = registry.current_champion(spark, lh)
        if champ is None:
            raise PromotionError("ops.model_registry holds no candidate and no champion: run `rural-risk train` first")
        check_serves(ctx, champ, as_of)
        return (f"nothing to promote: champion {champ.version} ({champ.model}) has no newer candidate "
                f"and still serves (artifact loads, {len(champ.features)} features present)")
    with ctx.stage(f"promote {candidate.version}") as st:
        check_serves(ctx, candidate, as_of)
        registry.promote(spark, lh, candidate.version)
        st.done(rows=1, detail=f"{candidate.model} is the champion")
    return (f"champion {candidate.version} ({candidate.model}) promoted: artifact loads, "
            f"{len(candidate.features)} features present" + (f"; as of {as_of}" if as_of else ""))


def run(ctx: RunContext, args: argparse.Namespace) -> int:
    print(promote(ctx, args.as_of))
    return 0
