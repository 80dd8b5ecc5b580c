"""Every Bot API request of the process goes through `PacedRetryingRequests` (a request middleware on the Bot's
session): direct replies are paced and retried like the outbox's messages.

- Pace: new messages (sendMessage, sendPhoto, …) at most `rate_per_second` for the whole process and
  `chat_per_second` to one chat (with a burst of `chat_burst`: a reply of two or three messages goes at once).
  Paid broadcasts keep only the chat's pace: the outbox holds them to PAID_BROADCAST_RATE.
- 429: Telegram's flood control is per bot, so a `retry_after` pauses every request of the process, then the
  refused one is sent again.
- 5xx and network errors (incl. timeouts) of methods that are safe to repeat are retried with backoff.
- Each of these is logged as one WARNING line (no traceback); the error is raised only when the retries are
  spent, to the dispatcher's error handler (an apology to the resident)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)

# New messages: what Telegram's "about 30 messages a second, 1 a second to one chat" counts.
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage"})
# Safe to send again when the first try may or may not have arrived: answers and edits change nothing twice,
# and a new message sent twice is better than a resident left without an answer.
REPEATABLE = SENDS | frozenset({
    "answerCallbackQuery", "editMessageText", "editMessageReplyMarkup", "editMessageCaption", "deleteMessage",
    "sendChatAction", "getMe", "setMyCommands", "deleteWebhook", "getUpdates",
})
TRANSIENT = (TelegramServerError, TelegramNetworkError)


class Window:
    """At most `limit` requests within any `seconds`. A request counts from when it leaves until `seconds` after
    its answer came back: so however late requests reach Telegram (a stalled event loop, a slow network), Telegram
    never sees more than `limit` of them within `seconds`."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.answered: deque[float] = deque()  # monotonic times of the recent answers, oldest first
        self.in_flight = 0

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            while self.answered and self.answered[0] <= now - self.seconds:
                self.answered.popleft()
            if len(self.answered) + self.in_flight < self.limit:
                self.in_flight += 1
                return
            # The oldest answer leaves the window then; a request in flight only after its answer.
            await asyncio.sleep(self.answered[0] + self.seconds - now if self.answered else 0.05)

    def done(self) -> None:
        self.in_flight -= 1
        self.answered.append(time.monotonic())

    def idle(self, now: float) -> bool:
        return not self.in_flight and (not self.answered or self.answered[-1] <= now - self.seconds)


class PacedRetryingRequests(BaseRequestMiddleware):
    def __init__(self, *, rate_per_second: float = 25.0, chat_per_second: float = 1.0, chat_burst: int = 3,
                 retries: int = 3, backoff: float = 0.25, longest_wait: float = 60.0) -> None:
        self.overall = Window(max(1, int(rate_per_second)), 1.0)
        # `chat_burst` at once, and on average `chat_per_second`.
        self.chat_window = (chat_burst, chat_burst / chat_per_second)
        self.chats: dict[Any, Window] = {}
        self.retries = retries
        self.backoff = backoff
        self.longest_wait = longest_wait  # a longer retry_after fails the request instead of holding the update
        self.paused_until = 0.0  # monotonic, after a 429
        self._swept_at = time.monotonic()

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Any,
                       method: TelegramMethod[Any]) -> Response[Any]:
        name = method.__api_method__
        for attempt in range(self.retries + 1):
            windows = await self._wait_for_turn(name, getattr(method, "chat_id", None),
                                                bool(getattr(method, "allow_paid_broadcast", None)))
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self.paused_until = max(self.paused_until, time.monotonic() + error.retry_after)
                if name not in REPEATABLE or attempt == self.retries or error.retry_after > self.longest_wait:
                    raise
                log.warning("Telegram flood control on %s: every request waits %s s", name, error.retry_after)
            except TRANSIENT as error:
                if name not in REPEATABLE or attempt == self.retries:
                    raise
                wait = self.backoff * 2**attempt
                log.warning("Telegram %s failed (%s: %s); retrying in %.1f s", name, type(error).__name__,
                            error.message, wait)
                await asyncio.sleep(wait)
            finally:
                for window in windows:
                    window.done()
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _wait_for_turn(self, name: str, chat_id: Any, paid: bool = False) -> tuple[Window, ...]:
        """Wait until the request may leave; the windows it was counted in (to be told when it is answered).

        `paid`: a paid broadcast (allow_paid_broadcast) is outside Telegram's free ~30/s, so it keeps only its
        chat's pace here; the outbox paces paid broadcasts at PAID_BROADCAST_RATE (bot/delivery.py)."""
        pause = self.paused_until - time.monotonic()
        if pause > 0:  # a 429 that arrives meanwhile is met by its request's own retry
            await asyncio.sleep(pause)
        if name not in SENDS:
            return ()
        self._sweep(time.monotonic())
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Window(*self.chat_window)
        await chat.take()
        if paid:
            return (chat,)
        try:
            await self.overall.take()
        except BaseException:  # cancelled while waiting: the chat's turn is given back
            chat.done()
            raise
        return chat, self.overall

    def _sweep(self, now: float) -> None:
        """Forget chats that are at their full burst again, so memory follows the active ones."""
        if now - self._swept_at < 60:
            return
        self._swept_at = now
        self.chats = {chat: pace for chat, pace in self.chats.items() if not pace.idle(now)}
