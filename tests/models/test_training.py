"""Training helpers without Spark: what a backtest is made from, the driver-memory line."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from models.training import BacktestInputs, driver_footprint

CONF = {
    "features": {"include": "all", "exclude": []},
    "baselines": {"moving_average_windows": [3]},
    "classifiers": {"enabled": ["logistic"]},
    "backtest": {"warmup_periods": 6, "retrain_every": 4},
    "metrics": {"coverages": [0.1]},
    "selection": {"recent_periods": 6},
}
VERSIONS = {"gold.village_features": 4, "silver.villages": 1}


def test_backtest_inputs_follow_tables_period_and_the_settings_the_backtest_reads():
    made = BacktestInputs.of(VERSIONS, CONF, "month", date(2021, 2, 1))
    assert (made.features_version, made.villages_version, made.last_period, made.grain) == (
        4, 1, "2021-02-01", "month")
    assert re.fullmatch(r"[0-9a-f]{64}", made.settings_sha256) and re.fullmatch(r"[0-9a-f]{64}", made.code_sha256)
    # Key order of the settings does not matter, nor the incumbent rule (min_improvement) or
    # the scoring settings, which the backtest does not read
    shuffled = dict(reversed(list({**CONF, "selection": {"recent_periods": 6, "min_improvement": 0.05},
                                   "scoring": {"flag_share": 0.2}}.items())))
    assert BacktestInputs.of(VERSIONS, shuffled, "month", date(2021, 2, 1)) == made
    # the selection windows shape the comparison rows the backtest writes
    assert BacktestInputs.of(VERSIONS, {**CONF, "selection": {"recent_periods": 12}}, "month",
                             date(2021, 2, 1)).settings_sha256 != made.settings_sha256
    other = BacktestInputs.of(VERSIONS, {**CONF, "metrics": {"coverages": [0.2]}}, "week", date(2021, 2, 1))
    recorded = {**made.__dict__, "run_id": "r1"}
    assert other.differences(recorded) == [
        "grain 'month' -> 'week'",
        f"settings_sha256 {made.settings_sha256!r} -> {other.settings_sha256!r}",
    ]
    assert made.differences(recorded) == []
    assert made.differences({}) == [
        "features_version None -> 4", "villages_version None -> 1", "last_period None -> '2021-02-01'",
        "grain None -> 'month'", f"settings_sha256 None -> {made.settings_sha256!r}",
        f"code_sha256 None -> {made.code_sha256!r}",
    ]


def test_driver_footprint_names_the_size_and_the_peak_rss():
    import resource

    frame = pd.DataFrame({"a": range(1234), "b": 0.5, "c": "x"})
    line = driver_footprint(frame, "panel")
    m = re.fullmatch(r"panel 1,234 x 3 on the driver, driver peak RSS ([\d,]+) MiB", line)
    assert m, line
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
    assert int(m.group(1).replace(",", "")) == round(peak_kib / 1024) > 0
