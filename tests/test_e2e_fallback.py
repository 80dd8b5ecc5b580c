"""Anything unexpected gets a short helpful answer in the resident's language: never silence, never a
traceback, never a vote that should not exist."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from bot.ui import callbacks as cb
from storage.models import Vote
from tests.i18n_helpers import t

UNEXPECTED = "🤔 We can only read text. Type a few words to search the ideas, or use the menu."


STALE = "This button is out of date. Here is a fresh menu."


NOT_FOUND = "😕 This idea was not found. It may have been removed, or the link is wrong."


async def count_votes(app) -> int:
    async with app.sessions() as session:
        return (await session.exec(select(func.count()).select_from(Vote))).one()


@pytest.mark.parametrize("language", ["lv", "ru"])
async def test_stickers_photos_and_unknown_commands(app, language):
    resident = app.resident(language)
    await resident.send("/start")
    assert (await resident.send_sticker()).text == t(language, UNEXPECTED)
    assert (await resident.send_photo(caption="<b>")).text == t(language, UNEXPECTED)
    unknown = await resident.send("/frobnicate")
    assert unknown.text == t(language, "🤔 There is no such command. /help lists them all.")
    assert (await resident.send("/cancel")).text == t(language, "Nothing to cancel. Here is the menu.")
    assert t(language, "💡 Ideas") in (await resident.send("/help")).buttons


@pytest.mark.parametrize("data", [
    "garbage", "i:s:999999:0:top:0", "i:s:abc:0:top:0", "i:zz:1:0:top:0", "l:999999:top:0", "l:x:top:0",
    "g:de", "m:nowhere", "", "i:s:1",
])
async def test_forged_or_stale_buttons_are_answered_and_change_nothing(app, data):
    resident = app.resident("lv")
    menu = await resident.send("/start")
    reply = await resident.press_data(data, menu.sent[0].message_id)
    assert reply.alerts or reply.texts, reply.describe()
    assert not reply.errors, reply.describe()
    assert await count_votes(app) == 0


async def test_a_button_on_a_message_that_is_gone_sends_a_new_message(app):
    resident = app.resident("lv")
    await resident.send("/start")
    unknown_message = await resident.press_data(cb.Menu(to=cb.MENU_CATEGORIES).pack(), message_id=987654)
    assert unknown_message.sent and any("Atklātība" in label for label in unknown_message.buttons)
    app.fake.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    deleted_meanwhile = await resident.press(t("lv", "🏠 Menu"))
    assert deleted_meanwhile.errors[0].description == "Bad Request: message to edit not found"
    assert deleted_meanwhile.sent and t("lv", "💡 Ideas") in deleted_meanwhile.buttons


async def test_pressing_the_same_button_twice_is_quietly_answered(app):
    resident = app.resident("lv")
    await resident.send("/start")
    await resident.press(t("lv", "💡 Ideas"))
    first = await resident.press("Atklātība")
    message_id = first.edited[0].message_id
    second = await resident.press_data(cb.IdeaList(cat=1).pack(), message_id)
    assert [call.description for call in second.errors] == [
        "Bad Request: message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"]
    assert second.answered and not second.sent


async def test_telegram_failure_gets_an_apology_not_silence(app):
    resident = app.resident("lv")
    await resident.send("/start")
    app.fake.fail_next("editMessageText", 500, times=10)  # more than the retries (bot/request_pacing.py)
    reply = await resident.press(t("lv", "💡 Ideas"))
    assert reply.alerts[0].text == t("lv", "😕 Something went wrong on our side. Your earlier votes are safe; "
                                           "please try again.")
    app.fake.fail_next("sendMessage", 500, times=10)
    await resident.send("/start")  # the apology itself may fail: the bot still does not crash
    assert (await resident.send("/help")).text


async def test_a_passing_telegram_failure_is_retried(app, caplog):
    resident = app.resident("lv")
    await resident.send("/start")
    app.fake.fail_next("editMessageText", 500)
    app.fake.fail_next("answerCallbackQuery", 429, retry_after=1)
    reply = await resident.press(t("lv", "💡 Ideas"))
    assert not reply.alerts and any("Atklātība" in label for label in reply.buttons)
    assert [call.error_code for call in reply.errors] == [500, 429]
    warnings = [record for record in caplog.records if record.name == "bot.request_pacing"]
    assert len(warnings) == 2 and all(record.levelname == "WARNING" and not record.exc_info for record in warnings)

