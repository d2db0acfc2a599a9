"""The test tree itself: pytest's default import mode needs one basename per test module (two
test_registry.py in different folders stop the whole collection), so a clash fails here, in a
second, instead of in the full suite's collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_module_has_its_own_basename():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, k in names.items() if k > 1] == []


def test_no_test_folder_is_a_package():
    # an __init__.py would name tests/synthetic "synthetic" and shadow the real package
    assert sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("__init__.py")) == []
