"""The report's words in the configured language (conf `language`: zh, the default, or en).

English is the source: the template marks its text with `{% trans %}` / `_()` (Jinja2's
`jinja2.ext.i18n`), the Python modules with `_()` or, for words kept in a table and translated
where shown, `N_()`. The Chinese catalog, templates/messages.zh.yaml (beside the template, so the package
data that ships the template ships it too), maps each English message to its Chinese text and
is read into a standard `gettext.NullTranslations` that Jinja2 installs.

Why a YAML catalog and not a .po file: the standard library reads only compiled .mo files, a
binary that would drift from its source, and the compiler (Babel or GNU msgfmt) is not a
dependency of the project; pyyaml is. tests/report/test_language.py extracts every
message of the template (Environment.extract_translations) and of the Python modules and
fails when one has no Chinese text or the catalog holds one nobody uses.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from conf.language import DEFAULT_LANGUAGE, check_language

LOCALE = Path(__file__).resolve().parent / "templates"  # messages.<language>.yaml
HTML_LANG = {"zh": "zh-CN", "en": "en"}


class CatalogError(ValueError):
    """The Chinese catalog file is missing a text or is not a mapping of strings."""


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translated where shown"
    """Marks `message` for the catalog without translating it here."""
    return message


class Catalog(gettext.NullTranslations):
    """gettext translations from a mapping English message -> translation (no plural forms:
    Chinese has none, so ngettext uses the singular's translation)."""

    def __init__(self, messages: Mapping[str, str]) -> None:
        super().__init__()
        self._messages = dict(messages)

    def gettext(self, message: str) -> str:
        return self._messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        text = self._messages.get(singular)
        return text or (singular if n == 1 else plural)

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.ngettext(singular, plural, n)


def load_catalog(path: Path) -> dict[str, str]:
    """English message -> translation from a YAML catalog file."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"report catalog {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"report catalog {path} must map English messages to translations")
    bad = [k for k, v in data.items() if not isinstance(k, str) or not isinstance(v, str) or not v.strip()]
    if bad:
        raise CatalogError(f"report catalog {path}: message {bad[0]!r} has no translation (expected a text)")
    return data


@functools.cache
def translations(language: str = DEFAULT_LANGUAGE) -> gettext.NullTranslations:
    """The translations of `language`: English is the source (no catalog), zh reads messages.zh.yaml."""
    language = check_language(language)
    if language == "en":
        return gettext.NullTranslations()
    return Catalog(load_catalog(LOCALE / f"messages.{language}.yaml"))


def translator(language: str = DEFAULT_LANGUAGE):
    """The gettext callable of `language` (use it as `_`)."""
    return translations(language).gettext


def month_words(d: date, language: str = DEFAULT_LANGUAGE) -> str:
    """A month: "2024年5月" / "May 2024"."""
    return f"{d.year}年{d.month}月" if language == "zh" else d.strftime("%B %Y")


def day_words(d: date, language: str = DEFAULT_LANGUAGE) -> str:
    """A day: "2024年4月30日" / "2024-04-30"."""
    return f"{d.year}年{d.month}月{d.day}日" if language == "zh" else d.isoformat()
