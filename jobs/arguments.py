"""Command-line arguments shared by several `rural-risk` stages."""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def iso_date(text: str) -> date:
    """argparse type for a calendar date written YYYY-MM-DD, with a one-line error otherwise
    (Python also reads 20240101 and 2024-W10-1 as dates: refused, the help promises YYYY-MM-DD)."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got '{text}'") from None


def count(minimum: int):
    """argparse type for a whole number of at least `minimum`, checked before Spark starts."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {value}")
        return value

    parse.__name__ = "count"
    return parse


# The one as-of rule: README states it in these words and every --as-of help ends with it
# (tests/jobs/test_cli.py checks both).
AS_OF_RULE = (
    "The as-of date is the run date: a stage uses the periods that ended on or before it, "
    "and a forecast or plan is for the period that follows the last of them. "
    "Without --as-of it is the end of the latest period holding an incident report, "
    "never later than today."
)


def add_as_of(parser: argparse.ArgumentParser, use: str) -> None:
    """The run date every scheduled stage takes (Airflow passes its data interval's end);
    `use` says in a few words what this stage does with it, the rule follows."""
    parser.add_argument(
        "--as-of", type=iso_date, default=None, metavar="YYYY-MM-DD",
        help=f"{use.rstrip('.')}. {AS_OF_RULE}",
    )


# The as-of rule of the commands that read the landing zone (README states it too).
LANDING_AS_OF_RULE = (
    "For ingest and check-landing the as-of date is the run date too: timestamps after the end "
    "of that day, in the settings' time zone, are quarantined as future_timestamp. Without "
    "--as-of the limit is the time the command runs."
)


def add_ingest_as_of(parser: argparse.ArgumentParser) -> None:
    """The run date of the commands that read the landing zone (ingest, check-landing)."""
    parser.add_argument(
        "--as-of", type=iso_date, default=None, metavar="YYYY-MM-DD",
        help=("makes a run repeatable; not for a backfill of old dates, since files are read once "
              f"and records dated after the given day would be refused for good. {LANDING_AS_OF_RULE}"),
    )


def end_of_day(day: date, zone: str) -> datetime:
    """The last instant of `day` in the time zone `zone`, in UTC: what 'not in the future'
    means for a run dated `day`."""
    following = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(zone))
    return (following - timedelta(microseconds=1)).astimezone(ZoneInfo("UTC"))


def add_force(parser: argparse.ArgumentParser) -> None:
    """Stages that skip work whose inputs did not change (jobs/reuse.py) can be told not to."""
    parser.add_argument(
        "--force", action="store_true",
        help="recompute even when the outputs already hold the result of the same inputs",
    )
