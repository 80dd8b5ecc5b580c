"""Group commit for Redis round trips: the generations of storage/cache.py and the rate limit's windows.

With 64 presses in flight a fifth of a press's CPU was redis-py's own work per command (a pooled connection,
packing, parsing), paid for each of a press's three round trips. Most of it is per round trip, not per key:
sent together, the requests of many presses cost little more than one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Request = TypeVar("Request")
Answer = TypeVar("Answer")


class Batcher(Generic[Request, Answer]):
    """Sends requests through `send` (requests -> their answers, in order), one call at a time. Alone, a request
    goes out at once in its caller's task: no added latency. Made while a call is in flight, it waits for the
    NEXT call, which takes everything that waited: one round trip for many when crowded. It never joins a call
    already sent, so what was written to Redis before the request is in its answer (the generations' point).
    A failed call's error reaches each of its requests; the next call is made all the same."""

    def __init__(self, send: Callable[[list[Request]], Awaitable[list[Answer]]]) -> None:
        self.send = send
        self.busy = False
        self.waiting: list[tuple[Request, asyncio.Future[Answer]]] = []
        self.task: asyncio.Task | None = None  # the call serving those who waited (a task must be referenced)

    async def __call__(self, request: Request) -> Answer:
        if self.busy:
            answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            self.waiting.append((request, answer))
            return await answer
        self.busy = True
        try:
            return (await self.send([request]))[0]
        finally:
            self._next()

    def _next(self) -> None:
        if not self.waiting:
            self.busy = False
            return
        batch, self.waiting = self.waiting, []
        self.task = asyncio.ensure_future(self._serve(batch))

    async def _serve(self, batch: list[tuple[Request, asyncio.Future[Answer]]]) -> None:
        try:
            answers = await self.send([request for request, _ in batch])
        except asyncio.CancelledError:  # the loop is closing
            for _, answer in batch:
                answer.cancel()
            raise
        except Exception as error:
            for _, answer in batch:
                if not answer.done():  # a waiter cancelled meanwhile
                    answer.set_exception(error)
        else:
            for (_, answer), value in zip(batch, answers, strict=True):
                if not answer.done():
                    answer.set_result(value)
        finally:
            self._next()
