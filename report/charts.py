"""Charts of the report as inline SVG: map points for the template, matplotlib figures as SVG text."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd

from report.i18n import DEFAULT_LANGUAGE, N_, translator

# Sequential risk palette (light yellow -> dark red), colour-blind safe (ColorBrewer YlOrRd).
RISK_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
RISK_BREAKS = (0.1, 0.25, 0.5, 0.75)
DIMENSIONS = ("subject", "organization", "resource", "mechanism")
DIMENSION_WORDS = {"subject": N_("subject"), "organization": N_("organization"), "resource": N_("resource"),
                   "mechanism": N_("mechanism")}
STRATEGY_WORDS = {"optimized": N_("optimized"), "proportional": N_("in proportion to risk"),
                  "equal": N_("equal hours")}


def risk_colour(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "#cccccc"
    return RISK_COLOURS[sum(p >= b for b in RISK_BREAKS)]


def map_points(risk: pd.DataFrame, villages: pd.DataFrame | None, width: int = 640,
               height: int = 480, pad: int = 16) -> list[dict]:
    """Villages as points of an equirectangular projection fitted into width x height."""
    if villages is None or villages.empty:
        return []
    v = villages[["village_id", "longitude", "latitude"]].dropna()
    v = v.merge(risk, on="village_id", how="inner")
    if v.empty:
        return []
    lat0 = math.radians(float(v["latitude"].mean()))
    x = v["longitude"].astype(float) * math.cos(lat0)
    y = v["latitude"].astype(float)
    span = max(float(x.max() - x.min()), float(y.max() - y.min()), 1e-9)
    scale = min((width - 2 * pad), (height - 2 * pad)) / span
    # Centre the county in the frame (its shape keeps its aspect ratio).
    px = pad + (width - 2 * pad - float(x.max() - x.min()) * scale) / 2 + (x - x.min()) * scale
    py = height - pad - (height - 2 * pad - float(y.max() - y.min()) * scale) / 2 - (y - y.min()) * scale
    out = []
    for i, row in enumerate(v.itertuples(index=False)):
        out.append({
            "x": round(float(px.iloc[i]), 1), "y": round(float(py.iloc[i]), 1),
            "colour": risk_colour(row.probability), "flagged": bool(row.flagged),
            "village_id": row.village_id, "name": row.village_name,
            "township": row.township_name, "probability": float(row.probability), "rank": int(row.rank),
        })
    return sorted(out, key=lambda p: (p["flagged"], p["probability"]))  # flagged drawn on top


@contextmanager
def _without_glyph_warnings() -> Iterator[None]:
    """Text stays text in the SVG (svg.fonttype none): the browser draws Chinese names with its
    own fonts, so matplotlib lacking CJK glyphs for its layout passes does not matter."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with _without_glyph_warnings():
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(w: float, h: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "rural-risk"})
    return plt.subplots(figsize=(w, h))


def trends_svg(trends: pd.DataFrame, language: str = DEFAULT_LANGUAGE) -> str:
    """Small multiples: incidents per month for each township, same y scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    towns = sorted(trends["township_name"].astype(str).unique())
    cols = min(4, len(towns))
    rows = math.ceil(len(towns) / cols)
    plt.rcParams.update({"svg.fonttype": "none", "font.size": 8, "svg.hashsalt": "rural-risk-trends"})
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 1.6 * rows), sharex=True, sharey=True,
                             squeeze=False)
    top = float(trends["incidents"].max() or 1)
    for ax, town in zip(axes.ravel(), towns, strict=False):
        t = trends[trends["township_name"].astype(str) == town].sort_values("period_start")
        ax.plot(pd.to_datetime(t["period_start"]), t["incidents"], color="#3b6ea5", lw=1.4)
        ax.set_title(town, fontsize=8)
        ax.set_ylim(0, top * 1.1)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes.ravel()[len(towns):]:
        ax.set_visible(False)
    _ = translator(language)
    fig.supylabel(_("incidents per month"), fontsize=8)
    with _without_glyph_warnings():
        fig.tight_layout()
    return _svg(fig)


def governance_svg(gov: pd.DataFrame, language: str = DEFAULT_LANGUAGE) -> str:
    """Grouped bars: the four governance dimensions (0-100) per township."""
    import numpy as np

    _ = translator(language)
    fig, ax = _figure(max(6.0, 0.6 * len(gov) + 2), 3.2)
    colours = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a")
    x = np.arange(len(gov))
    width = 0.2
    for i, (dim, colour) in enumerate(zip(DIMENSIONS, colours, strict=True)):
        ax.bar(x + (i - 1.5) * width, gov[dim], width, label=_(DIMENSION_WORDS[dim]), color=colour)
    ax.set_xticks(x, gov["township_name"].astype(str), rotation=30, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel(_("score (0-100)"))
    ax.legend(ncols=4, loc="upper center", bbox_to_anchor=(0.5, 1.15), frameon=False)
    return _svg(fig)


def calibration_svg(rel: pd.DataFrame, models: Sequence[str], language: str = DEFAULT_LANGUAGE) -> str:
    """Reliability diagram: predicted probability vs observed share of high-risk villages."""
    _ = translator(language)
    fig, ax = _figure(4.2, 3.6)
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", lw=1, label=_("perfect calibration"))
    for model in models:
        m = rel[rel["model"] == model].sort_values("predicted")
        ax.plot(m["predicted"], m["observed"], marker="o", ms=3, lw=1.3, label=str(model))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_("predicted probability"))
    ax.set_ylabel(_("observed share high-risk"))
    ax.legend(frameon=False, fontsize=7)
    return _svg(fig)


def comparison_svg(totals: pd.Series, language: str = DEFAULT_LANGUAGE) -> str:
    """Bars: harm prevented over the backtest by each allocation strategy."""
    _ = translator(language)
    fig, ax = _figure(4.6, 2.2)
    colours = {"optimized": "#2c7bb6", "proportional": "#abd9e9", "equal": "#d7d7d7"}
    names = list(totals.index)
    shown = [_(STRATEGY_WORDS[n]) if n in STRATEGY_WORDS else str(n) for n in names]
    ax.barh(shown, totals.to_numpy(), color=[colours.get(n, "#999999") for n in names])
    for i, v in enumerate(totals.to_numpy()):
        ax.text(v, i, f" {v:.1f}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel(_("weighted incidents prevented (estimated, on actual counts)"))
    return _svg(fig)
