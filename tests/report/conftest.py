"""Chromium for the page tests: present, or installed once with `make browser`, else a clear skip."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def chromium() -> str:
    from browser import ensure_chromium

    found = ensure_chromium(Path(__file__).resolve().parents[2])
    if found is None:
        pytest.skip("chromium is absent and could not be installed (`make browser` needs root and apt)")
    return found
