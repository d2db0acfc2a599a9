"""Tiny generated counties shared by the generator tests (generated once per test session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest


def generate(out: Path, villages: int = 40, years: int = 2, seed: int = 7, dirty_rate: float = 0.02,
             gb18030: tuple[str, ...] = (), overrides: dict | None = None) -> Path:
    """Generate in-process (no Spark) and return the landing folder."""
    from synthetic import code_labels, load_params
    from synthetic.county import Request
    from synthetic.county import generate as run

    req = Request(out=out, villages=villages, years=years, seed=seed, start=date(2021, 1, 1),
                  dirty_rate=dirty_rate, gb18030=gb18030)
    run(req, load_params(overrides=overrides), code_labels())
    return out


@pytest.fixture(scope="session")
def small_county(tmp_path_factory) -> Path:
    """40 villages x 2 years, 2% dirty rows, villages and incidents in GB18030."""
    return generate(tmp_path_factory.mktemp("county") / "landing", gb18030=("villages", "incidents"))


@pytest.fixture(scope="session")
def effects_county(tmp_path_factory) -> Path:
    """A larger clean county for the structural effects (120 villages x 4 years, a bigger survey)."""
    return generate(tmp_path_factory.mktemp("effects") / "landing", villages=120, years=4, seed=11, dirty_rate=0.0,
                    overrides={"survey": {"responses_per_wave": 1200, "villages_per_wave": 60}})


@pytest.fixture(scope="session")
def make_county():
    """The in-process generator as a function, for experiments with parameter overrides."""
    return generate


def read_incidents(root: Path) -> pd.DataFrame:
    """Latest version of every landed incident (clean counties only)."""
    files = sorted((root / "incidents").rglob("*.csv"))
    inc = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    return inc.sort_values("updated_at").drop_duplicates("incident_id", keep="last")


@pytest.fixture(scope="session")
def incidents_of():
    return read_incidents
