"""The webhook (bot/web.py, bot/once.py, bot/webhook_answer.py): the real bot behind aiohttp, fed by signed POSTs
as Telegram sends them; a redelivered update has no second effect, and a press is answered once, in the response
to the POST (by a request in long polling), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import delete, func, select, text

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.health import Readiness
from bot.i18n import create_i18n
from bot.runner import create_fsm_storage, poll
from bot.web import create_web_app, create_webhook_dispatcher
from storage.models import AuditEntry, Idea, IdeaStatus, OutboxMessage, ProcessedUpdate, Vote
from tests.conftest import TEST_TOKEN, load_example
from tests.fake_telegram import Alert, HandledUpdates, Resident, feed_via_polling, feed_via_webhook
from tests.i18n_helpers import t

SECRET = "s3cret-Webhook_value"
ADMIN = 9
TITLE = "Pašvaldību sēžu protokoli vienuviet"
BODY = "Visu pašvaldību domju sēžu protokoli būtu publicējami vienā vietnē, ar meklēšanu pēc tēmas un datuma."


class Webhook:
    """The webhook server on a free port; `resident()` talks to it, and every update sent is kept for replays."""

    def __init__(self, fake, sessions, server: TestServer) -> None:
        self.fake = fake
        self.sessions = sessions
        self.url = str(server.make_url("/telegram"))
        self.sent: list[dict] = []
        self._post = feed_via_webhook(fake, self.url, SECRET)

    async def feed(self, update: dict) -> None:
        self.sent.append(update)
        await self._post(update)

    def resident(self, user_id: int, language: str = "lv") -> Resident:
        return Resident(self.fake, self.feed, user_id, language_code=language)

    async def replay(self, update: dict) -> None:
        await self._post(update)

    async def count(self, statement) -> int:
        async with self.sessions() as session:
            return (await session.exec(statement)).scalar_one()


@contextlib.asynccontextmanager
async def serving(fake_telegram, sessions, clock, **options):
    """The web app of `python -m bot web` on a free port, with the settings' `options`."""
    await load_example(sessions)
    settings = Settings(bot_token=TEST_TOKEN, telegram_api_url=fake_telegram.base_url, admin_ids=frozenset({ADMIN}),
                        webhook_url="https://bot.example.org/telegram", webhook_secret=SECRET, **options)
    bot = create_bot(settings)
    dp = create_webhook_dispatcher(settings, sessions, create_i18n(), create_fsm_storage(settings, sessions),
                                   clock=clock)
    engine = sessions.kw["bind"]
    server = TestServer(create_web_app(dp, bot, settings, Readiness(engine, sessions)))
    await server.start_server()
    try:
        yield Webhook(fake_telegram, sessions, server)
    finally:
        await server.close()
        await bot.session.close()
    assert not fake_telegram.unanswered_callbacks()


@pytest.fixture
async def webhook(fake_telegram, sessions, clock):
    async with serving(fake_telegram, sessions, clock) as served:
        yield served
    # Every press went through the web app, so every answer went in a response (WEBHOOK_ANSWER_IN_RESPONSE).
    assert all(call.in_webhook_response for call in fake_telegram.calls("answerCallbackQuery"))


async def test_a_request_without_the_right_secret_is_refused_and_logged_without_it(webhook, caplog):
    update = webhook.fake.message_update(501, "/start")
    async with aiohttp.ClientSession() as http:
        async with http.post(webhook.url, json=update) as missing:
            assert missing.status == 401
        async with http.post(webhook.url, json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": "guessed-Value"}) as wrong:
            assert wrong.status == 401
    assert "missing secret" in caplog.text and "wrong secret" in caplog.text
    assert SECRET not in caplog.text and "guessed-Value" not in caplog.text
    assert not webhook.fake.calls("sendMessage"), "a refused update is not handled"


async def test_a_vote_delivered_again_later_or_twice_at_once_has_no_second_effect(webhook):
    anna = webhook.resident(601)
    await anna.send("/start")
    await anna.press(t("lv", "💡 Ideas"))
    listing = await anna.press("Atklātība")
    await anna.press(listing.buttons[0])
    await anna.press(t("lv", "👍 Support"))
    support = webhook.sent[-1]
    await asyncio.gather(webhook.replay(support), webhook.replay(support))  # Telegram retried at once
    assert await webhook.count(select(func.count()).select_from(Vote).where(Vote.user_id == 601)) == 1
    await anna.press(t("lv", "↩️ Withdraw support"))
    await webhook.replay(support)  # a late redelivery must not bring the withdrawn support back
    assert await webhook.count(select(func.count()).select_from(Vote).where(Vote.user_id == 601)) == 0
    assert await webhook.count(select(func.sum(Idea.supporters_count))) == 0


async def test_a_proposal_step_and_a_moderation_decision_delivered_again_have_no_second_effect(webhook):
    anna = webhook.resident(701)
    await anna.send("/start")
    await anna.press(t("lv", "✍️ Propose an idea"))
    await anna.press("Atklātība")
    await anna.send(TITLE)
    title_update = webhook.sent[-1]
    # The worker died after the step was stored but before the mark was committed: only the step shows it.
    async with webhook.sessions() as session:
        await session.exec(delete(ProcessedUpdate).where(ProcessedUpdate.update_id == title_update["update_id"]))
        await session.commit()
    await webhook.replay(title_update)  # were it taken again, the title would become the idea's text
    preview = await anna.send(BODY)
    assert TITLE in preview.text and BODY in preview.text
    await anna.press(t("lv", "✅ Send"))
    pending = await webhook.count(select(func.max(Idea.id)).where(Idea.status == IdeaStatus.PENDING))

    admin = webhook.resident(ADMIN)
    await admin.send(f"/publish {pending}")
    outbox_before = await webhook.count(select(func.count()).select_from(OutboxMessage))
    audit_before = await webhook.count(select(func.count()).select_from(AuditEntry))
    replies_before = len(webhook.fake.calls("sendMessage", chat_id=ADMIN))
    await webhook.replay(webhook.sent[-1])
    assert await webhook.count(select(func.count()).select_from(OutboxMessage)) == outbox_before
    assert await webhook.count(select(func.count()).select_from(AuditEntry)) == audit_before
    assert len(webhook.fake.calls("sendMessage", chat_id=ADMIN)) == replies_before, "no second answer either"


async def test_health_readiness_and_metrics(webhook):
    anna = webhook.resident(801)
    await anna.send("/start")
    async with aiohttp.ClientSession() as http:
        base = webhook.url.removesuffix("/telegram")
        async with http.get(f"{base}/healthz") as health:
            assert health.status == 200
        async with http.get(f"{base}/readyz") as ready:
            assert ready.status == 200 and (await ready.json())["status"] == "ready"
        async with http.get(f"{base}/metrics") as page:
            metrics = await page.text()
    assert 'manabalss_updates_total{outcome="handled",type="message"}' in metrics
    assert 'manabalss_update_seconds_bucket{handler="' in metrics
    assert 'manabalss_ideas{status="published"} 23.0' in metrics
    for name in ("manabalss_supports", "manabalss_db_pool_connections", "manabalss_outbox_sent_total",
                 "manabalss_duplicate_updates_total"):
        assert name in metrics


async def test_readiness_fails_when_the_database_is_behind(webhook):
    async with webhook.sessions() as session:
        await session.exec(text("UPDATE alembic_version SET version_num = '0001'"))
        await session.commit()
    async with aiohttp.ClientSession() as http:
        async with http.get(webhook.url.removesuffix("/telegram") + "/readyz") as ready:
            assert ready.status == 503
            assert "migration 0001" in (await ready.json())["problems"][0]


def answers(fake, update: dict) -> list:
    """The answerCallbackQuery calls Telegram saw for the press in `update`, requests and responses alike."""
    query_id = update["callback_query"]["id"]
    return [call for call in fake.calls("answerCallbackQuery") if call.params["callback_query_id"] == query_id]


async def open_a_card(resident: Resident) -> None:
    await resident.send("/start")
    await resident.press(t("lv", "💡 Ideas"))
    listing = await resident.press("Atklātība")
    await resident.press(listing.buttons[0])


async def test_every_press_is_answered_once_in_the_webhook_response(webhook):
    anna = webhook.resident(901)
    await open_a_card(anna)
    support = await anna.press(t("lv", "👍 Support"))
    pressed = webhook.sent[-1]
    [answer] = answers(webhook.fake, pressed)
    assert answer.ok and answer.in_webhook_response
    assert answer.params["text"] == t("lv", "👍 Thank you! Your support is counted.")
    # The card's edit stays a request of its own (its errors matter), made before the response.
    assert [(call.method, call.in_webhook_response) for call in support.calls] == [
        ("editMessageText", False), ("answerCallbackQuery", True)]

    # An error while handling: the error handler's apology is the one answer.
    webhook.fake.fail_next("editMessageText", 403, "Forbidden: bot was blocked by the user")
    failed = await anna.press(t("lv", "↩️ Withdraw support"))
    [apology] = answers(webhook.fake, webhook.sent[-1])
    assert apology.ok and apology.in_webhook_response and apology.params["show_alert"] is True
    assert apology.params["text"] == t("lv", "😕 Something went wrong on our side. Your earlier votes are safe; "
                                             "please try again.")
    assert [call.method for call in failed.calls] == ["editMessageText", "answerCallbackQuery"]

    # A refusal: a forged button, answered by the fallback.
    forged = await anna.press_data("forged:1", anna.last.message_id)
    assert forged.alerts[-1].text == t("lv", "This button is out of date. Here is a fresh menu.")
    assert [call.in_webhook_response for call in answers(webhook.fake, webhook.sent[-1])] == [True]

    # A redelivered press is skipped, and answered in its response too (its worker may have died unanswered).
    await webhook.replay(pressed)
    assert [call.in_webhook_response for call in answers(webhook.fake, pressed)] == [True, True]


async def test_a_rate_limited_press_is_answered_in_the_response(fake_telegram, sessions, clock):
    async with serving(fake_telegram, sessions, clock, rate_limit_per_minute=5) as webhook:
        bob = webhook.resident(902)
        start = await bob.send("/start")
        ideas = next(button["callback_data"] for row in start.keyboard_message.reply_markup["inline_keyboard"]
                     for button in row if button["text"] == t("lv", "💡 Ideas"))
        slow_down = t("lv", "🐢 That was a lot at once. Please wait a minute, then continue.")
        for _ in range(10):  # /start and four presses pass
            reply = await bob.press_data(ideas, start.keyboard_message.message_id)
            if reply.alerts:
                break
        assert reply.alerts == [Alert(slow_down, False)] and len(reply.calls) == 1
        assert [call.in_webhook_response for call in answers(fake_telegram, webhook.sent[-1])] == [True]


async def test_without_the_setting_the_web_app_answers_with_a_request(fake_telegram, sessions, clock):
    async with serving(fake_telegram, sessions, clock, webhook_answer_in_response=False) as webhook:
        carol = webhook.resident(903)
        await open_a_card(carol)
        await carol.press(t("lv", "👍 Support"))
        [answer] = answers(fake_telegram, webhook.sent[-1])
        assert answer.ok and not answer.in_webhook_response


async def test_long_polling_answers_a_press_with_a_request(fake_telegram, sessions, clock):
    """`python -m bot`: no response to carry the answer, the same handlers answer with a request."""
    await load_example(sessions)
    settings = Settings(bot_token=TEST_TOKEN, telegram_api_url=fake_telegram.base_url, chat_replies_per_second=1000)
    assert settings.webhook_answer_in_response, "the setting is on, and means nothing to polling"
    bot = create_bot(settings)
    dp = create_dispatcher(settings, sessions, create_i18n(), clock=clock, fsm_storage=create_fsm_storage(
        settings, sessions))
    handled = HandledUpdates()
    with handled.listening():
        polling = asyncio.create_task(poll(dp, bot, settings, polling_timeout=1, handle_signals=False,
                                           close_bot_session=False))
        try:
            dave = Resident(fake_telegram, feed_via_polling(fake_telegram, handled), 904)
            await open_a_card(dave)
            support = await dave.press(t("lv", "👍 Support"))
        finally:
            await dp.stop_polling()
            await polling
            await bot.session.close()
    assert [(call.method, call.in_webhook_response) for call in support.calls] == [
        ("editMessageText", False), ("answerCallbackQuery", False)]
    assert all(len([c for c in fake_telegram.calls("answerCallbackQuery") if c.ok
                    and c.params["callback_query_id"] == query]) == 1 for query in fake_telegram.callbacks)
