"""Crowds (issue 8, items 4 and 5): many residents at once, through the fake Bot API server, with Telegram's
transient errors injected, and through long polling on both databases. Every input gets its answer and
nothing fails. No wall-clock budgets: the tests wait for the bot to go quiet."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiogram.fsm.storage.redis import RedisStorage
from sqlmodel import func, select

from bot.config import Settings
from bot.runner import poll
from storage.models import Idea, IdeaStatus, Vote
from tests.conftest import REDIS_URL, App, load_example, service_unavailable
from tests.i18n_helpers import t

IDEAS, SUPPORT, PROPOSE = "💡 Ideas", "👍 Support", "✍️ Propose an idea"
OURS = {"bot", "handlers", "storage", "aiogram"}
APOLOGY = "😕 Something went wrong on our side. Your earlier votes are safe; please try again."


async def support_the_first_idea(resident):
    await resident.send("/start")
    await resident.press(t("lv", IDEAS))
    listing = await resident.press("Atklātība")
    await resident.press(listing.buttons[0])
    return await resident.press(t("lv", SUPPORT))


async def propose(resident, number: int):
    await resident.send("/start")
    await resident.press(t("lv", PROPOSE))
    await resident.press("Atklātība")
    await resident.send(f"Iedzīvotāja {number} priekšlikums nr. {number}")
    preview = await resident.send(f"Priekšlikuma {number} teksts: {'lūdzu ' * 6}padariet to, numurs {number}.")
    assert preview.buttons, preview.describe()
    return await resident.press(t("lv", "✅ Send"))


def errors_logged(caplog) -> list[logging.LogRecord]:
    """The bot's and aiogram's errors (not asyncio's notes on another test's garbage in the same worker)."""
    return [record for record in caplog.records if record.name.split(".")[0] in OURS
            and (record.levelno >= logging.ERROR or record.exc_info)]


async def test_with_injected_429s_and_500s_every_resident_gets_an_answer(app, caplog):
    residents = [app.resident("lv") for _ in range(30)]
    app.fake.fail_next("sendMessage", 429, retry_after=1, times=2)
    app.fake.fail_next("sendMessage", 500, times=4)
    app.fake.fail_next("editMessageText", 502, "Bad Gateway", times=4)
    app.fake.fail_next("answerCallbackQuery", 429, retry_after=1, times=2)
    app.fake.fail_next("answerCallbackQuery", 500, times=3)

    supported = await asyncio.gather(*(support_the_first_idea(resident) for resident in residents))

    assert [reply.alerts[0].text for reply in supported] == [t("lv", "👍 Thank you! Your support is counted.")] * 30
    injected = [call for call in app.fake.requests if not call.ok]
    assert len(injected) == 15  # every fault was met, and each was retried
    assert errors_logged(caplog) == []
    transient = [record for record in caplog.records if record.name == "bot.request_pacing"]
    assert len(transient) == 15 and {record.levelname for record in transient} == {"WARNING"}
    assert all(t("lv", APOLOGY) not in alert.text for reply in supported for alert in reply.alerts)


async def test_replies_are_paced_under_telegrams_limits(fake_telegram, sqlite_sessions, clock):
    """Telegram's limits switched on: a crowd's welcome messages, and one resident's burst, never meet a 429."""
    await load_example(sqlite_sessions)
    defaults = Settings()  # the pace of a deployment, not the tests' quick one
    app = App(fake_telegram, sqlite_sessions, clock, reply_rate_per_second=defaults.reply_rate_per_second,
              chat_replies_per_second=defaults.chat_replies_per_second)
    # Telegram's limits are not published exactly: about 30 a second, 1 a second in a chat with short bursts
    # (ours: at most 3 within any 3 seconds in a chat, 25 within any second overall).
    fake_telegram.enable_rate_limits(per_chat_per_second=3, global_per_second=30)
    residents = [app.resident("lv") for _ in range(60)]
    welcomes = await asyncio.gather(*(resident.send("/start") for resident in residents))
    assert all(t("lv", IDEAS) in reply.buttons for reply in welcomes)
    impatient = await asyncio.gather(*(residents[0].send("/help") for _ in range(6)))
    assert all(reply.text for reply in impatient)
    assert [call for call in fake_telegram.requests if call.error_code == 429] == []
    await app.close()


def feed_and_wait_for_handling(application: App):
    """Queue the update for the polling bot and return once the bot finished handling it: the other residents'
    updates may be in progress, so "the bot went quiet" cannot be the sign here."""
    handled: dict[int, asyncio.Event] = {}

    async def mark_handled(handler, event, data):
        try:
            return await handler(event, data)
        finally:
            handled.setdefault(event.update_id, asyncio.Event()).set()

    application.dp.update.outer_middleware(mark_handled)

    async def feed(update: dict) -> None:
        update = application.fake.push_update(update)
        async with asyncio.timeout(300):  # a safety net only: a stuck bot fails instead of hanging
            await handled.setdefault(update["update_id"], asyncio.Event()).wait()

    return feed


@pytest.fixture(params=["sqlite", "postgresql+redis"])
async def polling_app(request, fake_telegram, clock, tmp_path):
    """The real polling loop (bounded, as `python -m bot` runs it) on SQLite, or on PostgreSQL with the
    conversations in Redis."""
    from storage.db import create_engine, migrate, session_factory
    from tests.conftest import _postgres_database

    fsm_storage = None
    if request.param == "sqlite":
        databases = None
        url = f"sqlite+aiosqlite:///{tmp_path / 'crowd.db'}"
    else:
        databases = _postgres_database()
        url = await anext(databases)
        fsm_storage = RedisStorage.from_url(REDIS_URL)
        try:
            await fsm_storage.redis.flushdb()
        except Exception as error:
            service_unavailable("Redis", error)
    engine = create_engine(url)
    await migrate(engine)
    sessions = session_factory(engine)
    await load_example(sessions)
    application = App(fake_telegram, sessions, clock, fsm_storage=fsm_storage, admin_ids=frozenset({9}))
    application.feed = feed_and_wait_for_handling(application)
    polling = asyncio.create_task(poll(application.dp, application.bot, application.settings, polling_timeout=1,
                                       handle_signals=False, close_bot_session=False))
    yield application
    await application.dp.stop_polling()
    await polling
    await application.dp.storage.close()
    await application.close()
    await engine.dispose()
    if databases is not None:
        await databases.aclose()


@pytest.mark.timeout(600)  # 1,200 updates: minutes on a loaded 2-core machine (the test waits for events only)
async def test_a_crowd_of_200_proposes_and_votes_at_once_through_polling(polling_app, caplog):
    fake = polling_app.fake
    voters = [polling_app.resident("lv") for _ in range(100)]
    proposers = [polling_app.resident("lv") for _ in range(100)]

    replies = await asyncio.gather(*(support_the_first_idea(resident) for resident in voters),
                                   *(propose(resident, n) for n, resident in enumerate(proposers)))

    votes, proposed = replies[:100], replies[100:]
    assert {reply.alerts[0].text for reply in votes} == {t("lv", "👍 Thank you! Your support is counted.")}
    assert all(reply.text.startswith("🙏") for reply in proposed)
    assert not fake.pending_updates and not fake.unanswered_callbacks()
    assert errors_logged(caplog) == []
    async with polling_app.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Vote))).one() == 100
        pending = select(func.count()).select_from(Idea).where(Idea.status == IdeaStatus.PENDING)
        assert (await session.exec(pending)).one() == 100
