"""Sharing: inline mode offers ideas as cards with an "Open in the bot" deep link; moderators' QR codes decode
back to the deep link."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from sqlmodel import select

from storage.models import Idea, User
from tests.conftest import App
from tests.i18n_helpers import t
from tests.staff_app import app_with_admin

ADMIN = 7301


@pytest.fixture
async def share_app(fake_telegram, sqlite_sessions, clock):
    async for application in app_with_admin(fake_telegram, sqlite_sessions, clock, ADMIN):
        yield application


async def idea_by_key(app: App, key: str) -> Idea:
    async with app.sessions() as session:
        return (await session.exec(select(Idea).where(Idea.key == key))).one()


async def test_inline_mode_offers_ideas_by_search_with_a_deep_link(share_app):
    stranger = share_app.resident("ru")  # has never started the bot
    answer = await stranger.inline_query("бюджет")
    budgets = await idea_by_key(share_app, "open-municipal-budgets")
    cards = {result["id"]: result for result in answer["results"]}
    assert f"idea-{budgets.id}" in cards
    card = cards[f"idea-{budgets.id}"]
    assert card["title"] == budgets.title_ru  # in the language of the person's Telegram
    assert budgets.title_ru in card["input_message_content"]["message_text"]
    (button,) = card["reply_markup"]["inline_keyboard"][0]
    assert button["text"] == t("ru", "💬 Open in the bot")
    assert button["url"] == f"https://t.me/manabalss_test_bot?start=idea_{budgets.id}"
    async with share_app.sessions() as session:
        assert await session.get(User, stranger.user_id) is None  # typing @bot elsewhere records nobody

    everything = await stranger.inline_query("")
    assert len(everything["results"]) == 20 and everything["next_offset"] == "20"
    nothing = await stranger.inline_query("zzzqqq")
    assert nothing["results"] == [] and nothing["button"]["start_parameter"] == "inline"

    # The deep link opens the same idea in the bot.
    opened = await stranger.send(f"/start idea_{budgets.id}")
    assert budgets.title_ru in opened.text


def decoded(png: bytes) -> str:
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return code.text


async def test_a_moderator_gets_qr_codes_that_decode_to_the_deep_links(share_app):
    admin = share_app.resident("lv", user_id=ADMIN)
    await admin.send("/start")
    budgets = await idea_by_key(share_app, "open-municipal-budgets")
    reply = await admin.send(f"/qr {budgets.id}")
    photo = reply.sent[0]
    assert decoded(photo.upload.data) == f"https://t.me/manabalss_test_bot?start=idea_{budgets.id}"
    assert budgets.title_lv in photo.caption
    campaign = await admin.send("/qr campaign")
    assert decoded(campaign.sent[0].upload.data) == "https://t.me/manabalss_test_bot"
    missing = await admin.send("/qr 999999")
    assert missing.text == t("lv", "😕 Not found: check the number. Only public ideas have a QR code.")

    resident = share_app.resident("lv")
    refused = await resident.send(f"/qr {budgets.id}")
    assert refused.text == t("lv", "🤔 There is no such command. /help lists them all.")
    assert not [message for message in refused.sent if message.upload]
