"""The outbox sender, through the fake Bot API server with the real aiogram Bot: every message delivered once,
in order per chat, paced under Telegram's limits, through 429/5xx/403/400, a kill -9 and several senders."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import update
from sqlmodel import select

from bot.config import Settings
from bot.delivery import Outcome, Sender, start_sender, stop_sender
from storage import outbox
from storage.db import SessionFactory, create_engine, migrate, session_factory
from storage.models import OutboxMessage, User, utcnow
from storage.users import set_reachable
from tests.conftest import PROCESS_START_BOUND, TEST_TOKEN, _postgres_database, eventually, starts_processes
from tests.fake_telegram import FakeTelegram

FAST_RETRY = outbox.RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- helpers


def make_bot(base_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    return Bot(TEST_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(fake_telegram.base_url)
    yield bot
    await bot.session.close()


def quick_sender(bot: Bot, sessions: SessionFactory, **kwargs) -> Sender:
    """A sender with short waits, for tests of outcomes rather than of pacing."""
    options = {"rate_per_second": 100.0, "chat_interval": 0.1, "retry": FAST_RETRY, "idle_poll": 0.05}
    return Sender(bot, sessions, **{**options, **kwargs})


async def add_residents(sessions: SessionFactory, fake: FakeTelegram, chat_ids: Iterable[int]) -> None:
    async with sessions() as session:
        for chat_id in chat_ids:
            fake.add_user(chat_id)
            session.add(User(id=chat_id))
        await session.commit()


async def enqueue_all(sessions: SessionFactory, messages: Iterable[tuple[int, str]], **kwargs) -> None:
    async with sessions() as session:
        for chat_id, text in messages:
            await outbox.enqueue(session, chat_id, text, kind="digest", **kwargs)
        await session.commit()


async def rows(sessions: SessionFactory) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def by_text(sessions: SessionFactory) -> dict[str, OutboxMessage]:
    return {row.text: row for row in await rows(sessions)}


async def deliver_everything(sender: Sender, sessions: SessionFactory) -> Counter:
    """Run the sender until no row waits (retries included; rows scheduled for an hour later aside)."""
    counts: Counter = Counter()
    soon = utcnow() + timedelta(minutes=1)

    async def nothing_waits() -> bool:
        if any(row.status == outbox.PENDING and row.not_before < soon for row in await rows(sessions)):
            counts.update(await sender.run_once())
            return False
        return True

    await eventually(nothing_waits, what="every message delivered", interval=0.02)
    return counts


def delivered_texts(fake: FakeTelegram, method: str = "sendMessage") -> Counter:
    """How many times each text reached the fake (successful sends only)."""
    return Counter(call.params.get("text") or call.params.get("caption") for call in fake.calls(method) if call.ok)


def chat_texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [message.text or message.caption for message in fake.messages(chat_id)]


# ---------------------------------------------------------------- delivery and outcomes


async def test_every_message_delivered_once_in_order_per_chat(sessions, fake_telegram, bot, tmp_path):
    chats = [501, 502, 503]
    await add_residents(sessions, fake_telegram, chats)
    later = utcnow() + timedelta(hours=1)
    await enqueue_all(sessions, [(503, "scheduled for later")], not_before=later)  # does not hold 503's others back
    await enqueue_all(sessions, [(chat, f"<b>Ziņa</b> {n} to {chat}") for n in range(3) for chat in chats])
    photo = tmp_path / "idea.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"0" * 2000)
    keyboard = {"inline_keyboard": [[{"text": "Atvērt", "callback_data": "idea:7"}]]}
    async with sessions() as session:
        await outbox.enqueue(session, 501, "with a button", kind="notification", reply_markup=keyboard)
        await outbox.enqueue(session, 502, "<i>photo</i>", kind="digest", photo_path=str(photo))
        await session.commit()

    counts = await deliver_everything(quick_sender(bot, sessions), sessions)

    assert counts == {Outcome.SENT: 11}
    assert chat_texts(fake_telegram, 501) == [f"Ziņa {n} to 501" for n in range(3)] + ["with a button"]
    assert chat_texts(fake_telegram, 502) == [f"Ziņa {n} to 502" for n in range(3)] + ["photo"]
    assert fake_telegram.last_message(501).button_texts == ["Atvērt"]
    assert fake_telegram.last_message(502).photo_size == 2003
    assert set(delivered_texts(fake_telegram).values()) == {1}
    assert chat_texts(fake_telegram, 503) == [f"Ziņa {n} to 503" for n in range(3)]
    scheduled, *others = await rows(sessions)
    assert (scheduled.status, scheduled.attempts) == ("pending", 0)
    assert {(row.status, row.attempts) for row in others} == {("sent", 1)}
    assert all(row.sent_at is not None for row in others)


async def test_flood_control_pauses_the_whole_sender(sessions, fake_telegram, bot):
    chats = [601, 602, 603, 604]
    await add_residents(sessions, fake_telegram, chats)
    await enqueue_all(sessions, [(601, "first to 601"), (601, "second to 601")])
    fake_telegram.fail_next("sendMessage", 429, retry_after=1, chat_id=601)

    delivering = asyncio.create_task(deliver_everything(quick_sender(bot, sessions, rate_per_second=20), sessions))
    # The sender pauses before it records the refusal; messages to other chats due from then on wait as well.
    await eventually(lambda: _was_refused(sessions, "first to 601"), what="the 429 was recorded")
    await enqueue_all(sessions, [(c, f"to {c}") for c in chats[1:]])
    await delivering

    calls = fake_telegram.calls("sendMessage")
    (flood,) = [call for call in calls if call.error_code == 429]
    assert all(call.at - flood.at >= 0.98 for call in calls if call is not flood)  # nothing until retry_after
    assert chat_texts(fake_telegram, 601) == ["first to 601", "second to 601"]
    assert set(delivered_texts(fake_telegram).values()) == {1} and len(delivered_texts(fake_telegram)) == 5
    first = (await by_text(sessions))["first to 601"]
    assert (first.status, first.attempts) == ("sent", 1)  # a 429 is not the message's fault: not counted


async def _was_refused(sessions: SessionFactory, text: str) -> bool:
    return "Too Many Requests" in ((await by_text(sessions))[text].last_error or "")


async def test_server_errors_are_retried_then_delivered(sessions, fake_telegram, bot):
    await add_residents(sessions, fake_telegram, [701, 702])
    await enqueue_all(sessions, [(701, "news 1"), (701, "news 2"), (702, "other")])
    fake_telegram.fail_next("sendMessage", 500, times=2, chat_id=701)

    counts = await deliver_everything(quick_sender(bot, sessions), sessions)

    assert counts == {Outcome.SENT: 3, Outcome.RETRY: 2}
    assert chat_texts(fake_telegram, 701) == ["news 1", "news 2"]  # the later one waited for the retries
    news = (await by_text(sessions))["news 1"]
    assert (news.status, news.attempts) == ("sent", 3)
    assert len(fake_telegram.calls("sendMessage", chat_id=701)) == 4


async def test_blocked_chat_stops_and_resident_becomes_unreachable(sessions, fake_telegram, bot):
    await add_residents(sessions, fake_telegram, [801, 802])
    await enqueue_all(sessions, [(801, "a"), (801, "b"), (802, "c"), (801, "d")])
    fake_telegram.block(801)

    counts = await deliver_everything(quick_sender(bot, sessions), sessions)

    assert counts == {Outcome.SENT: 1, Outcome.BLOCKED: 1}
    assert len(fake_telegram.calls("sendMessage", chat_id=801)) == 1  # "b" and "d" were never attempted
    statuses = {text: row.status for text, row in (await by_text(sessions)).items()}
    assert statuses == {"a": "blocked", "b": "blocked", "c": "sent", "d": "blocked"}
    async with sessions() as session:
        assert (await session.get(User, 801)).is_reachable is False
        assert (await session.get(User, 802)).is_reachable is True
        # The resident writes to the bot again.
        assert await set_reachable(session, 801, True) is True
        assert await set_reachable(session, 801, True) is False
        await session.commit()
    async with sessions() as session:
        assert (await session.get(User, 801)).is_reachable is True


async def test_bad_requests_fail_without_retry(sessions, fake_telegram, bot, caplog):
    await add_residents(sessions, fake_telegram, [901])
    await enqueue_all(sessions, [(901, "<b>unclosed"), (901, "fine"), (999, "to a chat Telegram does not know")])

    with caplog.at_level(logging.INFO):
        counts = await deliver_everything(quick_sender(bot, sessions), sessions)

    assert counts == {Outcome.FAILED: 2, Outcome.SENT: 1}
    rows_by_text = await by_text(sessions)
    broken = rows_by_text["<b>unclosed"]
    assert (broken.status, broken.attempts) == ("failed", 1)
    assert "can't parse entities" in broken.last_error
    assert "chat not found" in rows_by_text["to a chat Telegram does not know"].last_error
    assert len(fake_telegram.calls("sendMessage")) == 3  # each tried once
    assert chat_texts(fake_telegram, 901) == ["fine"]
    assert any(r.levelno == logging.ERROR and "can't parse entities" in r.getMessage() for r in caplog.records)
    assert TEST_TOKEN not in caplog.text


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_network_errors_back_off_then_give_up(sqlite_sessions, caplog):
    sessions = sqlite_sessions
    await enqueue_all(sessions, [(1001, "hello")])
    unreachable_bot = make_bot(closed_port_url())
    sender = quick_sender(unreachable_bot, sessions, retry=outbox.RetryPolicy(max_attempts=2, base_delay=60))
    try:
        with caplog.at_level(logging.INFO):
            before = utcnow()
            assert await sender.run_once() == {Outcome.RETRY: 1}
            (row,) = await rows(sessions)
            assert (row.status, row.attempts) == ("pending", 1)
            assert row.last_error.startswith("TelegramNetworkError")
            assert row.not_before - before >= timedelta(seconds=30)  # backed off (30..60 s with jitter)
            assert await sender.run_once() == {}  # not due yet
            async with sessions() as session:  # the backoff has passed
                await session.exec(update(OutboxMessage).values(not_before=utcnow()))
                await session.commit()
            assert await sender.run_once() == {Outcome.FAILED: 1}
    finally:
        await unreachable_bot.session.close()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error.startswith("gave up after 2 attempts")
    assert TEST_TOKEN not in caplog.text and TEST_TOKEN not in row.last_error


def test_tokens_are_redacted_from_error_texts():
    error = f"ClientConnectorError: Cannot connect to http://api.example/bot{TEST_TOKEN}/sendMessage"
    assert outbox.redact_secrets(error) == "ClientConnectorError: Cannot connect to http://api.example/bot<token>/sendMessage"
    assert len(outbox.redact_secrets("x" * 10_000)) == outbox.MAX_ERROR_LENGTH


async def test_a_missing_photo_fails_without_a_request(sqlite_sessions, fake_telegram, bot):
    await add_residents(sqlite_sessions, fake_telegram, [1201])
    await enqueue_all(sqlite_sessions, [(1201, "caption")], photo_path="/nonexistent/idea.jpg")

    assert await quick_sender(bot, sqlite_sessions).run_once() == {Outcome.FAILED: 1}
    (row,) = await rows(sqlite_sessions)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "FileNotFoundError: photo /nonexistent/idea.jpg not found"
    assert fake_telegram.calls("sendPhoto") == []


async def test_start_sender_delivers_until_stopped(sqlite_sessions, fake_telegram, bot):
    await add_residents(sqlite_sessions, fake_telegram, [1301, 1302])
    settings = Settings(bot_token=TEST_TOKEN, telegram_api_url=fake_telegram.base_url, send_rate_per_second=50)
    task, stop = start_sender(bot, sqlite_sessions, settings)
    try:
        await enqueue_all(sqlite_sessions, [(1301, "while running"), (1302, "and another")])
        await eventually(lambda: len(delivered_texts(fake_telegram)) == 2, what="both messages delivered")
    finally:
        await stop_sender(task, stop)
    assert task.done() and not task.cancelled()
    assert {row.status for row in await rows(sqlite_sessions)} == {"sent"}


async def test_with_paid_broadcast_rate_digests_go_paid_and_notifications_do_not(sqlite_sessions, fake_telegram, bot):
    await add_residents(sqlite_sessions, fake_telegram, [1311, 1312])
    settings = Settings(bot_token=TEST_TOKEN, telegram_api_url=fake_telegram.base_url, paid_broadcast_rate=100)
    task, stop = start_sender(bot, sqlite_sessions, settings)
    try:
        await enqueue_all(sqlite_sessions, [(1311, "the weekly digest")])  # kind "digest"
        async with sqlite_sessions() as session:
            await outbox.enqueue(session, 1312, "your idea was published", kind="notification")
            await session.commit()
        await eventually(lambda: len(delivered_texts(fake_telegram)) == 2, what="both messages delivered")
    finally:
        await stop_sender(task, stop)
    calls = fake_telegram.calls("sendMessage")
    flags = {call.params["text"]: call.params.get("allow_paid_broadcast") for call in calls}
    assert flags == {"the weekly digest": True, "your idea was published": None}


@pytest.mark.parametrize("refusal", [(400, "Bad Request: not enough Stars for a paid broadcast"),
                                     (403, "Forbidden: bot can't make paid broadcasts")])
async def test_a_refused_paid_broadcast_goes_out_at_the_free_pace_and_paid_broadcasting_stops(
        sessions, fake_telegram, bot, caplog, refusal):
    chats = list(range(1321, 1331))
    await add_residents(sessions, fake_telegram, chats)
    fake_telegram.refuse_paid_broadcasts(*refusal)  # the bot's Stars ran out
    await enqueue_all(sessions, [(chat, f"digest for {chat}") for chat in chats])  # kind "digest": paid
    sender = quick_sender(bot, sessions, paid_rate=100, max_in_flight=4)
    with caplog.at_level(logging.ERROR, logger="bot.delivery"):
        await deliver_everything(sender, sessions)

    assert delivered_texts(fake_telegram) == Counter(f"digest for {chat}" for chat in chats)  # each once
    assert {row.status for row in await rows(sessions)} == {"sent"}
    paid_calls = [call for call in fake_telegram.calls("sendMessage") if call.params.get("allow_paid_broadcast")]
    assert paid_calls and not any(call.ok for call in paid_calls)
    assert len(paid_calls) <= 4  # those in flight when the first refusal came back; then no more
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and "SEND_RATE_PER_SECOND" in errors[0] and TEST_TOKEN not in errors[0]
    assert sender.paid_rate == 0


async def test_a_paid_broadcast_refused_for_its_chat_is_not_sent_again_and_paid_broadcasting_goes_on(
        sessions, fake_telegram, bot, caplog):
    await add_residents(sessions, fake_telegram, [1341, 1342, 1343])
    fake_telegram.users[1341].blocked = True
    fake_telegram.fail_next("sendMessage", 400, "Bad Request: chat not found", chat_id=1342, times=2)
    await enqueue_all(sessions, [(1341, "to a blocker"), (1342, "to a deleted account"), (1343, "to a reader")])
    sender = quick_sender(bot, sessions, paid_rate=100)
    with caplog.at_level(logging.ERROR, logger="bot.delivery"):
        await deliver_everything(sender, sessions)

    statuses = {row.text: row.status for row in await rows(sessions)}
    assert statuses == {"to a blocker": "blocked", "to a deleted account": "failed", "to a reader": "sent"}
    assert [call.params.get("allow_paid_broadcast") for call in fake_telegram.calls("sendMessage")
            if call.chat_id == 1341] == [True]  # blocked: not tried again without the flag
    assert [call.params.get("allow_paid_broadcast") for call in fake_telegram.calls("sendMessage")
            if call.chat_id == 1342] == [True, None]  # tried once without it: the message itself was refused
    assert sender.paid_rate == 100 and not caplog.records


# ---------------------------------------------------------------- batches, dedupe


async def test_enqueue_with_the_same_dedupe_key_writes_one_row(sessions):
    async with sessions() as session:
        assert await outbox.enqueue(session, 1, "digest", kind="digest", dedupe_key="digest:2026-48:1") is True
        assert await outbox.enqueue(session, 1, "digest", kind="digest", dedupe_key="digest:2026-48:1") is False
        await session.commit()
    async with sessions() as session:
        assert await outbox.enqueue(session, 1, "again", kind="digest", dedupe_key="digest:2026-48:1") is False
        await session.commit()
    assert [row.text for row in await rows(sessions)] == ["digest"]


async def test_a_paused_batch_waits_and_progress_counts_it(sessions, fake_telegram, bot):
    chats = list(range(1101, 1107))
    await add_residents(sessions, fake_telegram, chats)
    await enqueue_all(sessions, [(chat, f"digest for {chat}") for chat in chats], batch_id="digest-48")
    await enqueue_all(sessions, [(1101, "a notification")])
    sender = quick_sender(bot, sessions)

    async with sessions() as session:
        assert await outbox.pause_batch(session, "digest-48") == 6
        await session.commit()
        progress = await outbox.batch_progress(session, "digest-48")
    assert (progress.total, progress.paused, progress.sent, progress.done) == (6, 6, 0, False)

    assert await sender.run_once() == {Outcome.SENT: 1}  # only the notification: it does not wait for the digest
    assert chat_texts(fake_telegram, 1101) == ["a notification"]

    async with sessions() as session:
        assert await outbox.resume_batch(session, "digest-48") == 6
        await session.commit()
        progress = await outbox.batch_progress(session, "digest-48")
    assert (progress.waiting, progress.eta(25).total_seconds()) == (6, 6 / 25)

    await deliver_everything(sender, sessions)
    async with sessions() as session:
        progress = await outbox.batch_progress(session, "digest-48")
    assert (progress.total, progress.sent, progress.blocked, progress.failed, progress.done) == (6, 6, 0, 0, True)


# ---------------------------------------------------------------- pacing


def busiest_second(times: list[float]) -> int:
    """The most sends within any one-second window."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1) for i, start in enumerate(times))


async def test_a_burst_is_paced_under_telegrams_limits(sqlite_sessions, fake_telegram, bot):
    sessions = sqlite_sessions
    residents = list(range(2001, 2061))
    busy = 3000
    await add_residents(sessions, fake_telegram, [*residents, busy])
    await enqueue_all(sessions, [(busy, f"notification {n}") for n in range(5)])
    await enqueue_all(sessions, [(chat, f"digest {n} to {chat}") for n in range(2) for chat in residents])
    fake_telegram.enable_rate_limits(per_chat_per_second=1, global_per_second=30)

    started = time.monotonic()
    counts = await deliver_everything(Sender(bot, sessions, rate_per_second=25), sessions)
    elapsed = time.monotonic() - started

    calls = fake_telegram.calls("sendMessage")
    assert [call.error_code for call in calls if not call.ok] == []  # zero 429s
    assert counts == {Outcome.SENT: 125}
    times = [call.at for call in calls]
    achieved = (len(times) - 1) / (max(times) - min(times))
    print(f"\n125 messages in {elapsed:.2f} s: {achieved:.1f}/s overall, busiest second {busiest_second(times)}")
    assert achieved < 27 and busiest_second(times) < 30
    assert elapsed > 4.0  # 125 at 25/s, less the initial burst (how fast it gets there: benchmarks/)
    for chat in [*residents, busy]:
        chat_times = sorted(call.at for call in calls if call.chat_id == chat)
        assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(chat_times))
    assert chat_texts(fake_telegram, busy) == [f"notification {n}" for n in range(5)]


# ---------------------------------------------------------------- exactly once under kill -9

WORKER = """
import asyncio, os, sys
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from bot.delivery import Sender
from storage.db import create_engine, session_factory

async def main():
    database_url, api_url, max_in_flight = sys.argv[1:]
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    bot = Bot(os.environ["BOT_TOKEN"], session=session, default=DefaultBotProperties(parse_mode="HTML"))
    sessions = session_factory(create_engine(database_url))
    print("ready", flush=True)
    await Sender(bot, sessions, rate_per_second=20, max_in_flight=int(max_in_flight)).run_once()

asyncio.run(main())
"""


@starts_processes
async def test_kill_9_mid_digest_never_sends_twice(tmp_path, fake_telegram, bot):
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    engine = create_engine(url)
    await migrate(engine)
    sessions = session_factory(engine)
    chats = list(range(4001, 4031))
    await add_residents(sessions, fake_telegram, chats)
    await enqueue_all(sessions, [(chat, f"digest {n} to {chat}") for n in range(2) for chat in chats])
    # Eight messages are answered; the next ones stay unanswered until the kill, so it lands mid-digest with
    # every request slot taken, however fast the worker runs.
    max_in_flight = 4
    fake_telegram.hold("sendMessage", after=8)

    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, url, fake_telegram.base_url, str(max_in_flight),
        cwd=PROJECT_ROOT, env={**os.environ, "BOT_TOKEN": TEST_TOKEN},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        ready = await asyncio.wait_for(worker.stdout.readline(), PROCESS_START_BOUND)
        assert ready == b"ready\n", (await worker.stderr.read()).decode()
        await eventually(lambda: fake_telegram.held == max_in_flight or worker.returncode is not None,
                         what=f"the worker has {max_in_flight} requests in flight")
        assert worker.returncode is None, (await worker.stderr.read()).decode()
    finally:
        if worker.returncode is None:
            os.kill(worker.pid, signal.SIGKILL)
        await worker.wait()
    fake_telegram.release()
    await fake_telegram.wait_idle(quiet=0.1)  # the requests in flight at the kill complete at "Telegram"

    at_kill = await rows(sessions)
    sending_at_kill = {row.text for row in at_kill if row.status == "sending"}
    sent_at_kill = {row.text for row in at_kill if row.status == "sent"}
    assert (len(sent_at_kill), len(sending_at_kill)) == (8, max_in_flight)

    await deliver_everything(Sender(bot, sessions, rate_per_second=50, chat_interval=0.2), sessions)
    await engine.dispose()

    delivered = delivered_texts(fake_telegram)
    assert set(delivered.values()) == {1}, "a message was sent twice"
    final = {row.text: row.status for row in await rows(sessions)}
    not_ambiguous = set(final) - sending_at_kill
    assert not_ambiguous <= set(delivered) and {final[text] for text in not_ambiguous} == {"sent"}
    undelivered = set(final) - set(delivered)
    assert undelivered <= sending_at_kill and len(undelivered) <= max_in_flight
    assert {final[text] for text in sending_at_kill} <= {"sending"}  # never retried: treated as sent
    for chat in chats:
        assert chat_texts(fake_telegram, chat) == sorted(chat_texts(fake_telegram, chat))  # in order
    print(f"\nkill -9: {len(sending_at_kill)} in flight, {len(undelivered)} undelivered, none twice")


# ---------------------------------------------------------------- several senders on PostgreSQL


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in _postgres_database():  # fails instead of skipping when REQUIRE_SERVICES=1
        yield url


async def test_several_senders_share_one_outbox_on_postgresql(postgres_url, fake_telegram):
    engines = [create_engine(postgres_url) for _ in range(3)]
    await migrate(engines[0])
    factories = [session_factory(engine) for engine in engines]
    chats = list(range(5001, 5101))
    await add_residents(factories[0], fake_telegram, chats)
    await enqueue_all(factories[0], [(chat, f"digest {n} to {chat}") for n in range(2) for chat in chats])
    bots = [make_bot(fake_telegram.base_url) for _ in engines]
    senders = [
        Sender(bot, factory, rate_per_second=150, chat_interval=0.3, idle_poll=0.05)
        for bot, factory in zip(bots, factories, strict=True)
    ]
    try:
        results = await asyncio.gather(
            *(deliver_everything(sender, factory) for sender, factory in zip(senders, factories, strict=True))
        )
    finally:
        for bot in bots:
            await bot.session.close()
        for engine in engines:
            await engine.dispose()

    sent_by_each = [result[Outcome.SENT] for result in results]
    print(f"\nthree senders on PostgreSQL sent {sent_by_each}")
    assert sum(sent_by_each) == 200 and sum(1 for count in sent_by_each if count) >= 2
    delivered = delivered_texts(fake_telegram)
    assert len(delivered) == 200 and set(delivered.values()) == {1}
    for chat in chats:
        assert chat_texts(fake_telegram, chat) == [f"digest {n} to {chat}" for n in range(2)]
