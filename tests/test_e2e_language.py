"""Choosing the language, end to end."""

from __future__ import annotations

from tests.i18n_helpers import t
from tests.resident_helpers import IDEAS, SUPPORT, open_first_idea


async def test_language_switch_is_remembered(app):
    anna = app.resident("lv")
    await anna.send("/start")
    menu = await anna.send("/lang")
    assert menu.buttons[:3] == ["Latviešu", "Русский", "English"]
    switched = await anna.press("Русский")
    assert switched.alerts[0].text == t("ru", "✅ From now on we write in English.")
    assert t("ru", "🏠 <b>Main menu</b>").replace("<b>", "").replace("</b>", "") in switched.text
    # Remembered: the next update speaks Russian although Telegram says "lv".
    card = await open_first_idea(anna, "ru")
    assert t("ru", SUPPORT) in card.buttons
    back = await anna.send("/lang")
    await anna.press("Latviešu", message=back.sent[0])
    assert t("lv", IDEAS) in (await anna.send("/menu")).buttons
