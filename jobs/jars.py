"""Delta Lake jars: resolved once from Maven Central into a cache folder, then used offline.

Spark's own resolver (`spark.jars.packages`, Ivy) fetches the coordinates from
conf/base.yaml once; the resolved jars are copied into the cache folder and every
later session loads them with `spark.jars`, so a machine with a warm cache needs
no network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from conf import PROJECT_ROOT, Settings, default_warehouse_dir, load_settings

MANIFEST = "jars.json"


class JarCacheError(RuntimeError):
    """The Delta jars are not in the cache and could not be resolved."""


def cache_dir(settings: Settings) -> Path:
    override = os.environ.get("RURAL_RISK_JAR_CACHE")
    path = Path(override) if override else Path(settings.get("delta.jar_cache", ".cache/jars"))
    return path if path.is_absolute() else PROJECT_ROOT / path


def cached_jars(settings: Settings) -> list[Path] | None:
    """The cached jar files when the cache holds exactly the configured coordinates."""
    folder = cache_dir(settings)
    manifest = folder / MANIFEST
    if not manifest.exists():
        return None
    info = json.loads(manifest.read_text())
    if info.get("packages") not in candidate_packages(settings):
        return None
    jars = [folder / name for name in info.get("jars", [])]
    return jars if jars and all(j.exists() for j in jars) else None


def candidate_packages(settings: Settings) -> list[list[str]]:
    """Lists of Maven coordinates to try in order (a plain list is one candidate)."""
    raw = list(settings["delta.packages"])
    if raw and all(isinstance(c, str) for c in raw):
        return [raw]
    return [list(c) for c in raw]


def _resolve_with_spark(packages: list[str], ivy: Path) -> list[Path]:
    """Run Spark's own resolver (Ivy) for the coordinates; the jars it delivered."""
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    shutil.rmtree(ivy / "jars", ignore_errors=True)
    try:
        spark = (
            SparkSession.builder.master("local[1]")
            .appName("rural-risk-resolve-jars")
            .config("spark.jars.packages", ",".join(packages))
            .config("spark.jars.ivy", str(ivy))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", default_warehouse_dir())
            .getOrCreate()
        )
    except PySparkRuntimeError:  # the JVM exits when a coordinate does not resolve
        return []
    spark.stop()
    return sorted((ivy / "jars").glob("*.jar"))


def resolve_jars(settings: Settings) -> list[Path]:
    """Resolve the first candidate that Maven Central serves and copy its jars to the cache."""
    folder = cache_dir(settings)
    ivy = folder.parent / "ivy"
    folder.mkdir(parents=True, exist_ok=True)
    tried = []
    for packages in candidate_packages(settings):
        print(f"resolving {', '.join(packages)} into {folder} (once)", file=sys.stderr)
        found = _resolve_with_spark(packages, ivy)
        if any("delta-spark" in j.name for j in found):
            break
        tried.append(", ".join(packages))
        print(f"  not available: {tried[-1]}", file=sys.stderr)
    else:
        raise JarCacheError(
            f"Spark's resolver delivered none of the Delta jar sets ({'; '.join(tried)}) "
            f"into {ivy / 'jars'}: check access to Maven Central, or put the jars in "
            f"{folder} with a {MANIFEST} listing them"
        )
    for old in folder.glob("*.jar"):
        old.unlink()
    names = []
    for jar in found:
        shutil.copy2(jar, folder / jar.name)
        names.append(jar.name)
    (folder / MANIFEST).write_text(json.dumps({"packages": packages, "jars": names}, indent=2))
    return [folder / n for n in names]


def ensure_jars(settings: Settings) -> list[Path]:
    """Cached jars, resolving them first when the cache is cold."""
    return cached_jars(settings) or resolve_jars(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.jars",
        description="Make sure the Delta jars are in the local jar cache (resolve once).",
    )
    parser.add_argument("--profile", default="local", help="settings profile (default: local)")
    args = parser.parse_args(argv)
    settings = load_settings(args.profile)
    jars = ensure_jars(settings)
    print(f"Delta jars ready in {cache_dir(settings)}: {', '.join(j.name for j in jars)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
