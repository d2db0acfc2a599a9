"""Keyed pseudonyms (HMAC-SHA256) for personal fields, applied while a file is read.

A value is normalized before hashing so one person links across incidents: names are
trimmed with inner blanks collapsed, phones keep their digits only (a leading +86 / 0086
country code dropped), ID numbers are upper-cased without blanks. The field kind is part
of the message, so a phone and an ID number with the same digits do not collide.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping

KINDS = ("name", "phone", "id_number", "text")
REDACTED = "[redacted]"


class PseudonymKeyError(ValueError):
    """No usable pseudonymization key for this profile."""


# An HMAC-SHA256 key shorter than this is guessable enough to reverse phone pseudonyms.
MIN_KEY_CHARS = 32


def resolve_key(env_name: str, allow_dev_key: bool, dev_key: str | None, profile: str,
                synthetic: bool = False) -> bytes:
    """The HMAC key: from the environment (at least MIN_KEY_CHARS characters), else the marked
    development key, only where the profile allows it AND the landing is one the generator
    marked as synthetic: real records never get the public development key."""
    value = os.environ.get(env_name, "")
    if value:
        if len(value) < MIN_KEY_CHARS:
            raise PseudonymKeyError(
                f"{env_name} holds a key of {len(value)} characters: a pseudonymization key needs at "
                f"least {MIN_KEY_CHARS} (e.g. the output of `openssl rand -hex 32`)"
            )
        return value.encode("utf-8")
    if allow_dev_key and dev_key and synthetic:
        return dev_key.encode("utf-8")
    if allow_dev_key and dev_key:
        raise PseudonymKeyError(
            f"environment variable {env_name} is not set, and the development key is only used for "
            "landings `rural-risk generate` marked as synthetic (_truth/summary.json); this one is "
            f"not: set {env_name} to the deployment's key before ingesting real records"
        )
    raise PseudonymKeyError(
        f"environment variable {env_name} is not set and profile '{profile}' does not allow "
        "the development key (security.allow_dev_key): set the pseudonymization key before ingesting"
    )


def key_id(key: bytes) -> str:
    """A short public name of the key: 12 hex characters of an HMAC of a fixed message, so
    rows can say which key made their pseudonyms (a rotation starts a new id) without the
    key being recoverable from it."""
    return hmac.new(key, b"rural-risk pseudonym key id", hashlib.sha256).hexdigest()[:12]


def normalize(value: str, kind: str) -> str:
    v = " ".join(value.split())
    if kind == "phone":
        digits = re.sub(r"\D", "", v)
        for prefix in ("0086", "86"):
            if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
                digits = digits[len(prefix):]
        return digits
    if kind == "id_number":
        return v.replace(" ", "").upper()
    return v


def pseudonym(value: str | None, kind: str, key: bytes) -> str | None:
    """HMAC-SHA256 hex of the normalized value; None for a missing value."""
    if value is None:
        return None
    norm = normalize(value, kind)
    if not norm:
        return None
    return hmac.new(key, f"{kind}\x1f{norm}".encode(), hashlib.sha256).hexdigest()


def normalize_name(column: str) -> str:
    """Header name as compared: BOM, blanks and case removed."""
    return column.replace("\ufeff", "").strip().lower()


def is_personal_extra(column: str, patterns: Iterable[str]) -> bool:
    """An unknown extra column that may hold personal data (pseudonymized like a name)."""
    n = normalize_name(column)
    return any(p.lower() in n for p in patterns)


def protect_fields(
    record: Mapping[str, str | None],
    personal: Mapping[str, str],
    drop: Iterable[str],
    extra_patterns: Iterable[str],
    known: Iterable[str],
    key: bytes,
) -> dict[str, str | None]:
    """A record with personal fields pseudonymized, dropped fields removed, and any
    unknown column that looks personal pseudonymized as free text."""
    drop_set, known_set = set(drop), set(known)
    out: dict[str, str | None] = {}
    for name, value in record.items():
        if name in drop_set:
            continue
        if name in personal:
            out[name] = pseudonym(value, personal[name], key)
        elif name not in known_set and is_personal_extra(name, extra_patterns):
            out[name] = pseudonym(value, "text", key)
        else:
            out[name] = value
    return out
