"""The outbox's pace (bot/delivery.py): a token bucket in this process, or, with REDIS_URL, one in Redis shared
by every sender process (one Lua script per step, so processes never race), with the same methods."""

from __future__ import annotations

import asyncio
import time

FREE_KEY = "manabalss:outbox-pace"
PAID_KEY = "manabalss:outbox-pace-paid"  # every message's budget when paid broadcasts are on (bot/delivery.py)


# KEYS[1]: the bucket; ARGV: rate per second, capacity, tokens wanted (negative: given back, 0: just look).
# Returns the tokens taken and the tokens left. Redis's own clock, so the hosts' clocks do not matter.
_STEP = """
local rate, capacity, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local taken = 0
if want < 0 then
  tokens = math.min(capacity, tokens - want)
else
  taken = math.max(0, math.min(want, math.floor(tokens)))
  tokens = tokens - taken
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return {taken, tostring(tokens)}
"""


class TokenBucket:
    """At most `rate` takes a second on average, and a burst of at most `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def wait_ready(self) -> None:
        """Wait until at least one token is there (without taking it)."""
        self._refill()
        while self._tokens < 1:
            await asyncio.sleep((1 - self._tokens) / self.rate)
            self._refill()

    async def seconds_until_ready(self) -> float:
        """How long until a token is there (0 when one is)."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    async def take_up_to(self, most: int) -> int:
        self._refill()
        taken = max(0, min(most, int(self._tokens)))
        self._tokens -= taken
        return taken

    async def give_back(self, count: int) -> None:
        self._tokens = min(self.capacity, self._tokens + count)


class RedisTokenBucket:
    """At most `rate` takes a second on average over all processes, and a burst of at most `capacity`."""

    def __init__(self, redis, rate: float, capacity: float, key: str = FREE_KEY) -> None:
        self.rate = rate
        self.capacity = capacity
        self.key = key
        self._step = redis.register_script(_STEP)

    async def _run(self, want: int) -> tuple[int, float]:
        taken, tokens = await self._step(keys=[self.key], args=[self.rate, self.capacity, want])
        return int(taken), float(tokens)

    async def wait_ready(self) -> None:
        """Wait until at least one token is there (without taking it; another process may take it first)."""
        while True:
            _taken, tokens = await self._run(0)
            if tokens >= 1:
                return
            await asyncio.sleep((1 - tokens) / self.rate)

    async def seconds_until_ready(self) -> float:
        _taken, tokens = await self._run(0)
        return max(0.0, (1 - tokens) / self.rate)

    async def take_up_to(self, most: int) -> int:
        return (await self._run(most))[0] if most > 0 else 0

    async def give_back(self, count: int) -> None:
        if count > 0:
            await self._run(-count)


def create_bucket(rate: float, redis_url: str | None, key: str = FREE_KEY) -> TokenBucket | RedisTokenBucket:
    capacity = max(1.0, rate / 10)  # a tenth of a second's worth: under the limit in any one-second window
    if not redis_url:
        return TokenBucket(rate, capacity)
    from redis.asyncio import Redis

    return RedisTokenBucket(Redis.from_url(redis_url), rate, capacity, key)
