"""report/i18n.py on its own: the catalog's lookup and fallbacks, reading a catalog file, the
translations of each language, and dates in words in both languages."""

from __future__ import annotations

import gettext
from datetime import date
from pathlib import Path

import pytest

from conf.language import LanguageError
from report.i18n import (
    HTML_LANG,
    LOCALE,
    N_,
    Catalog,
    CatalogError,
    day_words,
    load_catalog,
    month_words,
    translations,
    translator,
)


def test_n_marks_without_translating() -> None:
    assert N_("equal hours") == "equal hours"


def test_catalog_lookup_and_fallback_to_the_english_source() -> None:
    c = Catalog({"Village": "村", "flagged": "", "{n} villages": "{n}个村"})
    assert c.gettext("Village") == "村"
    assert c.gettext("Township") == "Township"   # no entry: the English source
    assert c.gettext("flagged") == "flagged"     # an empty text counts as none
    assert c.pgettext("table", "Village") == "村"
    # no plural forms: the singular's translation for any n, else English singular/plural
    assert c.ngettext("{n} villages", "{n} villages (many)", 5) == "{n}个村"
    assert c.ngettext("one day", "{n} days", 1) == "one day" and c.ngettext("one day", "{n} days", 2) == "{n} days"
    assert c.npgettext("x", "one day", "{n} days", 3) == "{n} days"


def test_load_catalog_reads_a_mapping_of_texts(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("Village: 村\n'%(n)s villages': '%(n)s个村'\n", encoding="utf-8")
    assert load_catalog(path) == {"Village": "村", "%(n)s villages": "%(n)s个村"}
    path.write_text("", encoding="utf-8")
    assert load_catalog(path) == {}  # an empty file is an empty catalog


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n- b\n", "must map English messages to translations"),
    ("Village: ''\n", "message 'Village' has no translation (expected a text)"),
    ("Village: '  '\n", "message 'Village' has no translation"),
    ("Village: 3\n", "message 'Village' has no translation"),
    ("Village: [村]\n", "message 'Village' has no translation"),
    ("Village: 村\n  bad: [\n", "cannot be read"),
])
def test_load_catalog_refuses_what_is_not_a_text_per_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_catalog(path)


def test_a_missing_catalog_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "messages.xx.yaml")


def test_translations_per_language() -> None:
    en, zh = translations("en"), translations("zh")
    assert type(en) is gettext.NullTranslations and isinstance(zh, Catalog)
    assert translations("zh") is zh  # read once
    assert translator("en")("equal hours") == "equal hours"
    assert translator("zh")("equal hours") == "平均分配"
    assert translator()("Village") == "村"  # Chinese by default
    assert translator("zh")("no such message") == "no such message"
    assert (LOCALE / "messages.zh.yaml").is_file()
    with pytest.raises(LanguageError, match="setting 'language' is 'de'"):
        translator("de")
    assert HTML_LANG == {"zh": "zh-CN", "en": "en"}


@pytest.mark.parametrize(("d", "zh", "en"), [
    (date(2024, 5, 1), "2024年5月", "May 2024"),
    (date(2023, 12, 31), "2023年12月", "December 2023"),
])
def test_month_words(d: date, zh: str, en: str) -> None:
    assert month_words(d) == zh and month_words(d, "zh") == zh and month_words(d, "en") == en


@pytest.mark.parametrize(("d", "zh", "en"), [
    (date(2024, 4, 30), "2024年4月30日", "2024-04-30"),
    (date(2024, 1, 5), "2024年1月5日", "2024-01-05"),   # no leading zeros in Chinese
])
def test_day_words(d: date, zh: str, en: str) -> None:
    assert day_words(d) == zh and day_words(d, "en") == en
