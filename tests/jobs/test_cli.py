from __future__ import annotations

import subprocess
import sys

import pytest

from jobs.cli import COMMANDS, build_parser, main


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: rural-risk {name}" in capsys.readouterr().out


def test_global_options_work_before_and_after_the_command():
    parser = build_parser()
    before = parser.parse_args(["--lakehouse", "/x", "sql", "SELECT 1"])
    after = parser.parse_args(["sql", "SELECT 1", "--lakehouse", "/y", "--profile", "test"])
    assert (before.lakehouse, before.profile) == ("/x", "local")
    assert (after.lakehouse, after.profile) == ("/y", "test")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nothing"], "invalid choice: 'nothing'"),
        (["sql"], "the following arguments are required: query"),
        (["--profile", "nope", "sql", "SELECT 1"], "unknown profile 'nope'"),
        (["sql", "SELECT 1", "--limit", "many"], "--limit: expected a whole number, got 'many'"),
        (["sql", "SELECT 1", "--limit", "-1"], "--limit: expected a whole number of at least 0, got -1"),
        (["report", "--top", "-5"], "--top: expected a whole number of at least 1, got -5"),
        (["pipeline", "--top", "0"], "--top: expected a whole number of at least 1, got 0"),
        (["generate", "--villages", "0", "--years", "2"], "--villages: expected a whole number of at least 1, got 0"),
        (["score", "--as-of", "2023-13-01"], "--as-of: expected a date as YYYY-MM-DD, got '2023-13-01'"),
    ],
)
def test_user_mistakes_give_one_line_and_nonzero_exit(argv, message):
    proc = subprocess.run(
        [sys.executable, "-m", "jobs.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr and "\tat " not in proc.stderr


@pytest.mark.parametrize("command", ["features", "train", "backtest", "score", "allocate", "report",
                                     "promote", "validate", "sql", "maintain"])
def test_a_stage_that_reads_the_lakehouse_refuses_a_folder_that_is_none(command, tmp_path, capsys):
    argv = [command, "SELECT 1"] if command == "sql" else [command]
    missing = tmp_path / "lakehuose"
    assert main(["--lakehouse", str(missing), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"rural-risk: error: no lakehouse at {missing}: the folder does not exist (pass the folder "
        "that holds bronze/, silver/, gold/ and ops/ with --lakehouse, or create one with "
        "`rural-risk ingest` or `rural-risk pipeline`)"
    )
    (missing / "gold" / "notes").mkdir(parents=True)  # a folder, but no Delta table in it
    assert main(["--lakehouse", str(missing), *argv]) == 2
    assert "it holds no Delta table" in capsys.readouterr().err
    assert not (tmp_path / "spark-warehouse").exists()
    from store.lakehouse import Lakehouse

    (missing / "silver" / "villages" / "_delta_log").mkdir(parents=True)
    Lakehouse(str(missing)).check_present()  # one table is enough: the stage names what is missing
    Lakehouse("s3a://bucket/lakehouse").check_present()  # remote roots are left to the stage


def test_one_as_of_rule_in_every_help_and_in_the_readme(capsys):
    from pathlib import Path

    from jobs.arguments import AS_OF_RULE, LANDING_AS_OF_RULE

    def flat(text: str) -> str:
        return " ".join(text.split())

    readme = flat((Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8"))
    assert AS_OF_RULE in readme and LANDING_AS_OF_RULE in readme
    with_as_of, landing = [], []
    for name in COMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = flat(capsys.readouterr().out)
        if "--as-of" in out:
            # one rule or the other, once
            rules = (out.count(AS_OF_RULE), out.count(LANDING_AS_OF_RULE))
            assert rules in ((1, 0), (0, 1)), name
            (landing if rules == (0, 1) else with_as_of).append(name)
    assert {"features", "train", "backtest", "score", "allocate", "pipeline"} <= set(with_as_of)
    assert landing == ["ingest", "check-landing"]
