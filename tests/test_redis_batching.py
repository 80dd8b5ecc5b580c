"""Concurrent Redis requests share round trips (storage/batching.py): the generations' reads and bumps
(storage/cache.py) and the rate limit's hits (bot/rate_limit.py). Round trips are counted by wrapping the
client's call, and the first one is held in flight until the others have queued, so nothing here depends on
the machine's speed."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot import rate_limit
from bot.rate_limit import RedisWindow
from storage.cache import RedisGenerations, card_keys, resident_keys

PREFIX = "manabalss:gen:"


class HeldCalls:
    """Wraps a coroutine function: records each call's arguments and holds the first call in flight, before or
    after its real round trip, until `release` is set."""

    def __init__(self, function, hold: str = "before") -> None:
        self.function = function
        self.hold = hold
        self.calls: list[tuple] = []
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, *args):
        self.calls.append(args)
        first = len(self.calls) == 1
        if first and self.hold == "before":
            self.in_flight.set()
            await self.release.wait()
        result = await self.function(*args)
        if first and self.hold == "after":
            self.in_flight.set()
            await self.release.wait()
        return result


async def until(condition) -> None:
    """Lets the other tasks run until `condition()` holds: a few turns of the event loop, no clock (a queued
    request is queued in its task's first turn)."""
    for _ in range(10):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the requests did not queue")


@pytest.fixture
async def generations(redis_url):
    generations = RedisGenerations(redis_url)
    yield generations
    await generations.redis.aclose()


async def test_a_crowd_of_reads_shares_mgets_and_each_reader_gets_its_own_generations(generations):
    await generations.redis.mset({f"{PREFIX}resident:{user_id}": user_id for user_id in range(1, 41)})
    await generations.redis.set(f"{PREFIX}resident", 7)
    mget = generations.redis.mget = HeldCalls(generations.redis.mget)

    first = asyncio.create_task(generations.read(resident_keys(1)))
    await mget.in_flight.wait()
    crowd = [asyncio.create_task(generations.read(resident_keys(user_id))) for user_id in range(2, 41)]
    await until(lambda: len(generations._reads.waiting) == len(crowd))
    mget.release.set()

    assert await asyncio.gather(first, *crowd) == [(user_id, 7) for user_id in range(1, 41)]
    assert len(mget.calls) == 2  # the first reader alone, then the 39 that waited for it together
    assert len(mget.calls[1][0]) == 40  # their 39 keys and "resident", asked for once


async def test_a_bump_completed_before_a_read_is_asked_for_is_seen_by_it(generations):
    """The MGET in flight was answered before the bump: a read asked for after the bump may not share it."""
    mget = generations.redis.mget = HeldCalls(generations.redis.mget, hold="after")
    early = asyncio.create_task(generations.read(card_keys(7)))
    await mget.in_flight.wait()  # answered by Redis, not yet handed to its reader
    await generations.bump({"idea:7"})
    late = asyncio.create_task(generations.read(card_keys(7)))
    await until(lambda: generations._reads.waiting)
    mget.release.set()

    assert await early == (0, 0, 0, 0)
    assert await late == (1, 0, 0, 0)
    assert len(mget.calls) == 2


async def test_a_crowd_of_bumps_shares_a_pipeline_and_every_key_goes_up(generations):
    send = generations._bumps.send = HeldCalls(generations._bumps.send)
    first = asyncio.create_task(generations.bump({"idea:1", "idea"}))
    await send.in_flight.wait()
    crowd = [asyncio.create_task(generations.bump({f"idea:{idea_id}", "idea"})) for idea_id in range(2, 21)]
    await until(lambda: len(generations._bumps.waiting) == len(crowd))
    send.release.set()
    await asyncio.gather(first, *crowd)

    assert len(send.calls) == 2
    assert await generations.read([f"idea:{idea_id}" for idea_id in range(1, 21)]) == (1,) * 20
    assert await generations.read(["idea"]) == (2,)  # once for the first commit, once for the 19 after it


@pytest.mark.parametrize("failing", ["the first", "the shared"])
async def test_an_error_of_redis_reaches_every_reader_of_its_mget_and_the_next_one_is_made(generations, failing):
    real_mget = generations.redis.mget

    async def mget(keys):
        if len(held.calls) == (1 if failing == "the first" else 2):
            raise RedisConnectionError("Redis went away")
        return await real_mget(keys)

    held = generations.redis.mget = HeldCalls(mget)
    first = asyncio.create_task(generations.read(resident_keys(1)))
    await held.in_flight.wait()
    crowd = [asyncio.create_task(generations.read(resident_keys(user_id))) for user_id in range(2, 22)]
    await until(lambda: len(generations._reads.waiting) == len(crowd))
    held.release.set()

    answers = await asyncio.gather(first, *crowd, return_exceptions=True)
    failed = [isinstance(answer, RedisConnectionError) for answer in answers]
    assert failed == ([True] + [False] * 20 if failing == "the first" else [False] + [True] * 20)
    assert await generations.read(resident_keys(1)) == (0, 0)  # nothing stuck: the next read is served


async def test_concurrent_hits_share_a_transaction_and_the_limit_stays_exact(redis_url, monkeypatch):
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: 6_000.0, monotonic=time.monotonic))
    window = RedisWindow(Redis.from_url(redis_url), per_minute=10)
    try:
        send = window._hits.send = HeldCalls(window._hits.send)
        first = asyncio.create_task(window.hit(501))
        await send.in_flight.wait()
        crowd = [asyncio.create_task(window.hit(501 if n < 14 else 502)) for n in range(19)]
        await until(lambda: len(window._hits.waiting) == len(crowd))
        send.release.set()
        within = await asyncio.gather(first, *crowd)

        assert len(send.calls) == 2
        assert within[:15] == [True] * 10 + [False] * 5  # 15 updates of 501, counted one by one
        assert within[15:] == [True] * 5
        assert await window.redis.ttl("manabalss:rate:501:100") > 0  # every count expires
        assert not await window.hit(501)  # the 16th
    finally:
        await window.redis.aclose()
