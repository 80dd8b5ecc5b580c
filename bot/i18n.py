"""Translations: gettext catalogs in locales/, compiled on start, and the resident's language per update."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware, get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, format_datetime, format_interval, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.config import Settings

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("lv", "ru", "en")
LANGUAGE_NAMES = {"lv": "Latviešu", "ru": "Русский", "en": "English"}
# Dates are shown in the TIMEZONE setting: each update (ResidentLocaleMiddleware) and each text
# rendered for the outbox (`rendering`) sets it; outside both, the setting's default.
DEFAULT_TIMEZONE = ZoneInfo(Settings.model_fields["timezone"].default)
_display_timezone: ContextVar[ZoneInfo | None] = ContextVar("display_timezone", default=None)


def compiled_catalogs_dir(locales_dir: Path = LOCALES_DIR) -> Path:
    """Where the .mo files of `locales_dir` are compiled to: a cache folder of the user, never the installed
    package (it may be read-only). One folder per source folder, so two checkouts never mix."""
    key = hashlib.sha256(str(locales_dir.resolve()).encode()).hexdigest()[:16]
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for base in (cache_home / "manabalss-bot", Path(tempfile.gettempdir()) / f"manabalss-bot-{os.getuid()}"):
        target = base / "locales" / key
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only home: the temporary folder then
            continue
        if os.access(target, os.W_OK):
            return target
    raise OSError(f"no writable folder for the compiled translations (tried {cache_home} and the temp folder)")


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every .po whose .mo is missing or older (the .mo files are not kept in git, nor shipped)."""
    target_dir = compiled_catalogs_dir(locales_dir)
    compiled = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po_path.parent.parent.name
        mo_path = target_dir / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=language)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
        with tmp_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp_path.replace(mo_path)  # atomic: a second process never reads half a file
        compiled.append(mo_path)
    return compiled


def create_i18n(default_locale: str = "lv") -> I18n:
    compile_catalogs()
    return I18n(path=compiled_catalogs_dir(), default_locale=default_locale, domain=DOMAIN)


class ResidentLocaleMiddleware(I18nMiddleware):
    """For the whole update: the resident's stored language (ResidentMiddleware, which runs before this, loads
    them) and dates in the TIMEZONE setting. One middleware for both: each layer of aiogram's middleware chain
    costs every update a few wrappers."""

    def __init__(self, i18n: I18n, tz: ZoneInfo) -> None:
        super().__init__(i18n)
        self.tz = tz

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        with use_timezone(self.tz):
            return await super().__call__(handler, event, data)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if user is not None and user.language in self.i18n.available_locales:
            return user.language
        return self.i18n.default_locale


@contextmanager
def use_timezone(tz: ZoneInfo | None) -> Iterator[None]:
    """Show dates in `tz` within the block (None: keep the current zone)."""
    token = _display_timezone.set(tz) if tz is not None else None
    try:
        yield
    finally:
        if token is not None:
            _display_timezone.reset(token)


def display_timezone() -> ZoneInfo:
    return _display_timezone.get() or DEFAULT_TIMEZONE


@contextmanager
def rendering(i18n: I18n, language: str, tz: ZoneInfo | None = None) -> Iterator[None]:
    """A text made outside the reader's update (the outbox's, once per language): gettext in `language`, dates
    in `tz` (the TIMEZONE setting)."""
    with i18n.context(), i18n.use_locale(language), use_timezone(tz):
        yield


# Formatting in the reader's language, times in the TIMEZONE setting.

def current_language() -> str:
    return get_i18n().current_locale


# Babel parses the locale's patterns on every call (tens of microseconds); a card shows a count and the campaign's
# dates on every press. A count is grouped by threes as Python does it, with the locale's separator (checked
# against Babel once per language); dates repeat, so they are kept (they depend only on the arguments).
@cache
def _thousands_separator(language: str) -> str | None:
    """The locale's group separator if it groups integers by threes from 1,000 on, as lv, ru and en do."""
    separator = format_decimal(1000, locale=language)[1:-3]
    grouped = all(format_decimal(value, locale=language) == f"{value:,}".replace(",", separator)
                  for value in (0, 999, 1000, 12345, 1234567, -1234567))
    return separator if grouped else None


def _decimal(value: int, language: str) -> str:
    separator = _thousands_separator(language)
    if separator is None:
        return format_decimal(value, locale=language)
    return f"{value:,}".replace(",", separator)


@lru_cache(maxsize=1024)
def _long_date(moment: datetime, tz: ZoneInfo, language: str) -> str:
    return format_date(moment.astimezone(tz), format="long", locale=language)


@lru_cache(maxsize=1024)
def _time(moment: datetime, tz: ZoneInfo, language: str) -> str:
    return format_datetime(moment.astimezone(tz), "HH:mm", locale=language)


def fmt_number(value: int) -> str:
    return _decimal(value, current_language())


def fmt_decimal(value: Decimal) -> str:
    """At most one decimal: "12,5" in lv and ru, "12.5" in en."""
    return format_decimal(value, format="#,##0.#", locale=current_language())


def fmt_duration(seconds: int) -> str:
    """Babel's rounded duration in the reader's language: "2 minūtes", "1 час", "45 seconds"."""
    return format_timedelta(timedelta(seconds=seconds), locale=current_language())


def fmt_date(moment: datetime, tz: ZoneInfo | None = None) -> str:
    return _long_date(moment, tz or display_timezone(), current_language())


def fmt_datetime(moment: datetime, tz: ZoneInfo | None = None) -> str:
    """A long date with the time; at midnight the date alone ("līdz plkst. 00:00" and "в 00:00" read oddly)."""
    zone, language = tz or display_timezone(), current_language()
    local = moment.astimezone(zone)
    date = _long_date(moment, zone, language)
    if (local.hour, local.minute) == (0, 0):
        return date
    return _("{date}, {time}").format(date=date, time=_time(moment, zone, language))


def fmt_date_range(start: datetime, end: datetime, tz: ZoneInfo | None = None) -> str:
    """Babel's interval: "16. novembris – 20. decembris", "16 ноября — 20 декабря"; the years only when they
    differ, once each ("2026. gada 16. dec. – 2027. gada 20. janv.")."""
    zone = tz or display_timezone()
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    skeleton = "MMMMd" if first.year == last.year else "yMMMMd"
    return format_interval(first, last, skeleton, locale=current_language())
