"""The language of what planners read: the report page and the reasons written by `score`.

One top-level setting, `language` (conf/base.yaml, a profile may override it): `zh` (the
default) or `en`. It is top level, not under `reports`, because it changes what two stages
write (gold.village_risk.reasons and the page), and jobs/reuse.py treats `reports` as
operational: a changed value there would not make `score` or `report` run again.
"""

from __future__ import annotations

from typing import Any

from conf import ConfigError

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
SETTING = "language"


class LanguageError(ConfigError):
    """The `language` setting holds a value other than the supported ones."""


def check_language(value: Any) -> str:
    """`value` when it is a supported language, else a LanguageError naming the setting."""
    if value in LANGUAGES:
        return str(value)
    raise LanguageError(
        f"setting '{SETTING}' is {value!r}: expected one of {', '.join(LANGUAGES)} "
        f"(conf/base.yaml or the profile's file in conf/profiles/)"
    )


def language(settings: Any) -> str:
    """The configured language of `settings` (conf.Settings), checked; zh when unset."""
    return check_language(settings.get(SETTING, DEFAULT_LANGUAGE))
