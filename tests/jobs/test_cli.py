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
