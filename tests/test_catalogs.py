"""Translations: lv and ru complete, placeholders and markup intact, the template up to date with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, compile_catalogs

PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?([a-z-]+)[^>]*>")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "__": None, "lazy_gettext": None}
ROOT = Path(__file__).resolve().parent.parent


def load(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=language)


def source_ids() -> set[str]:
    found = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / package, keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def shape(text: str) -> tuple[list[str], list[str]]:
    return sorted(PLACEHOLDER.findall(text)), sorted(TAG.findall(text))


def test_template_lists_every_string_of_the_code():
    catalog = load("lv")
    in_catalog = {message.id if isinstance(message.id, str) else message.id[0] for message in catalog if message.id}
    missing = source_ids() - in_catalog
    assert not missing, f"run locales/update.sh and translate: {sorted(missing)}"


@pytest.mark.parametrize("language", ["lv", "ru"])
def test_every_entry_is_translated_with_the_same_placeholders_and_markup(language):
    catalog = load(language)
    assert catalog.num_plurals == 3
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(translations):
            problems.append(f"untranslated: {message.id!r}")
            continue
        for translation in translations:
            # A plural's singular may say "one" instead of {count}; every other placeholder must stay.
            expected = shape(source[-1])
            got = shape(translation)
            if got[1] != expected[1] or not set(got[0]) <= set(expected[0]) or (
                    set(expected[0]) - set(got[0]) - {"count"}):
                problems.append(f"{message.id!r}: {translation!r} has {got}, expected {expected}")
    assert not problems, "\n".join(problems)


def test_catalogs_compile(tmp_path):
    for language in ("lv", "ru", "en"):
        target = tmp_path / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes((LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").read_bytes())
    assert len(compile_catalogs(tmp_path)) == 3
    assert compile_catalogs(tmp_path) == []  # up to date: nothing compiled twice


@pytest.mark.parametrize("language", ["lv", "ru", "en"])
def test_counts_are_formatted_as_babel_formats_them(language):
    """fmt_number groups digits itself (Babel's formatting cost every card tens of microseconds): the same text."""
    from babel.numbers import format_decimal

    from bot.i18n import _decimal

    values = [*range(-1100, 1100, 7), 9_999, 10_000, 52_156, 99_999, 100_000, 1_234_567, 400_000_000]
    assert [_decimal(value, language) for value in values] == [format_decimal(v, locale=language) for v in values]
