"""The synthetic county behind `rural-risk generate` (see docs/synthetic-data.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conf import load_yaml


def load_params(section: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """conf/generator.yaml (or a profile's merged section) with optional overrides merged key by key."""
    from conf import _merge  # the settings loader's own deep merge

    base = dict(section) if section is not None else load_yaml("generator.yaml")
    return _merge(base, overrides or {})


def code_labels() -> dict[str, dict[str, list[str]]]:
    """conf/codes.yaml: code list -> code -> Chinese labels."""
    return {k: {str(c): list(v or []) for c, v in codes.items()} for k, codes in load_yaml("codes.yaml").items()}
