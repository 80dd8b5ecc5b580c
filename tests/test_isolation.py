"""A resident's lock across web workers (bot/isolation.py): kept while an update is handled however long that
takes, and free soon after the worker holding it dies."""

from __future__ import annotations

import asyncio

from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from bot.isolation import RenewedRedisEventIsolation

KEY = StorageKey(bot_id=1, chat_id=5001, user_id=5001)


async def test_a_long_update_keeps_the_resident_locked_beyond_the_locks_lifetime(redis_url):
    redis = Redis.from_url(redis_url)
    isolation = RenewedRedisEventIsolation(redis, seconds=1.5)
    order: list[str] = []
    first_in, release = asyncio.Event(), asyncio.Event()

    async def long_update() -> None:
        async with isolation.lock(KEY):
            order.append("first in")
            first_in.set()
            await release.wait()
            order.append("first out")

    async def next_update() -> None:
        await first_in.wait()
        async with isolation.lock(KEY):
            order.append("second in")

    both = asyncio.gather(long_update(), next_update())
    await first_in.wait()
    await asyncio.sleep(4.5)  # three lifetimes of the lock: without renewal the second update would be in
    assert order == ["first in"]
    release.set()
    await both
    assert order == ["first in", "first out", "second in"]
    await redis.aclose()


async def test_the_lock_of_a_worker_killed_mid_update_frees_within_its_seconds(redis_url):
    redis = Redis.from_url(redis_url)
    isolation = RenewedRedisEventIsolation(redis, seconds=1)
    name = isolation.key_builder.build(KEY, "lock")
    dead_workers = redis.lock(name, timeout=1)  # taken, then nobody extends or releases it: kill -9
    assert await dead_workers.acquire()
    async with isolation.lock(KEY):
        assert 0 < await redis.pttl(name) <= 1000, "the lock lives seconds, not aiogram's minute"
    assert await redis.exists(name) == 0, "released when the update is done"
    await redis.aclose()



async def test_an_update_ending_while_its_lock_is_renewed_lets_go_of_it(redis_url, monkeypatch):
    """redis-py swallows a cancellation that arrives during a command: a renewal stopped by cancelling its task
    went on extending the lock for ever, and the resident's next update waited for good."""
    redis = Redis.from_url(redis_url)
    isolation = RenewedRedisEventIsolation(redis, seconds=0.3)
    name = isolation.key_builder.build(KEY, "lock")
    renewing = asyncio.Event()
    reacquire = Lock.reacquire

    async def signalled_reacquire(lock: Lock) -> bool:
        renewing.set()
        return await reacquire(lock)

    monkeypatch.setattr(Lock, "reacquire", signalled_reacquire)

    async def update_ending_mid_renewal() -> None:
        renewing.clear()
        async with isolation.lock(KEY):
            await renewing.wait()  # the renewal has sent its command: the update ends now

    for round_number in range(20):
        await asyncio.wait_for(update_ending_mid_renewal(), 30)  # a bound, not a budget: a hang fails here
        assert await redis.exists(name) == 0, f"round {round_number}: the lock outlived its update"
    await redis.aclose()


async def test_a_lock_lost_during_a_stall_does_not_fail_the_update(redis_url, caplog):
    """A process stalled beyond the lock's seconds (a saturated machine) finds it gone at the end: the update was
    handled, so that is a warning; an exception here failed the update and Telegram delivered it again."""
    redis = Redis.from_url(redis_url)
    isolation = RenewedRedisEventIsolation(redis, seconds=30)
    name = isolation.key_builder.build(KEY, "lock")
    async with isolation.lock(KEY):
        await redis.delete(name)  # what the lock's expiry does while the process stands still
        handled = True
    assert handled and "had expired before their update was done" in caplog.text
    async with isolation.lock(KEY):  # and the resident is served again at once
        assert await redis.exists(name) == 1
    await redis.aclose()
