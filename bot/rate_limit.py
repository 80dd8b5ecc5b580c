"""The per-resident rate limit: at most RATE_LIMIT_PER_MINUTE messages and presses a minute. Beyond it an
update is dropped with one polite answer a minute; a pressed button is always answered.

Cheap: it runs before the update's database session and the resident's load, counting by Telegram id, so an
update over the limit costs no database work. Only then is the resident read, for the exemption of
moderators (a banned one is not exempt) and the answer's language. With REDIS_URL the count is shared by
every bot process (one-minute windows; one round trip for the updates in flight); otherwise it is per process."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n

from bot import metrics
from storage.batching import Batcher
from storage.db import SessionFactory
from storage.moderation import get_user

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
WINDOW = 60  # seconds
MAX_KNOWN = 10_000  # limited residents remembered at once


class Window(Protocol):
    async def hit(self, user_id: int) -> bool:
        """Count one update; True while the resident is within the limit."""

    async def first_warning(self, user_id: int) -> bool:
        """True once a window: the resident gets one polite answer, then silence."""


class MemoryWindow:
    """A sliding minute per resident, in this process."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.recent: dict[int, deque[float]] = {}
        self.warned_at: dict[int, float] = {}
        self.last_sweep = time.monotonic()

    async def hit(self, user_id: int) -> bool:
        now = time.monotonic()
        self._sweep(now)
        recent = self.recent.setdefault(user_id, deque())
        while recent and now - recent[0] > WINDOW:
            recent.popleft()
        if len(recent) >= self.per_minute:
            return False
        recent.append(now)
        return True

    async def first_warning(self, user_id: int) -> bool:
        now = time.monotonic()
        if now - self.warned_at.get(user_id, -WINDOW) < WINDOW:
            return False
        self.warned_at[user_id] = now
        return True

    def _sweep(self, now: float) -> None:
        """Forget residents who were quiet for a whole window, so memory follows the active ones."""
        if now - self.last_sweep < WINDOW:
            return
        self.last_sweep = now
        for user_id in [uid for uid, times in self.recent.items() if not times or now - times[-1] > WINDOW]:
            self.recent.pop(user_id, None)
            self.warned_at.pop(user_id, None)


# Each key's count after its INCR (a key twice is counted twice: two updates), each key expiring; atomic, as a
# script is. A MULTI pipeline of INCR and EXPIRE did the same at 1.5 times redis-py's CPU for one hit, 10 times
# per hit for 64 (measured: EXPIRE's argument handling and the QUEUED replies).
COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    counts[i] = redis.call('INCR', key)
    redis.call('EXPIRE', key, ARGV[1])
end
return counts
"""


class RedisWindow:
    """One-minute windows in Redis, shared by every process. The hits of concurrent updates share one round trip
    (storage/batching.py): each still counts once, so the limit stays exact."""

    def __init__(self, redis, per_minute: int, prefix: str = "manabalss:rate") -> None:
        self.redis = redis
        self.per_minute = per_minute
        self.prefix = prefix
        self._script = redis.register_script(COUNT_SCRIPT)
        self._hits: Batcher[str, int] = Batcher(self._count)

    async def hit(self, user_id: int) -> bool:
        return await self._hits(f"{self.prefix}:{user_id}:{int(time.time()) // WINDOW}") <= self.per_minute

    async def _count(self, keys: list[str]) -> list[int]:
        return await self._script(keys=keys, args=[WINDOW * 2])

    async def first_warning(self, user_id: int) -> bool:
        return bool(await self.redis.set(f"{self.prefix}:warned:{user_id}", 1, ex=WINDOW, nx=True))


class RateLimitMiddleware(BaseMiddleware):
    """An outer middleware on updates, registered before the database session (see the module docstring)."""

    def __init__(self, window: Window, sessions: SessionFactory, i18n: I18n, admin_ids: frozenset[int],
                 answer: Callable[[], str]) -> None:
        self.window = window
        self.sessions = sessions
        self.i18n = i18n
        self.admin_ids = admin_ids
        self.answer = answer
        self.known: dict[int, tuple[float, bool, str]] = {}  # limited residents: (read at, exempt, language)

    async def __call__(self, handler: Handler, event: Update, data: dict[str, Any]) -> Any:
        from_user: TelegramUser | None = data.get("event_from_user")
        limited = event.message is not None or event.callback_query is not None
        if not limited or from_user is None or from_user.id in self.admin_ids:
            return await handler(event, data)
        if await self.window.hit(from_user.id):
            return await handler(event, data)
        exempt, language = await self._resident(from_user.id)
        if exempt:
            return await handler(event, data)
        metrics.RATE_LIMITED.inc()
        if event.callback_query is not None:
            await event.callback_query.answer(self._text(language), show_alert=False)
        elif await self.window.first_warning(from_user.id):
            await event.message.answer(self._text(language))
        return None

    async def _resident(self, user_id: int) -> tuple[bool, str]:
        """Whether the resident is exempt (a moderator, not banned), and their language: read once a window, so
        a resident flooding the bot costs one database read a minute."""
        now = time.monotonic()
        known = self.known.get(user_id)
        if known is not None and now - known[0] < WINDOW:
            return known[1], known[2]
        async with self.sessions() as session:
            resident = await get_user(session, user_id)
        exempt = resident is not None and resident.is_moderator and not resident.is_banned
        language = resident.language if resident is not None else self.i18n.default_locale
        if len(self.known) >= MAX_KNOWN:
            self.known.clear()
        self.known[user_id] = (now, exempt, language)
        return exempt, language

    def _text(self, language: str) -> str:
        with self.i18n.context(), self.i18n.use_locale(language):
            return self.answer()


def create_window(per_minute: int, redis_url: str | None) -> Window:
    if not redis_url:
        return MemoryWindow(per_minute)
    from redis.asyncio import Redis

    return RedisWindow(Redis.from_url(redis_url), per_minute)
