"""Picking a row's text in the reader's language, with a fallback that the UI marks visibly."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("lv", "ru", "en")
FALLBACK_ORDER = {"lv": ("lv", "ru", "en"), "ru": ("ru", "lv", "en"), "en": ("en", "lv", "ru")}


@dataclass(frozen=True)
class Localized:
    text: str
    language: str  # the language the text is actually in
    is_fallback: bool


def localized(row: object, field: str, language: str) -> Localized:
    """`row.{field}_{lang}` in the reader's language, else the first other language that has it."""
    for candidate in FALLBACK_ORDER.get(language, FALLBACK_ORDER["lv"]):
        text = getattr(row, f"{field}_{candidate}", None)
        if text:
            return Localized(text, candidate, candidate != language)
    return Localized("", language, False)


def localized_fields(prefix: str, text: object | None) -> dict[str, str | None]:
    """A file's localized text as a row's columns: {"title_lv": ..., "title_ru": ..., "title_en": ...}."""
    return {f"{prefix}_{language}": getattr(text, language, None) if text else None for language in LANGUAGES}
