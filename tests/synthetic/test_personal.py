"""synthetic/personal.py on its own: the ID check character and the shape of planted residents."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from synthetic import load_params
from synthetic.geography import rng_for
from synthetic.personal import _digits, id_check_char, people


@pytest.mark.parametrize(("first17", "check"), [
    # the standard's example: sum of digit x weight = 167, 167 mod 11 = 2 -> "10X98765432"[2] = X
    ("11010519491231002", "X"),
    # 7 + 36 + 5 + 4 + 2 + 9 + 48 + 9 + 5 + 2 = 127, 127 mod 11 = 6 -> "6"
    ("14010119800101001", "6"),
    # all zeros: sum 0 -> "1"
    ("00000000000000000", "1"),
])
def test_id_check_char(first17: str, check: str) -> None:
    assert id_check_char(first17) == check


def test_digits_are_fixed_width_strings() -> None:
    d = _digits(rng_for(1, 0), 50, 8)
    assert len(d) == 50 and all(len(x) == 8 and x.isdigit() for x in d)
    assert len(set(d)) > 45
    assert _digits(rng_for(1, 0), 0, 8).tolist() == []


def test_people_have_real_shapes_and_the_asked_ages() -> None:
    p = load_params()["personal"]
    region = np.array(["140101"] * 30 + ["140102"] * 30)
    elderly = np.arange(60) % 2 == 0
    ppl = people(rng_for(5, 0), region, elderly, 2021, p)
    assert list(ppl.columns) == ["name", "phone", "id_number", "elderly"] and len(ppl) == 60
    assert ppl["elderly"].tolist() == elderly.tolist()
    assert all(len(n) == 3 and n[0] in p["surnames"] and set(n[1:]) <= set(p["given_chars"]) for n in ppl["name"])
    assert all(len(x) == 11 and x[:3] in p["phone_prefixes"] and x.isdigit() for x in ppl["phone"])
    ids = ppl["id_number"]
    assert (ids.str[:6] == region).all() and ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert all(id_check_char(x[:17]) == x[17] for x in ids)
    births = [date(int(x[6:10]), int(x[10:12]), int(x[12:14])) for x in ids]  # a real calendar day
    years = np.array([b.year for b in births])
    # 60+ at the start of 2021: born 1940..1961; the others 1962..2005
    assert years[elderly].min() >= 1940 and years[elderly].max() <= 1961
    assert years[~elderly].min() >= 1962 and years[~elderly].max() <= 2005
    again = people(rng_for(5, 0), region, elderly, 2021, p)
    assert again.equals(ppl)
