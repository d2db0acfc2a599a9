"""A small hand-made village-period panel for the model tests (no generator needed)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest


def make_panel(n_villages: int = 20, n_periods: int = 18, seed: int = 3) -> pd.DataFrame:
    """Villages with a persistent rate; counts Poisson around it; labels = next period's count.

    Columns: keys, `x_rate` (a noisy view of the rate), `hist_prev` (this period's count),
    label_weighted_next and label_high_risk_next (top 2 villages per period, ties by id).
    """
    rng = np.random.default_rng(seed)
    rate = np.linspace(0.2, 6.0, n_villages)
    counts = rng.poisson(rate[:, None], (n_villages, n_periods + 1)).astype(float)
    periods = [date(2020 + m // 12, m % 12 + 1, 1) for m in range(n_periods)]
    rows = []
    for i in range(n_villages):
        for t, p in enumerate(periods):
            rows.append(
                {
                    "village_id": f"v{i:02d}", "township_id": f"t{i % 2}", "period_start": p,
                    "x_rate": rate[i] + rng.normal(0, 0.5), "hist_prev": counts[i, t],
                    "label_weighted_next": counts[i, t + 1] if t < n_periods - 1 else np.nan,
                }
            )
    df = pd.DataFrame(rows)
    df["label_high_risk_next"] = pd.Series(None, index=df.index, dtype="object")
    for _, g in df[df["label_weighted_next"].notna()].groupby("period_start"):
        g = g.sort_values(["label_weighted_next", "village_id"], ascending=[False, True])
        df.loc[g.index, "label_high_risk_next"] = False
        df.loc[g.index[:2], "label_high_risk_next"] = True
    return df


@pytest.fixture()
def panel() -> pd.DataFrame:
    return make_panel()
