"""jobs/arguments.py: the shared argparse types and options (dates, counts, --as-of, --force),
checked on a parser of the test's own, without Spark."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from jobs.arguments import AS_OF_RULE, add_as_of, add_force, count, iso_date


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stage")
    add_as_of(parser, "the stage uses this date.")
    add_force(parser)
    parser.add_argument("--top", type=count(1), default=10)
    parser.add_argument("--limit", type=count(0), default=0)
    return parser


def _error(parser: argparse.ArgumentParser, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_iso_date_reads_calendar_dates_and_refuses_impossible_ones():
    assert iso_date("2024-02-29") == date(2024, 2, 29)  # 2024 is a leap year
    # 20240101 and 2024-W10-1 are ISO 8601 too (date.fromisoformat reads them): not the promised shape
    for text in ("2023-02-29", "2024-13-01", "2024/01/31", "31-01-2024", "", "today", "20240101", "2024-W10-1"):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            iso_date(text)
        assert str(err.value) == f"expected a date as YYYY-MM-DD, got '{text}'"
        assert err.value.__cause__ is None  # `from None`: no chained ValueError in the message


def test_count_checks_whole_numbers_and_the_minimum():
    at_least_one = count(1)
    assert at_least_one.__name__ == "count"
    assert [at_least_one(t) for t in ("1", "10", "+7", " 3 ")] == [1, 10, 7, 3]  # int() trims blanks
    with pytest.raises(argparse.ArgumentTypeError, match=r"^expected a whole number of at least 1, got 0$"):
        at_least_one("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^expected a whole number of at least 1, got -5$"):
        at_least_one("-5")
    for text in ("1.0", "1e3", "ten", ""):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            at_least_one(text)
        assert str(err.value) == f"expected a whole number, got '{text}'"
    assert count(0)("0") == 0  # the minimum itself is allowed
    assert count(-3)("-3") == -3


def test_a_parser_with_the_shared_options(capsys):
    parser = _parser()
    defaults = parser.parse_args([])
    assert (defaults.as_of, defaults.force, defaults.top, defaults.limit) == (None, False, 10, 0)
    given = parser.parse_args(["--as-of", "2024-03-31", "--force", "--top", "3"])
    assert (given.as_of, given.force, given.top) == (date(2024, 3, 31), True, 3)
    # argparse puts the option before the type's own message, on one line
    assert _error(parser, ["--top", "0"], capsys) == (
        "stage: error: argument --top: expected a whole number of at least 1, got 0")
    assert _error(parser, ["--as-of", "2024-02-30"], capsys) == (
        "stage: error: argument --as-of: expected a date as YYYY-MM-DD, got '2024-02-30'")


def test_as_of_help_is_the_stage_use_then_the_one_rule():
    parser = argparse.ArgumentParser()
    add_as_of(parser, "risk is for the next period.")  # the trailing dot is not doubled
    other = argparse.ArgumentParser()
    add_as_of(other, "plans the period after it")
    (action,) = [a for a in parser._actions if a.dest == "as_of"]
    (plain,) = [a for a in other._actions if a.dest == "as_of"]
    assert action.help == f"risk is for the next period. {AS_OF_RULE}"
    assert plain.help == f"plans the period after it. {AS_OF_RULE}"
    assert (action.metavar, action.default, action.type) == ("YYYY-MM-DD", None, iso_date)
    assert AS_OF_RULE.count("Without --as-of") == 1
