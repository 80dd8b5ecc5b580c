"""Two senders (two processes' worth) on one PostgreSQL outbox, sharing the pace through Redis: together they
stay under SEND_RATE_PER_SECOND and 1/s per chat (each pacing itself, they would send twice the rate)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.delivery import Sender
from bot.pacing import PAID_KEY, create_bucket
from storage import outbox
from storage.db import create_engine, migrate, session_factory
from tests.test_delivery import add_residents, busiest_second, enqueue_all, make_bot, rows

RATE = 10


@pytest.fixture
async def sessions(postgres_url):
    """Several senders share an outbox on PostgreSQL."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()


async def run_until_delivered(senders: list[Sender], bots, sessions) -> None:
    """Runs the senders together until no message waits or is on its way (the bound only catches a hang)."""
    stop = asyncio.Event()
    running = [asyncio.create_task(sender.run_forever(stop)) for sender in senders]
    try:
        async with asyncio.timeout(60):
            while True:  # polled: the senders run in this process but announce nothing
                if all(row.status not in (outbox.PENDING, outbox.SENDING) for row in await rows(sessions)):
                    break
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*running)
        for bot in bots:
            await bot.session.close()


async def test_two_senders_together_keep_the_global_and_per_chat_pace(sessions, fake_telegram, redis_url):
    chats = list(range(3001, 3031))
    await add_residents(sessions, fake_telegram, chats)
    await enqueue_all(sessions, [(chat, f"news {n} for {chat}") for n in range(2) for chat in chats])
    # Telegram's limits as the fake enforces them, a little above our rate: each sender alone would exceed them.
    fake_telegram.enable_rate_limits(per_chat_per_second=1, global_per_second=RATE + 2)
    bots = [make_bot(fake_telegram.base_url) for _ in range(2)]
    senders = [Sender(bot, sessions, rate_per_second=RATE, bucket=create_bucket(RATE, redis_url), idle_poll=0.05)
               for bot in bots]
    await run_until_delivered(senders, bots, sessions)
    calls = fake_telegram.calls("sendMessage")
    assert [call.error_code for call in calls if not call.ok] == [], "no 429"
    assert len(calls) == 60
    times = sorted(call.at for call in calls)
    assert busiest_second(times) <= RATE + 1  # the rate plus the bucket's burst of a tenth of a second
    for chat in chats:
        chat_times = sorted(call.at for call in calls if call.chat_id == chat)
        assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(chat_times))


PAID_RATE = 25


async def test_two_senders_with_paid_broadcasts_keep_the_paid_rate_overall_and_the_free_rate_without_the_flag(
        sessions, fake_telegram, redis_url):
    """The combined rule of bot/delivery.py: every message within the shared paid bucket, messages without
    allow_paid_broadcast within the shared free bucket too."""
    digest_chats, personal_chats = list(range(4001, 4041)), list(range(4101, 4121))
    await add_residents(sessions, fake_telegram, digest_chats + personal_chats)
    await enqueue_all(sessions, [(chat, f"digest {n} for {chat}") for n in range(2) for chat in digest_chats])
    async with sessions() as session:
        for n, chat in itertools.product(range(2), personal_chats):
            await outbox.enqueue(session, chat, f"notification {n} for {chat}", kind="notification")
        await session.commit()
    # Each sender alone could reach these limits; the fake answers 429 to anything above them.
    fake_telegram.enable_rate_limits(per_chat_per_second=1, global_per_second=RATE + 2, paid_per_second=PAID_RATE + 6)
    bots = [make_bot(fake_telegram.base_url) for _ in range(2)]
    senders = [Sender(bot, sessions, rate_per_second=RATE, bucket=create_bucket(RATE, redis_url), paid_rate=PAID_RATE,
                      paid_bucket=create_bucket(PAID_RATE, redis_url, PAID_KEY), idle_poll=0.05, max_in_flight=16)
               for bot in bots]
    await run_until_delivered(senders, bots, sessions)
    calls = fake_telegram.calls("sendMessage")
    assert [call.error_code for call in calls if not call.ok] == [], "no 429"
    paid = [call for call in calls if call.params.get("allow_paid_broadcast")]
    free = [call for call in calls if not call.params.get("allow_paid_broadcast")]
    assert sorted(call.params["text"] for call in paid) == sorted(
        f"digest {n} for {chat}" for n in range(2) for chat in digest_chats)
    assert len(free) == 40 and all(call.params["text"].startswith("notification") for call in free)
    # On average (a loaded machine only spreads the requests out): all of them within the paid rate, those without
    # the flag within the free rate, after a first burst of a tenth of a second's worth (and one more message for
    # the requests' own jitter). Two separate budgets would send these 120 in about 4 s, not in at least 4.6 s.
    for sent, rate in ((calls, PAID_RATE), (free, RATE)):
        times = sorted(call.at for call in sent)
        assert times[-1] - times[0] >= (len(times) - 2 - rate / 10) / rate
    for chat in digest_chats + personal_chats:
        chat_times = sorted(call.at for call in calls if call.chat_id == chat)
        assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(chat_times))
