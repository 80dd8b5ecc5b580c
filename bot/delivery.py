"""The sender: delivers the outbox (storage/outbox.py) to Telegram, paced under its flood limits.

Pacing: a token bucket holds the whole sender to `rate_per_second` (Telegram allows about 30 messages a
second per bot), and one chat gets at most one message per `chat_interval` second, counted from the answer
to the previous request. A 429 pauses the whole sender for `retry_after`, since flood control is per bot.
With REDIS_URL the bucket is in Redis (bot/pacing.py), so every sender process together stays under the rate;
the per-chat spacing is kept in the outbox itself, across processes.

Paid broadcasts (PAID_BROADCAST_RATE, Telegram's allow_paid_broadcast): results, digests and moderators'
broadcasts (storage.outbox.PAID_KINDS) go out with the flag, faster; everything else keeps the free pace. The
rule is combined, not two separate budgets: a second bucket at the paid rate is EVERY message's budget, and a
message sent without the flag takes a token from the free bucket too. So all senders together stay under the
paid rate (with separate budgets the total could reach the paid plus the free rate, above Telegram's 1,000/s),
messages without the flag stay under SEND_RATE_PER_SECOND, and a paid broadcast gets what personal messages and
moderators' posts leave (they are claimed first). Both buckets are in Redis with REDIS_URL.

Exactly once: rows are claimed (marked `sending`) right before their request, only as many as go out at
once, so a kill -9 can leave at most `max_in_flight` rows ambiguous (more with paid broadcasts, which need more
requests at once); those are never sent again (see the docstring of storage/outbox.py).

The bot token never reaches a log line or `last_error`: error texts go through `redact_secrets`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from enum import StrEnum
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import FSInputFile, InlineKeyboardMarkup

from bot import metrics
from bot.config import Settings
from bot.pacing import PAID_KEY, TokenBucket, create_bucket
from storage import outbox
from storage.db import SessionFactory
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

# Telegram's answers that mean our text is wrong: a bug to fix, not a resident's problem.
BUG_DESCRIPTIONS = ("message is too long", "can't parse entities", "caption is too long")
# A 403 that says the chat itself refuses the bot, whatever the paid broadcast flag (any other 403 of a paid
# broadcast may be about the flag: see Sender._send_without_paid_flag).
CHAT_GONE = ("blocked by the user", "user is deactivated", "kicked", "can't initiate conversation")
# Errors worth another attempt later: Telegram or the network may be fine again.
TRANSIENT_ERRORS = (TelegramServerError, TelegramNetworkError, ClientDecodeError, TimeoutError)
UNAUTHORIZED_PAUSE = 60.0  # seconds: a revoked token will not come back sooner


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    RETRY = "retry"  # back to pending, for a later attempt


METRIC_RESULTS = {Outcome.SENT: "sent", Outcome.BLOCKED: "blocked_403", Outcome.FAILED: "failed",
                  Outcome.RETRY: "retry"}


class Sender:
    """Works through the outbox: `run_once` for what is due now, `run_forever` for the bot's lifetime."""

    def __init__(
        self,
        bot: Bot,
        sessions: SessionFactory,
        *,
        rate_per_second: float = 25.0,
        chat_interval: float = 1.0,
        max_in_flight: int = 8,  # 25/s with ~0.3 s per request needs ~8 at once
        retry: outbox.RetryPolicy | None = None,
        request_timeout: int = 30,
        idle_poll: float = 0.5,
        bucket: TokenBucket | None = None,  # shared by several senders (bot/pacing.py), else this sender's own
        paid_rate: int = 0,  # PAID_BROADCAST_RATE; 0: no paid broadcasts
        paid_bucket: TokenBucket | None = None,  # every message's budget when paid_rate is set (see above)
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.chat_interval = chat_interval
        self.max_in_flight = max_in_flight
        self.retry = retry or outbox.RetryPolicy()
        self.request_timeout = request_timeout
        self.idle_poll = idle_poll
        # A burst of a tenth of a second's worth: under Telegram's limit in any one-second window.
        self._bucket = bucket or TokenBucket(rate_per_second, capacity=max(1.0, rate_per_second / 10))
        self.paid_rate = paid_rate
        self._paid_bucket = (paid_bucket or TokenBucket(paid_rate, capacity=max(1.0, paid_rate / 10))
                             if paid_rate else None)
        self._chats_in_flight: set[int] = set()
        self._chat_ready_at: dict[int, float] = {}  # chat -> monotonic time it may get the next message
        self._paused_until = 0.0  # monotonic; after a 429
        self._request_done = asyncio.Event()
        self._stop = asyncio.Event()

    # ------------------------------------------------------------ the loops

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, polling every `idle_poll` seconds when idle; requests in flight finish."""
        self._stop = stop
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as error:  # the database may be restarting: keep the sender alive
                log.error("outbox sender: %s: %s", type(error).__name__, outbox.redact_secrets(str(error)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.idle_poll)

    async def run_once(self) -> Counter[Outcome]:
        """Deliver every row due now (waiting out pacing and flood pauses); returns counts of outcomes.

        Rows rescheduled for later (retries) are left for a later call."""
        counts: Counter[Outcome] = Counter()
        failure: Exception | None = None
        async with asyncio.TaskGroup() as requests:
            try:
                await self._dispatch_due(requests, counts)
            except Exception as error:  # the database failed: requests in flight still finish and are recorded
                failure = error
        if failure is not None:
            raise failure
        return counts

    async def _dispatch_due(self, requests: asyncio.TaskGroup, counts: Counter[Outcome]) -> None:
        while not self._stop.is_set():
            if await self._wait_out_pause():
                continue
            claimed = await self._claim_what_can_go_now()
            for message in claimed:
                requests.create_task(self._deliver(message, counts))
            if not claimed and not await self._wait_for_pacing():
                return

    def _paused(self) -> bool:
        return self._paused_until > time.monotonic()

    async def _wait_out_pause(self) -> bool:
        """After a 429 nothing goes out until Telegram's retry_after passed; True when it waited."""
        if not self._paused():
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self._paused_until - time.monotonic())
        return True

    async def _claim_what_can_go_now(self) -> list[OutboxMessage]:
        """Claim as many rows as tokens and free request slots allow, no more (see the module docstring)."""
        free_slots = self.max_in_flight - len(self._chats_in_flight)
        if free_slots <= 0:
            return []
        if self._paid_bucket is not None:
            claimed = await self._claim_paid_and_free(free_slots)
            self._chats_in_flight.update(message.chat_id for message in claimed)
            return claimed
        await self._bucket.wait_ready()
        if self._paused():  # a 429 arrived while we waited for the token
            return []
        tokens = await self._bucket.take_up_to(free_slots)
        async with self.sessions() as session:
            claimed = await outbox.claim_due(
                session, tokens, chat_interval=self.chat_interval, exclude_chats=self._chats_being_paced()
            )
            await session.commit()
        await self._bucket.give_back(tokens - len(claimed))
        self._chats_in_flight.update(message.chat_id for message in claimed)
        return claimed

    async def _claim_paid_and_free(self, free_slots: int) -> list[OutboxMessage]:
        """With paid broadcasts: tokens of the paid bucket for every row, of the free bucket too for rows sent
        without the flag, claimed first (see the module docstring)."""
        paid_bucket = self._paid_bucket  # paid broadcasting may stop meanwhile (_send_without_paid_flag)
        await paid_bucket.wait_ready()
        if self._paused():
            return []
        tokens = await paid_bucket.take_up_to(free_slots)
        free_tokens = await self._bucket.take_up_to(tokens)
        paced = self._chats_being_paced()
        async with self.sessions() as session:
            free = await outbox.claim_due(session, free_tokens, chat_interval=self.chat_interval,
                                          exclude_chats=paced, paid=False)
            paid = await outbox.claim_due(session, tokens - len(free), chat_interval=self.chat_interval,
                                          exclude_chats=paced | {message.chat_id for message in free}, paid=True)
            await session.commit()
        await self._bucket.give_back(free_tokens - len(free))
        await paid_bucket.give_back(tokens - len(free) - len(paid))
        return free + paid

    def _chats_being_paced(self) -> set[int]:
        now = time.monotonic()
        for chat_id in [chat for chat, ready_at in self._chat_ready_at.items() if ready_at <= now]:
            del self._chat_ready_at[chat_id]
        return self._chats_in_flight | self._chat_ready_at.keys()

    async def _wait_for_pacing(self) -> bool:
        """Nothing could be claimed: wait for an answer or a chat's spacing; False when nothing is due at all."""
        if not self._chats_in_flight:
            async with self.sessions() as session:
                if not await outbox.has_due(session):
                    return False
        next_ready = min(self._chat_ready_at.values(), default=time.monotonic() + self.idle_poll)
        timeout = min(max(next_ready - time.monotonic(), 0.01), self.idle_poll)
        if self._paid_bucket is not None:  # a message without the flag may be waiting for the free bucket
            free_wait = await self._bucket.seconds_until_ready()
            if free_wait > 0:
                timeout = min(timeout, free_wait)
        self._request_done.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._request_done.wait(), timeout)
        return True

    # ------------------------------------------------------------ one message

    async def _deliver(self, message: OutboxMessage, counts: Counter[Outcome]) -> None:
        try:
            outcome = await self._attempt(message)
            counts[outcome] += 1
            metrics.OUTBOX_SENT.labels(METRIC_RESULTS[outcome]).inc()
        except Exception as error:  # recording the outcome failed: the row stays `sending` (counted as sent)
            log.error("outbox row %s: %s: %s", message.id, type(error).__name__, self._redact(error))
        finally:
            self._chats_in_flight.discard(message.chat_id)
            self._chat_ready_at[message.chat_id] = time.monotonic() + self.chat_interval
            self._request_done.set()

    async def _attempt(self, message: OutboxMessage, *, paid: bool | None = None) -> Outcome:
        """Send one claimed row and record what became of it (`paid`: with allow_paid_broadcast; by default as
        its kind goes)."""
        paid = self._paid_flag(message) if paid is None else paid
        if self._paused():  # a 429 arrived while this row was being claimed
            await asyncio.sleep(self._paused_until - time.monotonic())
        try:
            await self._send(message, paid)
        except TelegramRetryAfter as error:
            return await self._flood_control(message, error)
        except TelegramForbiddenError as error:
            if paid and not any(chat_gone in error.message for chat_gone in CHAT_GONE):
                return await self._send_without_paid_flag(message, error)
            skipped = await self._record(outbox.mark_blocked, message, self._redact(error))
            log.info("chat %s blocked the bot; %s more of its messages dropped", message.chat_id, skipped)
            return Outcome.BLOCKED
        except (TelegramBadRequest, TelegramEntityTooLarge) as error:
            if paid and isinstance(error, TelegramBadRequest):
                return await self._send_without_paid_flag(message, error)
            return await self._permanent_failure(message, error)
        except TelegramUnauthorizedError as error:
            log.error("Telegram rejected the bot token; the sender pauses for %s s", UNAUTHORIZED_PAUSE)
            self._pause(UNAUTHORIZED_PAUSE)
            await self._record(outbox.postpone, message.id, UNAUTHORIZED_PAUSE, self._redact(error))
            return Outcome.RETRY
        except TRANSIENT_ERRORS as error:
            status = await self._record(outbox.retry_later, message, self._describe(error), self.retry)
            log.warning("outbox row %s: %s (%s)", message.id, self._describe(error), status)
            return Outcome.FAILED if status == outbox.FAILED else Outcome.RETRY
        except Exception as error:  # an unreadable photo, a broken keyboard, an unexpected API error
            log.error("outbox row %s failed: %s", message.id, self._describe(error))
            await self._record(outbox.mark_failed, message.id, self._describe(error))
            return Outcome.FAILED
        await self._record(outbox.mark_sent, message.id)
        return Outcome.SENT

    async def _send_without_paid_flag(self, message: OutboxMessage, refusal: Exception) -> Outcome:
        """Telegram refused a message sent as a paid broadcast. The flag itself may be why (the bot's Stars ran out,
        or it may not broadcast paid), so the message goes again without it, at the free pace. If that goes
        through, this sender stops paid broadcasting until it restarts: the rest of the broadcast goes out at
        the free pace instead of failing message by message."""
        while not await self._bucket.take_up_to(1):
            await self._bucket.wait_ready()
        outcome = await self._attempt(message, paid=False)
        if outcome is Outcome.SENT and self._paid_bucket is not None:
            log.error("Telegram refused a paid broadcast (%s) and took the same message without it: this process "
                      "sends every message at SEND_RATE_PER_SECOND until it restarts. Check the bot's Stars "
                      "balance, or unset PAID_BROADCAST_RATE.", self._redact(refusal))
            self.paid_rate, self._paid_bucket = 0, None
        return outcome

    async def _send(self, message: OutboxMessage, paid: bool) -> None:
        markup = InlineKeyboardMarkup.model_validate_json(message.reply_markup) if message.reply_markup else None
        if message.photo_path:
            # Else aiohttp fails mid-upload with a network error, which would be retried. (A stat: no real block.)
            if not Path(message.photo_path).is_file():  # noqa: ASYNC240
                raise FileNotFoundError(f"photo {message.photo_path} not found")
            await self.bot.send_photo(
                message.chat_id, FSInputFile(message.photo_path), caption=message.text or None,
                reply_markup=markup, allow_paid_broadcast=True if paid else None,
                request_timeout=self.request_timeout,
            )
        else:
            await self.bot.send_message(
                message.chat_id, message.text, reply_markup=markup, allow_paid_broadcast=True if paid else None,
                request_timeout=self.request_timeout,
            )

    def _paid_flag(self, message: OutboxMessage) -> bool:
        """True for a paid broadcast (sent with allow_paid_broadcast)."""
        return bool(self.paid_rate) and outbox.is_paid_kind(message.kind)

    async def _flood_control(self, message: OutboxMessage, error: TelegramRetryAfter) -> Outcome:
        log.warning("Telegram flood control: the sender pauses for %s s", error.retry_after)
        metrics.OUTBOX_SENT.labels("flood_429").inc()
        self._pause(error.retry_after)
        await self._record(outbox.postpone, message.id, error.retry_after, self._redact(error))
        return Outcome.RETRY

    async def _permanent_failure(self, message: OutboxMessage, error: Exception) -> Outcome:
        description = self._redact(error)
        if any(bug in description for bug in BUG_DESCRIPTIONS):
            log.error("outbox row %s (%s) has a malformed text: %s", message.id, message.kind, description)
        else:
            log.warning("outbox row %s to chat %s failed: %s", message.id, message.chat_id, description)
        await self._record(outbox.mark_failed, message.id, description)
        return Outcome.FAILED

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def _record(self, change, *args):
        """Apply one outcome in its own transaction."""
        async with self.sessions() as session:
            result = await change(session, *args)
            await session.commit()
        return result

    def _redact(self, error: BaseException) -> str:
        token = self.bot.token
        return outbox.redact_secrets(str(error).replace(token, "<token>") if token else str(error))

    def _describe(self, error: BaseException) -> str:
        return f"{type(error).__name__}: {self._redact(error)}"


def build_sender(bot: Bot, sessions: SessionFactory, settings: Settings, sender_class: type[Sender] = Sender,
                 **extra) -> Sender:
    """The sender as the bot runs it: the pace of the settings, shared through Redis with REDIS_URL.
    (`sender_class`, `extra`: benchmarks/bench_fanout.py measures this very sender.)"""
    paid_rate = settings.paid_broadcast_rate
    options = {}
    if paid_rate:
        # Requests at once for the paid rate at ~0.3 s a request, within aiohttp's 100 connections per session.
        options = {"paid_rate": paid_rate, "paid_bucket": create_bucket(paid_rate, settings.redis_url, PAID_KEY),
                   "max_in_flight": min(100, max(8, math.ceil(paid_rate * 0.3)))}
    return sender_class(bot, sessions, rate_per_second=settings.send_rate_per_second,
                        bucket=create_bucket(settings.send_rate_per_second, settings.redis_url), **options, **extra)


def start_sender(bot: Bot, sessions: SessionFactory, settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Start delivering in the background; stop it with `stop_sender(task, stop)`."""
    stop = asyncio.Event()
    sender = build_sender(bot, sessions, settings)
    return asyncio.create_task(sender.run_forever(stop), name="outbox-sender"), stop


async def stop_sender(task: asyncio.Task[None], stop: asyncio.Event, timeout: float = 40.0) -> None:  # noqa: ASYNC109
    """Let requests in flight finish and record their outcome (bounded by the request timeout), then return."""
    stop.set()
    try:
        await asyncio.wait_for(task, timeout)
    except TimeoutError:
        log.warning("the outbox sender did not stop in %s s; rows in flight stay `sending`", timeout)
