"""The welcome, the first language and shared links, end to end."""

from __future__ import annotations

import pytest

from tests.i18n_helpers import t
from tests.resident_helpers import IDEAS


async def test_english_telegram_user_gets_latvian_with_the_choice_offered(app):
    john = app.resident("en", first_name="John")
    reply = await john.send("/start")
    assert "Atvērtā Latvija" in reply.sent[0].text
    assert reply.sent[-1].button_texts[:3] == ["Latviešu", "Русский", "English"]
    english = await john.press("English")
    assert t("en", IDEAS) in english.buttons


NOT_FOUND = "😕 This idea was not found. It may have been removed, or the link is wrong."


@pytest.mark.parametrize("payload", ["idea_999999", "idea_abc", "idea_", "x" * 64, "idea_1%3Cb%3E"])
async def test_bad_or_stale_shared_links(app, payload):
    resident = app.resident("ru")
    reply = await resident.send(f"/start {payload}")
    assert reply.text == t("ru", NOT_FOUND)
    assert t("ru", "💡 Ideas") in reply.buttons


async def test_the_command_menu_offers_the_plan_and_privacy_in_each_language_and_every_command_answers(app):
    from aiogram.types import BotCommandScopeDefault

    from bot.app import set_bot_commands
    from bot.i18n import create_i18n

    await set_bot_commands(app.bot, create_i18n())
    for language in ("lv", "ru", "en"):
        menu = await app.bot.get_my_commands(scope=BotCommandScopeDefault(),
                                             language_code=None if language == "lv" else language)
        described = {command.command: command.description for command in menu}
        assert described["plan"] == t(language, "The action plan and working groups")
        assert described["privacy"] == t(language, "What we keep about you")
        resident = app.resident(language)
        await resident.send("/start")
        for command in described:
            reply = await resident.send(f"/{command}")
            assert reply.text != t(language, "🤔 There is no such command. /help lists them all."), command
            await resident.send("/cancel")  # /propose opens a conversation: leave it for the next command
