"""`rural-risk`: one command line for every stage of the pipeline."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
import traceback

from conf import ConfigError, available_profiles, load_settings
from jobs.context import RunContext, new_run_id, setup_logging
from store.lakehouse import Lakehouse

# Subcommand -> job module. Each module has HELP, add_arguments(parser) and run(ctx, args).
COMMANDS = {
    "generate": "jobs.generate",
    "ingest": "jobs.ingest",
    "check-landing": "jobs.check_landing",
    "validate": "jobs.validate",
    "features": "jobs.features",
    "backtest": "jobs.backtest",
    "train": "jobs.train",
    "promote": "jobs.promote",
    "score": "jobs.score",
    "allocate": "jobs.allocate",
    "report": "jobs.report",
    "pipeline": "jobs.pipeline",
    "sql": "jobs.sql",
    "maintain": "jobs.maintain",
    "sql-server": "jobs.sql_server",
}


class CliError(Exception):
    """A user mistake worth one clear line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, not a usage dump
        raise CliError(f"{self.prog}: {message} (see --help)")


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    d = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    parser.add_argument(
        "--lakehouse", default=d("lakehouse"), metavar="DIR",
        help="lakehouse root folder or URI (default: ./lakehouse)",
    )
    parser.add_argument(
        "--profile", default=d("local"), metavar="NAME",
        help=f"settings profile from conf/profiles ({', '.join(available_profiles())}; default: local)",
    )
    parser.add_argument(
        "--run-id", default=d(None), metavar="ID",
        help="run id carried by every log line and table row (default: new one)",
    )
    parser.add_argument("--debug", action="store_true", default=d(False), help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true", default=d(False), help="debug logs")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rural-risk",
        description=(
            "Batch analytics for rural public security: ingest the landing zone into a Delta "
            "lakehouse, build village risk features, train and backtest risk models, score the "
            "next period, plan patrols and write the command-centre report."
        ),
    )
    _global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            # A stage not present in this checkout: listed, and refused with one clear line.
            p = sub.add_parser(name, help=f"(not available: {module_name} is missing)")
            p.set_defaults(_module=module_name)
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        _global_options(p, defaults=False)  # global options are accepted after the command too
        module.add_arguments(p)
        p.set_defaults(_module=module_name)
    return parser


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    first = lines[0] if lines else exc.__class__.__name__
    # Spark errors carry a JVM stack trace after the message; keep the message only.
    return first.split("\n\tat ")[0][:2000]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        run_id = args.run_id or new_run_id()
        settings = load_settings(args.profile)
        from features.periods import check_grain

        check_grain(str(settings.get("period", "month")))  # a wrong grain: one line, before Spark
        os.environ["TZ"] = settings.timezone  # log times in the deployment's zone, like Spark's
        time.tzset()
        setup_logging(run_id, verbose=args.verbose)
        ctx = RunContext(settings=settings, lakehouse=Lakehouse(args.lakehouse), run_id=run_id)
        module = importlib.import_module(args._module)
        if getattr(module, "READS_LAKEHOUSE", False):
            ctx.lakehouse.check_present()  # a mistyped --lakehouse: one line, no Spark session
        writes = getattr(module, "WRITES_LAKEHOUSE", False)
        if callable(writes):
            writes = writes(args)
        if not writes:
            return int(module.run(ctx, args) or 0)
        # Writers of one lakehouse run one at a time (the lock is taken before Spark starts).
        with ctx.lakehouse.write_lock(f"rural-risk {args.command} (run {run_id})", ctx.log):
            return int(module.run(ctx, args) or 0)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rural-risk: interrupted", file=sys.stderr)
        return 130
    except (ConfigError, ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        if debug:
            traceback.print_exc()
        print(f"rural-risk: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # Spark and anything unforeseen: one line, traceback on --debug
        if debug:
            traceback.print_exc()
        logging.getLogger("rural-risk").debug("unhandled error", exc_info=True)
        print(
            f"rural-risk: error: {exc.__class__.__name__}: {_one_line(exc)} "
            "(run again with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    # Run as a script (`spark-submit jobs/cli.py ...`, Airflow): Python put jobs/ first on
    # sys.path, where jobs/features.py would shadow the features package.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    raise SystemExit(main())
