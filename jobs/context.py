"""Run context shared by the jobs: settings, lakehouse, run id, logging and progress lines."""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from conf import Settings
from store import catalog
from store.lakehouse import Lakehouse

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STAGE_PROPERTY = "rural_risk.stage"
LOG_FORMAT = "%(asctime)s %(levelname)s [run %(run_id)s] %(name)s: %(message)s"


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC start time plus a random suffix."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


class _RunIdFilter(logging.Filter):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = getattr(record, "run_id", self.run_id)
        return True


def setup_logging(run_id: str, verbose: bool = False) -> None:
    """Log lines to stderr, each carrying the run id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
    handler.addFilter(_RunIdFilter(run_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("py4j", "great_expectations", "matplotlib", "urllib3", "numexpr"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from jobs.spark import quiet_spark_python_loggers  # no JVM: it only sets a logger's level

    quiet_spark_python_loggers()


@dataclass
class Stage:
    """One progress line at the start and one at the end of a stage, with rows and time."""

    name: str
    log: logging.Logger
    rows: int | None = None
    detail: str = ""
    started: float = field(default_factory=time.monotonic)

    def done(self, rows: int | None = None, detail: str = "") -> None:
        if rows is not None:
            self.rows = rows
        if detail:
            self.detail = detail


def spark_progress(spark: SparkSession) -> str | None:
    """Tasks done out of the tasks of Spark's active stages, or None when nothing runs."""
    tracker = spark.sparkContext.statusTracker()
    infos = [i for i in (tracker.getStageInfo(s) for s in tracker.getActiveStageIds()) if i is not None]
    if not infos:
        return None
    total = sum(i.numTasks for i in infos)
    done = sum(i.numCompletedTasks for i in infos)
    running = sum(i.numActiveTasks for i in infos)
    return f"{done}/{total} Spark tasks done, {running} running"


@dataclass
class RunContext:
    """What every job receives: settings, lakehouse, run id, a logger and a lazy SparkSession."""

    settings: Settings
    lakehouse: Lakehouse
    run_id: str
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("rural-risk"))
    _spark: SparkSession | None = None
    _stages: list[Stage] = field(default_factory=list)
    _progress_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            from jobs.spark import build_spark

            with self.stage("start Spark") as st:
                self._spark = build_spark(self.settings)
                st.done(detail=f"lakehouse {self.lakehouse.root}")
        return self._spark

    def attach(self, spark: SparkSession) -> RunContext:
        """Use an existing session (tests, pipeline)."""
        self._spark = spark
        return self

    def register_tables(self) -> list[str]:
        """Put every lakehouse table in the session catalog by name (layer.table) for SQL.
        Jobs read and write by path and never need it; it costs a Delta snapshot per table."""
        with self.stage("register tables") as st:
            names = self.lakehouse.register_all(self.spark)
            st.done(detail=f"{len(names)} tables registered from {self.lakehouse.root}")
        return names

    def resolve_as_of(self, as_of: date | None, today: date | None = None) -> date:
        """The run's as-of date: the one given, else the end of the latest period holding an
        incident report, but never later than today (a period still running is not complete)."""
        if as_of is not None:
            return as_of
        from pyspark.sql import functions as F

        from features.periods import next_period, period_start

        if not self.lakehouse.exists(self.spark, catalog.SILVER_INCIDENTS):
            raise ValueError("no as-of date given and silver.incidents is empty: run ingest first")
        latest = (
            self.lakehouse.read(self.spark, catalog.SILVER_INCIDENTS)
            .agg(F.max(F.to_date("reported_at")).alias("d"))
            .first()["d"]
        )
        if latest is None:
            raise ValueError("no as-of date given and silver.incidents holds no rows")
        grain = str(self.settings.get("period", "month"))
        end_of_latest = next_period(period_start(latest, grain), grain)
        return min(end_of_latest, today or date.today())

    @property
    def progress_seconds(self) -> float:
        """How often a running stage logs Spark's task progress (0 turns it off)."""
        return float(self.settings.get("progress_seconds", 30))

    def _watch(self, st: Stage, stop: threading.Event) -> None:
        """While `st` is the innermost stage, log task progress when it changed."""
        last = None
        while not stop.wait(self.progress_seconds):
            # Under the lock, so no progress line can follow the stage's own "done" line.
            with self._progress_lock:
                if stop.is_set():
                    return
                if self._spark is None or not self._stages or self._stages[-1] is not st:
                    continue
                try:
                    line = spark_progress(self._spark)
                except Exception:  # the session is stopping; progress is best effort
                    return
                if line is not None and line != last:
                    self.log.info("%s: %s (%.0fs so far)", st.name, line, time.monotonic() - st.started)
                    last = line

    def _tag_spark_jobs(self, name: str | None) -> str | None:
        """Name the Spark jobs of this thread after the running stage (the Spark UI and event
        log show it as the local property `rural_risk.stage`); returns the previous name."""
        if self._spark is None:
            return None
        sc = self._spark.sparkContext
        previous = sc.getLocalProperty(STAGE_PROPERTY)
        sc.setLocalProperty(STAGE_PROPERTY, name)  # None clears it
        return previous

    @contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        st = Stage(name=name, log=self.log)
        self.log.info("%s: started", name)
        self._stages.append(st)
        stop = threading.Event()
        outer = self._tag_spark_jobs(name)
        if self.progress_seconds > 0:
            threading.Thread(target=self._watch, args=(st, stop), daemon=True,
                             name=f"progress-{name}").start()
        try:
            yield st
        except BaseException:
            self.log.error("%s: failed after %.1fs", name, time.monotonic() - st.started)
            raise
        finally:
            with self._progress_lock:
                stop.set()
                self._stages.remove(st)
            self._tag_spark_jobs(outer)
        parts = [f"done in {time.monotonic() - st.started:.1f}s"]
        if st.rows is not None:
            parts.append(f"{st.rows:,} rows")
        if st.detail:
            parts.append(st.detail)
        self.log.info("%s: %s", name, ", ".join(parts))
