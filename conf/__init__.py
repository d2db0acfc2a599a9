"""Settings: YAML files in this folder, merged base -> profile, with a few env overrides."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONF_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = CONF_DIR.parent


def default_warehouse_dir() -> str:
    """Where Spark may put its (always empty) managed-table warehouse: one folder per user under
    the system's temporary directory, never `./spark-warehouse` in whatever directory the command
    ran from. Every lakehouse table is an external Delta table at a path, so nothing is stored
    there; a profile can set spark.sql.warehouse.dir to something else."""
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"rural-risk-spark-warehouse-{os.getuid()}")


class ConfigError(ValueError):
    """A settings file is missing or holds a value of the wrong kind."""


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_yaml(name: str | Path) -> dict[str, Any]:
    """Read one YAML file of conf/ (a name relative to conf/ or an absolute path)."""
    path = Path(name)
    if not path.is_absolute():
        path = CONF_DIR / path
    if not path.exists():
        raise ConfigError(f"settings file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping at the top level")
    return data


def available_profiles() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "profiles").glob("*.yaml"))


@dataclass(frozen=True)
class Settings:
    """Merged settings of one profile. `section(name)` reads another conf/<name>.yaml."""

    profile: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def __getitem__(self, dotted: str) -> Any:
        value = self.get(dotted, _MISSING)
        if value is _MISSING:
            raise ConfigError(f"setting '{dotted}' is missing in profile '{self.profile}'")
        return value

    @property
    def timezone(self) -> str:
        return str(self.get("timezone", "Asia/Shanghai"))

    def section(self, name: str) -> dict[str, Any]:
        """conf/<name>.yaml merged with the profile's override block of the same name."""
        base = load_yaml(f"{name}.yaml")
        override = self.get(name, {}) or {}
        return _merge(base, override) if isinstance(override, Mapping) else base


_MISSING = object()


def load_settings(profile: str = "local") -> Settings:
    """Merge conf/base.yaml with conf/profiles/<profile>.yaml and environment overrides."""
    profiles = available_profiles()
    if profile not in profiles:
        raise ConfigError(
            f"unknown profile '{profile}': expected one of {', '.join(profiles)} "
            f"(files in {CONF_DIR / 'profiles'})"
        )
    data = _merge(load_yaml("base.yaml"), load_yaml(Path("profiles") / f"{profile}.yaml"))
    master = os.environ.get("RURAL_RISK_SPARK_MASTER")
    if master:
        data.setdefault("spark", {})["master"] = master
    extra = os.environ.get("RURAL_RISK_SPARK_CONF", "").strip()
    if extra:
        spark_conf = data.setdefault("spark", {}).setdefault("conf", {})
        for item in extra.split(","):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    f"RURAL_RISK_SPARK_CONF: '{item}' is not key=value "
                    "(expected e.g. spark.eventLog.enabled=true,spark.eventLog.dir=/tmp/events)")
            spark_conf[key.strip()] = value.strip()
    return Settings(profile=profile, data=data)
