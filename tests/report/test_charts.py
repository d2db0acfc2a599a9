"""report/charts.py on its own: risk colours at the breaks, map points projected by hand from a
small frame, and the SVG charts' text in both languages (no browser)."""

from __future__ import annotations

import math
import re
from datetime import date

import pandas as pd
import pytest

from report.charts import (
    RISK_COLOURS,
    calibration_svg,
    comparison_svg,
    governance_svg,
    map_points,
    risk_colour,
    trends_svg,
)


@pytest.mark.parametrize(("p", "colour"), [
    (0.0, RISK_COLOURS[0]), (0.0999, RISK_COLOURS[0]), (0.1, RISK_COLOURS[1]), (0.2499, RISK_COLOURS[1]),
    (0.25, RISK_COLOURS[2]), (0.5, RISK_COLOURS[3]), (0.7499, RISK_COLOURS[3]), (0.75, RISK_COLOURS[4]),
    (1.0, RISK_COLOURS[4]), (None, "#cccccc"), (float("nan"), "#cccccc"),
])
def test_risk_colour_at_the_breaks(p, colour) -> None:
    assert risk_colour(p) == colour


def _risk(ids=("V1", "V2", "V3")) -> pd.DataFrame:
    return pd.DataFrame({"village_id": list(ids), "village_name": ["东村", "西村", "南村"][: len(ids)],
                         "township_name": "城关镇", "probability": [0.8, 0.05, 0.3][: len(ids)],
                         "rank": [1, 3, 2][: len(ids)], "flagged": [True, False, False][: len(ids)]})


def test_map_points_by_hand() -> None:
    # latitudes -0.5 and 0.5: mean 0, cos 1, so x = longitude. x span 2, y span 1 -> scale
    # min(640 - 32, 480 - 32) / 2 = 224. Frame centred: x offset 16 + (608 - 448) / 2 = 96,
    # y from the bottom 480 - 16 - (448 - 224) / 2 = 352.
    villages = pd.DataFrame({"village_id": ["V1", "V2", "V3", "V4"], "longitude": [2.0, 0.0, 1.0, None],
                             "latitude": [0.5, -0.5, 0.0, 0.0]})
    got = map_points(_risk(), villages)
    assert got == [  # flagged last (drawn on top), the rest by probability
        {"x": 96.0, "y": 352.0, "colour": RISK_COLOURS[0], "flagged": False, "village_id": "V2", "name": "西村",
         "township": "城关镇", "probability": 0.05, "rank": 3},
        {"x": 320.0, "y": 240.0, "colour": RISK_COLOURS[2], "flagged": False, "village_id": "V3", "name": "南村",
         "township": "城关镇", "probability": 0.3, "rank": 2},
        {"x": 544.0, "y": 128.0, "colour": RISK_COLOURS[4], "flagged": True, "village_id": "V1", "name": "东村",
         "township": "城关镇", "probability": 0.8, "rank": 1},
    ]


def test_map_points_squeeze_longitude_by_the_latitude() -> None:
    # mean latitude 60: cos 0.5, so 1 degree of longitude is as wide as half a degree of latitude;
    # x span 0.5, y span 0.5 -> scale 448 / 0.5 = 896, a square: x 96..544, y 464..16
    villages = pd.DataFrame({"village_id": ["V1", "V2"], "longitude": [10.0, 11.0], "latitude": [59.75, 60.25]})
    got = {p["village_id"]: (p["x"], p["y"]) for p in map_points(_risk(("V1", "V2")), villages)}
    assert math.cos(math.radians(60.0)) == pytest.approx(0.5)
    assert got == {"V1": (96.0, 464.0), "V2": (544.0, 16.0)}


def test_map_points_without_villages_or_overlap() -> None:
    assert map_points(_risk(), None) == []
    assert map_points(_risk(), pd.DataFrame(columns=["village_id", "longitude", "latitude"])) == []
    other = pd.DataFrame({"village_id": ["X9"], "longitude": [1.0], "latitude": [1.0]})
    assert map_points(_risk(), other) == []
    one = map_points(_risk(), other.assign(village_id="V3"))
    # a single village: no span, placed at the frame's centre
    assert [(p["x"], p["y"]) for p in one] == [(320.0, 240.0)]


def _texts(svg: str) -> list[str]:
    """The visible text of an SVG written with svg.fonttype none."""
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]


def test_comparison_bars_say_each_strategy_and_its_number() -> None:
    totals = pd.Series({"optimized": 2.19, "proportional": 2.25, "equal": 1.89, "custom_plan": 1.0})
    en, zh = _texts(comparison_svg(totals, "en")), _texts(comparison_svg(totals))
    for words in ("optimized", "in proportion to risk", "equal hours", "custom_plan",
                  "weighted incidents prevented (estimated, on actual counts)"):
        assert words in en
    assert {"2.2", "1.9", "1.0"} <= set(en)  # each bar's value, one decimal
    assert "优化计划" in zh and "按风险比例分配" in zh and "平均分配" in zh and "custom_plan" in zh
    assert "equal hours" not in zh
    assert comparison_svg(totals, "en").startswith("<svg")


def test_governance_bars_name_the_dimensions_and_townships() -> None:
    gov = pd.DataFrame({"township_name": ["城关镇", "李家庄乡"], "subject": [60.0, 30.0], "organization": [50.0, 20.0],
                        "resource": [40.0, 70.0], "mechanism": [55.0, 25.0]})
    en, zh = _texts(governance_svg(gov, "en")), _texts(governance_svg(gov, "zh"))
    assert {"subject", "organization", "resource", "mechanism", "score (0-100)", "城关镇", "李家庄乡"} <= set(en)
    assert {"主体", "得分（0-100）", "城关镇"} <= set(zh) and "subject" not in zh
    svg = governance_svg(gov, "en")
    assert svg.count("<g id=\"patch_") >= 8  # 4 dimensions x 2 townships, plus the axes' patch


def test_calibration_lists_each_model_and_the_diagonal() -> None:
    rel = pd.DataFrame({"model": ["hgb", "hgb", "logistic"], "predicted": [0.6, 0.1, 0.3], "observed": [0.5, 0.2, 0.3]})
    en = _texts(calibration_svg(rel, ["hgb", "logistic"], "en"))
    assert {"perfect calibration", "hgb", "logistic", "predicted probability", "observed share high-risk"} <= set(en)
    assert "完全校准" in _texts(calibration_svg(rel, ["hgb"], "zh"))


def test_trends_one_panel_per_township_in_name_order() -> None:
    trends = pd.DataFrame({"township_name": ["B镇", "A镇", "B镇", "A镇", "C乡"],
                           "period_start": [date(2024, 3, 1), date(2024, 3, 1), date(2024, 4, 1), date(2024, 4, 1),
                                            date(2024, 4, 1)],
                           "incidents": [4, 6, 1, 2, 0]})
    texts = _texts(trends_svg(trends, "en"))
    titles = [t for t in texts if t in ("A镇", "B镇", "C乡")]
    assert titles == ["A镇", "B镇", "C乡"] and "incidents per month" in texts
    assert "每月案件数" in _texts(trends_svg(trends, "zh"))
    # the same frame draws the same SVG (fixed hash salt, no date)
    assert trends_svg(trends, "en") == trends_svg(trends, "en")
