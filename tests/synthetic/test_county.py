"""synthetic/county.py on its own: the request checks at their limits, the --out folder rules,
the truth merge and the summary (hand-made shard parts; no shard is simulated here)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from synthetic import load_params
from synthetic.county import (
    CSV_SOURCES,
    TRUTH_FILES,
    Request,
    check_request,
    merge_truth,
    n_shards,
    prepare_out,
    summarize,
)


def _req(tmp_path: Path, **kw) -> Request:
    base = Request(out=tmp_path / "out", villages=10, years=1, seed=3, start=date(2021, 1, 1), dirty_rate=0.01)
    return replace(base, **kw)


def test_csv_sources_are_every_source_but_the_jsonl_patrols() -> None:
    assert CSV_SOURCES == ("villages", "population", "incidents", "organizations", "resources", "survey")


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_the_dirty_rate_limits_are_accepted(tmp_path: Path, rate: float) -> None:
    req = _req(tmp_path, dirty_rate=rate, gb18030=("villages", "survey"))
    assert check_request(req) is req


@pytest.mark.parametrize(("change", "message"), [
    ({"villages": 0}, "--villages must be at least 1, got 0"),
    ({"years": 0}, "--years must be at least 1, got 0"),
    ({"dirty_rate": -0.01}, "--dirty-rate must be between 0 and 0.5, got -0.01"),
    ({"dirty_rate": 0.51}, "--dirty-rate must be between 0 and 0.5, got 0.51"),
    ({"start": date(2021, 2, 2)}, "--start must be the first day of a month, got 2021-02-02"),
    ({"gb18030": ("survey", "weather", "patrols")},
     "--gb18030: patrols, weather is not a CSV source; expected some of villages, population, incidents, "
     "organizations, resources, survey"),
])
def test_each_bad_value_is_one_exact_message(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        check_request(_req(tmp_path, **change))
    assert str(err.value) == message


def test_prepare_out_makes_missing_folders_and_keeps_an_empty_one(tmp_path: Path) -> None:
    prepare_out(tmp_path / "a" / "b", overwrite=False)
    assert (tmp_path / "a" / "b").is_dir()
    prepare_out(tmp_path / "a" / "b", overwrite=False)  # empty: fine without --overwrite


def test_prepare_out_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        prepare_out(tmp_path / "f", overwrite=True)


def test_overwrite_empties_a_folder_the_generator_wrote(tmp_path: Path) -> None:
    out = tmp_path / "land"
    (out / "_truth").mkdir(parents=True)
    (out / "incidents").mkdir()
    (out / "incidents" / "old.csv").write_text("x")
    prepare_out(out, overwrite=True)
    assert out.is_dir() and list(out.iterdir()) == []


def _part(out: Path, name: str, shard: int, text: str) -> None:
    p = out / "_truth" / "_parts" / name / f"s{shard:04d}.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode("utf-8"))


def test_merge_truth_concatenates_parts_in_shard_order_with_one_header(tmp_path: Path) -> None:
    for name in TRUTH_FILES:
        # written out of order on purpose: the merge goes by shard number
        _part(tmp_path, name, 1, f"h_{name}\nb1\nb2\n")
        _part(tmp_path, name, 0, f"h_{name}\na1\n")
        _part(tmp_path, name, 2, f"h_{name}\n")  # a shard without rows
    merge_truth(tmp_path, 3)
    for name in TRUTH_FILES:
        assert (tmp_path / "_truth" / f"{name}.csv").read_text(encoding="utf-8") == f"h_{name}\na1\nb1\nb2\n"
    assert not (tmp_path / "_truth" / "_parts").exists()
    assert sorted(p.name for p in (tmp_path / "_truth").iterdir()) == sorted(f"{n}.csv" for n in TRUTH_FILES)


def test_merge_truth_fails_on_a_missing_part(tmp_path: Path) -> None:
    for name in TRUTH_FILES:
        _part(tmp_path, name, 0, "h\n")
    with pytest.raises(FileNotFoundError):
        merge_truth(tmp_path, 2)


def test_summary_adds_the_shards_rows_and_dirty_counts(tmp_path: Path) -> None:
    (tmp_path / "_truth").mkdir()
    req = _req(tmp_path, gb18030=("incidents",), start=date(2022, 3, 1))
    results = [{"shard": 0, "rows": {"villages": 3, "incidents": 10}, "dirty": 2},
               {"shard": 1, "rows": {"incidents": 5, "patrols": 7}, "dirty": 1}]
    summary = summarize(tmp_path, req, results)
    assert summary == {
        "synthetic": True, "generator": "rural-risk generate", "villages": 10, "years": 1, "seed": 3,
        "start": "2022-03-01", "dirty_rate": 0.01, "gb18030": ["incidents"], "shards": 2,
        "landing_lines": {"incidents": 15, "patrols": 7, "villages": 3}, "dirty_rows": 3,
    }
    written = (tmp_path / "_truth" / "summary.json").read_text(encoding="utf-8")
    assert json.loads(written) == summary and written.endswith("}\n")
    assert list(json.loads(written)["landing_lines"]) == ["incidents", "patrols", "villages"]  # sorted


def test_shards_follow_shard_townships(tmp_path: Path) -> None:
    # 40 villages -> 2 townships (40 / 16 = 2.5 rounds to 2); 24 townships a shard -> 1 shard,
    # 1 a shard -> 2 shards
    assert n_shards(_req(tmp_path, villages=40), load_params()) == 1
    assert n_shards(_req(tmp_path, villages=40), load_params(overrides={"engine": {"shard_townships": 1}})) == 2
