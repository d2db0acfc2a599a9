"""jobs/pipeline.py without Spark: its arguments, and the order of the stages `run` calls (each
stage replaced by a recorder, so nothing reads or writes a lakehouse)."""

from __future__ import annotations

import argparse
from datetime import date
from types import SimpleNamespace

import pytest

from jobs import pipeline

AS_OF = date(2024, 3, 31)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rural-risk pipeline")
    pipeline.add_arguments(parser)
    return parser


def test_arguments_defaults_and_mistakes(capsys):
    args = _parser().parse_args(["--landing", "/data/landing"])
    assert vars(args) == {"landing": "/data/landing", "as_of": None, "skip_train": False, "top": 10}
    args = _parser().parse_args(["--landing", "x", "--as-of", "2024-03-31", "--skip-train", "--top", "1"])
    assert (args.as_of, args.skip_train, args.top) == (AS_OF, True, 1)
    for argv, message in (
        ([], "the following arguments are required: --landing"),
        (["--landing", "x", "--top", "0"], "argument --top: expected a whole number of at least 1, got 0"),
        (["--landing", "x", "--as-of", "31/03/2024"],
         "argument --as-of: expected a date as YYYY-MM-DD, got '31/03/2024'"),
    ):
        with pytest.raises(SystemExit):
            _parser().parse_args(argv)
        assert capsys.readouterr().err.strip().splitlines()[-1] == f"rural-risk pipeline: error: {message}"
    assert pipeline.WRITES_LAKEHOUSE is True  # jobs/cli.py takes the write lock for it


@pytest.fixture()
def calls(monkeypatch) -> SimpleNamespace:
    """Every stage `run` imports, replaced by one that records (stage, arguments) in `log`;
    `failed` holds the sources the next ingest reports as failed."""
    import jobs.allocate
    import jobs.features
    import jobs.ingest
    import jobs.promote
    import jobs.report
    import jobs.score
    import jobs.train

    log: list[tuple] = []
    failed: list[str] = []

    def ingest(ctx, landing):
        log.append(("ingest", landing))
        return SimpleNamespace(failed_sources=list(failed))

    def stage(name, result=None):
        def call(ctx, as_of=None):
            log.append((name, as_of))
            return result
        return call

    monkeypatch.setattr(jobs.ingest, "ingest", ingest)
    monkeypatch.setattr(jobs.features, "build_features", stage("features"))
    monkeypatch.setattr(jobs.train, "train", stage("train"))
    monkeypatch.setattr(jobs.promote, "promote", stage("promote", "promoted: gbm"))
    monkeypatch.setattr(jobs.score, "score", stage("score"))
    monkeypatch.setattr(jobs.allocate, "allocate", stage("allocate"))
    monkeypatch.setattr(jobs.report, "report", lambda ctx: log.append(("report",)) or "/reports/index.html")
    monkeypatch.setattr(pipeline, "print_summary",
                        lambda ctx, top, report_path: log.append(("summary", top, report_path)))
    return SimpleNamespace(log=log, failed=failed)


def test_every_stage_in_order_with_the_one_as_of(calls, tmp_path, capsys):
    args = _parser().parse_args(["--landing", str(tmp_path), "--as-of", "2024-03-31", "--top", "3"])
    assert pipeline.run(object(), args) == 0
    assert calls.log == [
        ("ingest", str(tmp_path)), ("features", AS_OF), ("train", AS_OF), ("promote", AS_OF),
        ("score", AS_OF), ("allocate", AS_OF), ("report",), ("summary", 3, "/reports/index.html"),
    ]
    assert capsys.readouterr().out == "promoted: gbm\n"  # promote's verdict is printed


def test_skip_train_scores_with_the_champion_and_failed_sources_exit_1(calls, tmp_path, capsys):
    calls.failed.append("patrols")
    args = _parser().parse_args(["--landing", str(tmp_path), "--skip-train"])
    assert pipeline.run(object(), args) == 1  # a source failed its batch: the run says so
    assert [c[0] for c in calls.log] == ["ingest", "features", "score", "allocate", "report", "summary"]
    assert calls.log[1] == ("features", None) and calls.log[-1] == ("summary", 10, "/reports/index.html")
    assert capsys.readouterr().out == ""


def test_a_landing_that_is_not_a_folder_stops_before_any_stage(calls, tmp_path):
    missing, file = tmp_path / "landnig", tmp_path / "export.csv"
    file.write_text("x\n", encoding="utf-8")
    for path in (missing, file):
        args = _parser().parse_args(["--landing", str(path)])
        with pytest.raises(FileNotFoundError) as err:
            pipeline.run(object(), args)
        assert str(err.value) == f"landing folder {path} does not exist or is not a folder"
    assert calls.log == []
