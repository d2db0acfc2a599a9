"""Command-line arguments shared by several `rural-risk` stages."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """argparse type for a calendar date written YYYY-MM-DD, with a one-line error otherwise."""
    try:
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


def add_as_of(parser: argparse.ArgumentParser, help: str) -> None:
    """The run date every scheduled stage takes (Airflow passes its data interval's end)."""
    parser.add_argument("--as-of", type=iso_date, default=None, metavar="YYYY-MM-DD", help=help)


def add_force(parser: argparse.ArgumentParser) -> None:
    """Stages that skip work whose inputs did not change (jobs/reuse.py) can be told not to."""
    parser.add_argument(
        "--force", action="store_true",
        help="recompute even when the outputs already hold the result of the same inputs",
    )
