"""Registers the landing fuzz profiles (`ci`, `long`) before hypothesis' pytest plugin reads
`--hypothesis-profile` (tests/landing_fuzz/strategies.py)."""

from __future__ import annotations

import strategies  # noqa: F401 - registers the hypothesis profiles
