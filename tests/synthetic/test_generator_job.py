"""`rural-risk generate`: same seed same bytes, both engines alike, clear refusals, personal data."""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from jobs import generate
from jobs.context import RunContext
from store.lakehouse import Lakehouse


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    generate.add_arguments(parser)
    return parser.parse_args(list(argv))


def _run(settings, tmp_path: Path, *argv: str, ctx: RunContext | None = None) -> int:
    ctx = ctx or RunContext(settings=settings, lakehouse=Lakehouse(str(tmp_path / "lh")), run_id="t")
    return generate.run(ctx, _args(*argv))


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_another_seed_differs(settings, tmp_path: Path) -> None:
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        _run(settings, tmp_path, "--out", str(tmp_path / name), "--villages", "25", "--years", "2",
             "--seed", seed, "--engine", "local", "--gb18030", "incidents")
    a, b, c = (_hashes(tmp_path / n) for n in "abc")
    assert len(a) > 60 and "_truth/dirty_rows.csv" in a and "_truth/intensity.csv" in a
    assert a == b
    assert a["_truth/intensity.csv"] != c["_truth/intensity.csv"]


def test_spark_engine_writes_the_same_bytes_as_local(ctx, settings, tmp_path: Path) -> None:
    common = ("--villages", "20", "--years", "1", "--seed", "9")
    _run(settings, tmp_path, "--out", str(tmp_path / "local"), *common, "--engine", "local")
    _run(settings, tmp_path, "--out", str(tmp_path / "spark"), *common, "--engine", "spark", ctx=ctx)
    assert _hashes(tmp_path / "local") == _hashes(tmp_path / "spark")


def test_refuses_a_non_empty_out_unless_overwrite(settings, tmp_path: Path) -> None:
    out = tmp_path / "land"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="exists and is not empty"):
        _run(settings, tmp_path, "--out", str(out), "--villages", "5", "--years", "1")
    with pytest.raises(ValueError, match="did not write"):
        _run(settings, tmp_path, "--out", str(out), "--villages", "5", "--years", "1", "--overwrite")
    assert (out / "notes.txt").exists()
    fresh = tmp_path / "fresh"
    _run(settings, tmp_path, "--out", str(fresh), "--villages", "5", "--years", "1")
    _run(settings, tmp_path, "--out", str(fresh), "--villages", "6", "--years", "1", "--overwrite")
    assert '"villages": 6' in (fresh / "_truth" / "summary.json").read_text()
    from jobs.ingest import is_synthetic

    assert is_synthetic(fresh)  # the mark that lets ingest use the development key


@pytest.mark.parametrize(("argv", "message"), [
    (("--start", "2021-03-15"), "first day of a month"),
    (("--gb18030", "patrols"), "not a CSV source"),
    (("--dirty-rate", "0.9"), "between 0 and 0.5"),
])
def test_bad_options_are_one_clear_error(settings, tmp_path: Path, argv, message) -> None:
    base = {"--villages": "5", "--years": "1"}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    with pytest.raises(ValueError, match=message):
        _run(settings, tmp_path, "--out", str(tmp_path / "o"), *flat)


def test_a_count_below_one_is_refused_by_the_parser_in_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        _args("--out", "o", "--villages", "5", "--years", "0")
    assert stopped.value.code == 2
    assert "argument --years: expected a whole number of at least 1, got 0" in capsys.readouterr().err


def _id_ok(number: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(number[:17], weights, strict=True)) % 11]
    return bool(re.fullmatch(r"\d{17}[\dX]", number)) and number[-1] == check


def test_planted_personal_data_has_real_shapes_and_is_all_listed(effects_county: Path, incidents_of) -> None:
    inc = incidents_of(effects_county)
    pv = pd.read_csv(effects_county / "_truth" / "personal_values.csv", dtype=str)
    listed = set(pv["value"])
    with_reporter = inc[inc["reporter_name"] != ""]
    assert len(with_reporter) > 100
    for col in ("reporter_name", "reporter_phone", "reporter_id_number"):
        assert set(with_reporter[col]) <= listed
    assert with_reporter["reporter_phone"].str.fullmatch(r"1\d{10}").all()
    assert with_reporter["reporter_id_number"].map(_id_ok).all()
    assert with_reporter["reporter_id_number"].value_counts().max() >= 3      # repeat reporters
    assert with_reporter["narrative"].str.contains(",").any()               # quoted free text
    in_text = with_reporter.apply(lambda r: r["reporter_phone"] in r["narrative"], axis=1)
    assert in_text.all()
    elderly = with_reporter["reporter_id_number"].str[6:10].astype(int) <= 1961
    tele = with_reporter["category"] == "telecom_fraud"
    assert elderly[tele].mean() > elderly[~tele].mean() + 0.2              # fraud aimed at the elderly
