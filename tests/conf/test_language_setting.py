"""conf/language.py: the one `language` setting of every profile, and what a wrong value says.

(Named test_language_setting.py, not test_language.py: tests/report/test_language.py exists and
the test folders have no __init__.py, so two files of one name would clash at collection.)
"""

from __future__ import annotations

import pytest

from conf import ConfigError, Settings, available_profiles, load_settings
from conf.language import DEFAULT_LANGUAGE, LANGUAGES, LanguageError, check_language, language

CHOICES = "expected one of zh, en (conf/base.yaml or the profile's file in conf/profiles/)"


def test_every_shipped_profile_has_a_supported_language():
    profiles = available_profiles()
    assert "test" in profiles and "local" in profiles
    for profile in profiles:
        assert language(load_settings(profile)) in LANGUAGES, profile


def test_supported_values_come_back_as_they_are():
    assert (LANGUAGES, DEFAULT_LANGUAGE) == (("zh", "en"), "zh")
    assert [check_language(v) for v in ("zh", "en")] == ["zh", "en"]
    assert language(Settings(profile="p", data={"reports": {"language": "en"}})) == "zh"  # top level only


@pytest.mark.parametrize(
    ("value", "shown"),
    [("fr", "'fr'"), ("zh-CN", "'zh-CN'"), (" en", "' en'"), ("", "''"), (1, "1"), (["zh"], "['zh']"),
     (None, "None")],
)
def test_other_values_are_refused_naming_the_setting_and_choices(value, shown):
    with pytest.raises(LanguageError) as err:
        check_language(value)
    assert str(err.value) == f"setting 'language' is {shown}: {CHOICES}"
    assert isinstance(err.value, ConfigError)  # the CLI reports config errors in one line


def test_an_explicit_null_is_not_the_default():
    # `language:` left empty in a profile is a value (None), not an unset setting
    with pytest.raises(LanguageError, match="setting 'language' is None"):
        language(Settings(profile="p", data={"language": None}))
