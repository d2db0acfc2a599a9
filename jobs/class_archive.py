"""A class-data-sharing archive of the Spark driver JVM: classes loaded once, mapped by every start.

A Spark driver loads and verifies some twenty thousand classes (Spark SQL, Delta, Hadoop,
Parquet) before its first query. The JVM can write the classes an application loaded into an
archive when it exits (`-XX:ArchiveClassesAtExit`, JDK 13+) and map that archive on later starts
(`-XX:SharedArchiveFile`) instead of reading and verifying them again. A features full rebuild
of the test county took 0.90x the wall and 0.93x the CPU with the archive (medians of 2,
benchmarks/spark_settings_ab.py; docs/benchmarks.md "JIT compiler, collector and class-data
sharing on short JVMs").

`make setup` builds the archive (`python -m jobs.class_archive`): a small Delta workload
(jobs/class_archive_workload.py: create, append, MERGE, replaceWhere, reads with joins, windows
and aggregates, Arrow round trips) runs in a JVM started with ArchiveClassesAtExit. The archive is named after what it depends on (the
Java runtime, pyspark's jars, the Delta jar set), so a new JDK, a reinstalled pyspark or another
Delta version simply finds no archive and starts as before. `spark_conf` (jobs/spark.py) adds
the option to the driver when the profile's `spark.class_archive` is true and the archive
exists; nothing depends on it but start-up time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conf import PROJECT_ROOT, Settings, load_settings

FOLDER = PROJECT_ROOT / ".cache" / "jvm"
# A link to the archive of the latest build, for spark-submit commands made without pyspark
# at hand (the Airflow DAGs, airflow_dags/rural_risk_common.py). A JVM checks an archive's
# header and class path itself: a stale link costs a one-line warning, not a failure.
CURRENT = "current.jsa"


def _java() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    found = Path(home) / "bin" / "java" if home else shutil.which("java")
    return Path(found).resolve() if found and Path(found).exists() else None


def archive_key(jars: list[Path]) -> str | None:
    """A digest of what the archived classes come from; None when no Java runtime is found."""
    import pyspark

    java = _java()
    if java is None:
        return None
    spark_jars = Path(pyspark.__file__).parent / "jars"
    parts = [str(java), str(java.stat().st_mtime_ns), pyspark.__version__, str(spark_jars)]
    if spark_jars.is_dir():
        parts.append(str(spark_jars.stat().st_mtime_ns))
    parts += sorted(j.name for j in jars)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def archive_path(jars: list[Path]) -> Path | None:
    key = archive_key(jars)
    return FOLDER / f"spark-{key}.jsa" if key else None


def java_option(settings: Settings, jars: list[Path]) -> str | None:
    """-XX:SharedArchiveFile=... when the profile uses the archive (and RURAL_RISK_CLASS_ARCHIVE is
    not 0) and it was built; else None."""
    if not bool(settings.get("spark.class_archive", True)) or os.environ.get("RURAL_RISK_CLASS_ARCHIVE") == "0":
        return None
    path = archive_path(jars)
    return f"-XX:SharedArchiveFile={path}" if path is not None and path.is_file() else None


def build(jars: list[Path]) -> Path | None:
    """Build the archive for this runtime (in a JVM of its own) unless it exists; its path."""
    path = archive_path(jars)
    if path is None:
        print("class archive: no Java runtime found (JAVA_HOME, PATH): skipped", file=sys.stderr)
        return None
    if path.is_file():
        _link_current(path)
        return path
    FOLDER.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rural-risk-cds-") as work:
        env = {**os.environ, "RURAL_RISK_SPARK_CONF": f"spark.driver.extraJavaOptions=-XX:ArchiveClassesAtExit={partial}"}
        env.pop("PYSPARK_GATEWAY_PORT", None)
        proc = subprocess.run([sys.executable, "-m", "jobs.class_archive_workload", work],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        print(f"class archive: not built (exit {proc.returncode}); Spark starts without it:\n"
              f"{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    partial.replace(path)  # whole or not at all: a JVM never maps a half-written archive
    for old in FOLDER.glob("spark-*.jsa"):
        if old != path:
            old.unlink()
    _link_current(path)
    print(f"class archive {path} built in {time.monotonic() - started:.0f} s "
          f"({path.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
    return path


def _link_current(path: Path) -> None:
    link = FOLDER / CURRENT
    if link.is_symlink() and os.readlink(link) == path.name:
        return
    tmp = FOLDER / f".{CURRENT}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(path.name)
    tmp.replace(link)


def main(argv: list[str] | None = None) -> int:
    from jobs.jars import ensure_jars

    parser = argparse.ArgumentParser(
        prog="python -m jobs.class_archive",
        description="Build the Spark driver's class-data-sharing archive (faster JVM starts) unless it exists.",
    )
    parser.add_argument("--profile", default="local", help="settings profile (default: local)")
    args = parser.parse_args(argv)
    settings = load_settings(args.profile)
    path = build(ensure_jars(settings))
    print(f"class archive: {path or 'none (Spark starts without one)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
