"""The broadcast confirmation's delivery lines in lv, ru and en: the time at the free pace and, with
PAID_BROADCAST_RATE, the time and the Stars at the paid rate (Babel's durations and numbers, plural forms)."""

from __future__ import annotations

import pytest

from bot.domain import broadcasts as bc
from bot.domain.broadcast_cost import estimate
from bot.i18n import create_i18n, rendering
from bot.ui import broadcasts_screens as bs

I18N = create_i18n()


def confirmation(language: str, recipients: int, paid_rate: int = 0) -> str:
    with rendering(I18N, language):
        return bs.confirm_screen(bc.ALL, recipients, "nonce", estimate(recipients, 25.0, paid_rate)).text


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "⏱ Delivery takes about 7 minutes at 25 messages a second."),
    ("lv", "⏱ Izsūtīšanas laiks: apmēram 7 minūtes (25 ziņas sekundē)."),
    ("ru", "⏱ Время рассылки: примерно 7 минут (25 сообщений в секунду)."),
])
def test_without_paid_broadcasts_only_the_free_time_is_shown(language, expected):
    text = confirmation(language, 10_000)
    assert expected in text
    assert "💫" not in text


@pytest.mark.parametrize(("language", "free", "paid"), [
    ("en", "⏱ At the free pace of 25 messages a second it would take about 7 minutes.",
     "💫 Paid broadcasting is on: 500 messages a second, about 20 seconds, for about 940 Telegram Stars from the "
     "bot's balance."),
    ("lv", "⏱ Bezmaksas tempā (25 ziņas sekundē) tā ilgtu apmēram 7 minūtes.",
     "💫 Maksas izsūtne ir ieslēgta: 500 ziņu sekundē, apmēram 20 sekunžu, par aptuveni 940 Telegram Stars no bota "
     "bilances."),
    ("ru", "⏱ В бесплатном темпе (25 сообщений в секунду) она заняла бы примерно 7 минут.",
     "💫 Платная рассылка включена: 500 сообщений в секунду, примерно 20 секунд, примерно за 940 Telegram Stars с "
     "баланса бота."),
])
def test_with_paid_broadcasts_the_paid_time_and_stars_are_shown(language, free, paid):
    text = confirmation(language, 10_000, 500)
    assert free in text and paid in text


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "1,001 messages a second, about 6 minutes, for about 36,860.5 Telegram Stars"),
    ("lv", "1 001 ziņa sekundē, apmēram 6 minūtes, par aptuveni 36 860,5 Telegram Stars"),
    ("ru", "1 001 сообщение в секунду, примерно 6 минут, примерно за 36 860,5 Telegram Stars"),
])
def test_plural_forms_and_decimal_stars(language, expected):
    # 380,005 at 1,001 a second (a rate only a test uses): 379 full seconds of 971 charged, then 626 of which 596.
    text = confirmation(language, 380_005, 1001).replace("\xa0", " ")
    assert expected in text


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "💫 Paid broadcasting is on: 100 messages a second, about 1 second, at no cost (it stays within "
           "Telegram's free 30 a second)."),
    ("lv", "💫 Maksas izsūtne ir ieslēgta: 100 ziņu sekundē, apmēram 1 sekunde, bez maksas (tā iekļaujas Telegram "
           "bezmaksas robežās – 30 ziņu sekundē)."),
    ("ru", "💫 Платная рассылка включена: 100 сообщений в секунду, примерно 1 секунда, бесплатно (в пределах "
           "бесплатных для Telegram 30 сообщений в секунду)."),
])
def test_an_audience_below_the_free_rate_costs_nothing(language, expected):
    assert expected in confirmation(language, 12, 100)
