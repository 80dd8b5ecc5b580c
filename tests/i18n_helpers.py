"""Button labels and texts as the bot shows them in a language, so stories survive rewording."""

from functools import cache

from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n


@cache
def _i18n() -> I18n:
    return create_i18n()


def t(locale: str, msgid: str, **values) -> str:
    text = _i18n().gettext(msgid, locale=locale)
    return text.format(**values) if values else text


def tn(language: str, singular: str, plural: str, n: int) -> str:
    """A plural text with {count} = n (small numbers: Babel formats large ones with spaces)."""
    return _i18n().gettext(singular, plural, n, locale=language).format(count=n)
