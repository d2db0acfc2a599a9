"""Keyed pseudonyms: normalized so one person links, refused without a key outside dev profiles."""

from __future__ import annotations

import pytest

from features.landing.pseudonym import PseudonymKeyError, pseudonym, resolve_key


def test_same_person_same_pseudonym_after_normalizing():
    key = b"k"  # pseudonym() itself takes any key; resolve_key checks the length
    assert pseudonym(" 138 0013 8000 ", "phone", key) == pseudonym("+86 138-0013-8000", "phone", key)
    assert pseudonym("11010519491231002x", "id_number", key) == pseudonym("11010519491231002X", "id_number", key)
    assert pseudonym("张  三", "name", key) == pseudonym("张 三", "name", key)
    assert pseudonym("13800138000", "phone", key) != pseudonym("13800138000", "phone", b"other")
    assert pseudonym("13800138000", "phone", key) != pseudonym("13800138000", "id_number", key)
    assert pseudonym("  ", "name", key) is None and pseudonym(None, "name", key) is None
    assert len(pseudonym("x", "name", key)) == 64


def test_key_from_env_else_dev_key_only_for_synthetic_landings(monkeypatch):
    key = "k" * 32
    monkeypatch.setenv("RR_TEST_KEY", key)
    assert resolve_key("RR_TEST_KEY", False, "dev", "cluster") == key.encode()
    monkeypatch.setenv("RR_TEST_KEY", "short-key")
    with pytest.raises(PseudonymKeyError, match="holds a key of 9 characters: a pseudonymization key needs at least 32"):
        resolve_key("RR_TEST_KEY", True, "dev", "local", synthetic=True)
    monkeypatch.delenv("RR_TEST_KEY")
    assert resolve_key("RR_TEST_KEY", True, "dev", "local", synthetic=True) == b"dev"
    with pytest.raises(PseudonymKeyError, match="only used for landings `rural-risk generate` marked as synthetic"):
        resolve_key("RR_TEST_KEY", True, "dev", "local", synthetic=False)  # real records
    with pytest.raises(PseudonymKeyError, match="profile 'cluster' does not allow"):
        resolve_key("RR_TEST_KEY", False, "dev", "cluster", synthetic=True)


def test_the_key_id_names_a_key_without_giving_it_away():
    from features.landing.pseudonym import key_id

    # HMAC-SHA256(key, "rural-risk pseudonym key id"), first 12 hex characters, computed once
    # with `python -c` (hmac.new(b"k" * 32, ..., hashlib.sha256).hexdigest()[:12])
    assert key_id(b"k" * 32) == "7addaba6f029"
    assert key_id(b"k" * 32) != key_id(b"j" * 32)  # a rotated key gets a new id
    assert b"k" * 12 not in bytes.fromhex(key_id(b"k" * 32))
