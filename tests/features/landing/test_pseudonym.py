"""Keyed pseudonyms: normalized so one person links, refused without a key outside dev profiles."""

from __future__ import annotations

import pytest

from features.landing.pseudonym import PseudonymKeyError, pseudonym, resolve_key


def test_same_person_same_pseudonym_after_normalizing():
    key = b"k"
    assert pseudonym(" 138 0013 8000 ", "phone", key) == pseudonym("+86 138-0013-8000", "phone", key)
    assert pseudonym("11010519491231002x", "id_number", key) == pseudonym("11010519491231002X", "id_number", key)
    assert pseudonym("张  三", "name", key) == pseudonym("张 三", "name", key)
    assert pseudonym("13800138000", "phone", key) != pseudonym("13800138000", "phone", b"other")
    assert pseudonym("13800138000", "phone", key) != pseudonym("13800138000", "id_number", key)
    assert pseudonym("  ", "name", key) is None and pseudonym(None, "name", key) is None
    assert len(pseudonym("x", "name", key)) == 64


def test_key_from_env_else_dev_key_only_where_allowed(monkeypatch):
    monkeypatch.setenv("RR_TEST_KEY", "from-env")
    assert resolve_key("RR_TEST_KEY", False, "dev", "cluster") == b"from-env"
    monkeypatch.delenv("RR_TEST_KEY")
    assert resolve_key("RR_TEST_KEY", True, "dev", "local") == b"dev"
    with pytest.raises(PseudonymKeyError, match="profile 'cluster' does not allow"):
        resolve_key("RR_TEST_KEY", False, "dev", "cluster")
