"""Synthetic personal data planted in incidents: names, 11-digit phones and 18-digit ID numbers.

ID numbers have the real shape (6-digit region code, birth date, sequence with sex parity,
ISO 7064 MOD 11-2 check character) so a pseudonymizer cannot rely on them looking fake.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


def id_check_char(first17: str) -> str:
    """The check character of a resident ID number from its first 17 digits."""
    return str(ID_CHECK[int(np.dot(ID_WEIGHTS, [int(c) for c in first17])) % 11])


def _digits(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.array(["".join(map(str, row)) for row in rng.integers(0, 10, (n, k))]) if n else np.array([], str)


def people(rng: np.random.Generator, region: np.ndarray, elderly: np.ndarray, start_year: int,
           p: dict[str, Any]) -> pd.DataFrame:
    """One synthetic resident per entry of `region` (6-digit code); `elderly` = 60+ at the start."""
    n = len(region)
    surn, given = np.array(list(p["surnames"])), np.array(list(p["given_chars"]))
    names = np.char.add(np.char.add(rng.choice(surn, n), rng.choice(given, n)), rng.choice(given, n))
    phones = np.char.add(rng.choice(np.array(p["phone_prefixes"]), n), _digits(rng, n, 8))
    lo, hi = p["birth_years"]
    cut = start_year - 60
    years = np.where(elderly, rng.integers(lo, cut + 1, n), rng.integers(cut + 1, hi + 1, n))
    days = rng.integers(0, 365, n)
    births = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]") + days
    birth_str = np.char.replace(births.astype(str), "-", "")
    male = rng.random(n) < 0.5
    seq = rng.integers(0, 500, n) * 2 + male
    first17 = [f"{r}{b}{s:03d}" for r, b, s in zip(region, birth_str, seq, strict=True)]
    ids = [f + id_check_char(f) for f in first17]
    return pd.DataFrame({"name": names, "phone": phones, "id_number": ids, "elderly": elderly})
