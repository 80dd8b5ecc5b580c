"""One resident's updates one at a time across web workers, through a Redis lock that a dead worker cannot hold
for long.

aiogram's `RedisEventIsolation` takes the lock for a fixed 60 s: a worker killed with kill -9 in the middle of a
resident's update left that resident's next updates (Telegram redelivers the lost one at once) waiting a full
minute. Here the lock lasts `seconds` and is extended every third of that while the update is handled, so a long
handler (one waiting out a 429's retry_after) keeps it, and a dead worker's lock is free within `seconds`.

The renewal is stopped by an event, not by cancelling its task: redis-py (8.1) swallows a cancellation that
arrives during a command, so a cancelled renewal went on extending the lock for ever and the resident's next
update waited for good (seen in tests/test_webhook_workers.py).

A process stalled for longer than `seconds` (a saturated machine) loses the lock mid-update. The update was
handled all the same: that is a warning, not a failed update (which Telegram would deliver again)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError

log = logging.getLogger(__name__)
LONGEST_HOLD = 180.0  # seconds: an update still running by then is stuck; its resident is let go


class RenewedRedisEventIsolation(RedisEventIsolation):
    def __init__(self, redis, *, seconds: float) -> None:
        super().__init__(redis=redis, lock_kwargs={"timeout": seconds})
        self.seconds = seconds

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        name = self.key_builder.build(key, "lock")
        held = self.redis.lock(name=name, timeout=self.seconds, lock_class=Lock)
        await held.acquire()  # waits as long as it takes
        done = asyncio.Event()
        renewal = asyncio.create_task(self._keep(held, done))
        try:
            yield None
        finally:
            done.set()
            await renewal  # within one Redis command's time
            try:
                await held.release()
            except LockNotOwnedError:
                log.warning("a resident's lock had expired before their update was done (the process stalled "
                            "for more than %g s)", self.seconds)

    async def _keep(self, held: Lock, done: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + LONGEST_HOLD
        while loop.time() < until:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.seconds / 3)
            if done.is_set():
                return
            try:
                await held.reacquire()  # back to the full `seconds`
            except (LockError, RedisError) as error:  # lost (a stall longer than `seconds`) or Redis is away
                log.warning("a resident's lock could not be extended: %s", error)
                return
        log.warning("an update held its resident's lock for %d s: let go", LONGEST_HOLD)
