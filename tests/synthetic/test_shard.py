"""synthetic/shard.py on its own: file tags and year files, and one shard of a two-shard county
written in-process: only its own villages, its own file names, line counts that match what it
reports, and truth parts of the right size."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthetic import code_labels, load_params
from synthetic.geography import build_county, plan_survey
from synthetic.shard import COLUMNS, SOURCES, _at, _personal, _tag, _year_files, generate_shard


def test_tag_and_local_timestamps() -> None:
    assert _tag(0) == "s0000" and _tag(12) == "s0012" and _tag(12345) == "s12345"
    days = np.array(["2021-01-01", "2021-12-31"], "datetime64[D]")
    assert _at(days).tolist() == ["2021-01-01 09:00:00", "2021-12-31 09:00:00"]
    assert _at(days[:1], "16:30:00").tolist() == ["2021-01-01 16:30:00"]


def test_year_files_put_rows_before_the_start_in_the_first_year() -> None:
    frame = pd.DataFrame({"org_id": ["B", "A", "C", "D"],
                          "_when": np.array(["2021-03-01", "2019-05-01", "2022-01-01", "2021-03-01"], "datetime64[D]")})
    got = [(rel, f["org_id"].tolist()) for rel, f in _year_files(frame, np.datetime64("2021-01-01"), "organizations", 3)]
    # 2019 lands in 2021; within a file by _when, then by the first column
    assert got == [("organizations/2021/organizations_2021_s0003.csv", ["A", "B", "D"]),
                   ("organizations/2022/organizations_2022_s0003.csv", ["C"])]


def test_personal_values_are_unique_and_sorted() -> None:
    inc = pd.DataFrame({"reporter_name": ["王伟", "", "李强", "王伟"], "reporter_phone": ["139", "", "130", "139"],
                        "reporter_id_number": ["", "", "X1", ""]})
    assert _personal(inc).values.tolist() == [["id_number", "X1"], ["name", "李强"], ["name", "王伟"],
                                              ["phone", "130"], ["phone", "139"]]


@pytest.fixture(scope="module")
def two_shards(tmp_path_factory):
    """40 villages in 2 townships, 1 township a shard; shard 1 written for one clean year."""
    params = load_params(overrides={"engine": {"shard_townships": 1}})
    county = plan_survey(build_county(7, 40, params), 7, 1, params)
    out = tmp_path_factory.mktemp("shard")
    result = generate_shard(county, 1, 7, date(2021, 1, 1), 1, params, out, 0.0, {}, code_labels(), truncate_shard=1)
    return county, out, result


def _landing(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and "_truth" not in p.parts)


def test_a_shard_writes_only_its_own_villages_and_files(two_shards) -> None:
    county, out, result = two_shards
    v = county.villages
    assert county.n_shards == 2 and (v["shard"] == v["township_index"]).all()
    own = set(v.loc[v["shard"] == 1, "village_id"])
    assert len(own) == 17 and all(x.startswith("140101002") for x in own)  # township 2: 40 - 23 villages
    files = _landing(out)
    assert {p.relative_to(out).parts[0] for p in files} == set(SOURCES)
    assert all(p.stem.endswith("_s0001") for p in files)
    villages = pd.read_csv(out / "villages" / "villages_s0001.csv", dtype=str)
    assert list(villages.columns) == COLUMNS["villages"] and set(villages["village_id"]) == own
    assert len(villages) == 17
    for p in files:
        if p.suffix == ".csv":
            ids = set(pd.read_csv(p, dtype=str, keep_default_na=False)["village_id"]) - {""}
        else:
            ids = {json.loads(line)["village_id"] for line in p.read_text(encoding="utf-8").splitlines()}
        assert ids <= own, p


def test_reported_counts_match_the_files(two_shards) -> None:
    _, out, result = two_shards
    assert result["shard"] == 1 and set(result["rows"]) == set(SOURCES)
    lines: dict[str, int] = {}
    for p in _landing(out):
        text = p.read_text(encoding="utf-8")
        # a clean run (dirty rate 0) truncates nothing, even in the shard asked to truncate
        assert text.endswith("\n"), p
        n = text.count("\n") - (1 if p.suffix == ".csv" else 0)
        source = p.relative_to(out).parts[0]
        lines[source] = lines.get(source, 0) + n
    assert lines == result["rows"]
    # no planted dirt; the listed rows are the invalid questionnaires, dirty by nature
    dirty = pd.read_csv(out / "_truth/_parts/dirty_rows/s0001.csv", dtype=str)
    assert len(dirty) == result["dirty"] and set(dirty["kind"]) <= {"invalid_response"}


def test_truth_parts_cover_the_shard(two_shards) -> None:
    county, out, _ = two_shards
    own = county.villages.loc[county.villages["shard"] == 1, "village_id"]
    parts = out / "_truth" / "_parts"
    truth_v = pd.read_csv(parts / "villages/s0001.csv", dtype={"village_id": str})
    assert truth_v["village_id"].tolist() == own.tolist()
    intensity = pd.read_csv(parts / "intensity/s0001.csv", dtype={"village_id": str})
    # 17 villages x 12 months, sorted by village and month; the total is the sum of the 15 categories
    assert len(intensity) == 17 * 12 and intensity["period_start"].nunique() == 12
    assert intensity[["village_id", "period_start"]].equals(
        intensity[["village_id", "period_start"]].sort_values(["village_id", "period_start"]))
    cats = intensity.columns[3:]
    assert len(cats) == 15
    assert (intensity[cats].sum(axis=1) - intensity["expected_total"]).abs().max() < 1e-3
    counts = pd.read_csv(parts / "counts/s0001.csv", dtype={"village_id": str})
    assert set(counts["village_id"]) <= set(own) and (counts["recorded_count"] <= counts["true_count"]).all()
    personal = pd.read_csv(parts / "personal_values/s0001.csv", dtype=str)
    assert set(personal["kind"]) == {"name", "phone", "id_number"}
