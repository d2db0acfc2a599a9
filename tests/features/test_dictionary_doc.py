"""docs/features.md's feature reference is rendered from the data dictionary (features/dictionary.py)."""

from __future__ import annotations

from conf import load_settings
from features import dictionary


def test_docs_feature_reference_is_rendered_from_the_dictionary():
    settings = load_settings()
    current, wanted = dictionary.rewrite_doc(settings.section("features"), str(settings.get("period", "month")))
    assert current == wanted, "docs/features.md is stale: run `python -m features.dictionary`"
    assert dictionary.main(["--check"]) == 0
    columns = dictionary.village_feature_columns(settings.section("features"), "month")
    assert all(f"| `{c.name}` |" in current for c in columns)
