"""The outbox: messages waiting to be delivered by bot/delivery.py.

`enqueue` does not commit: the caller commits it together with the event it tells of (a status change, a
new proposal), so a message is written if and only if its event is. The other functions do not commit
either: the sender (or a moderator's handler) commits each step.

Life of a row: pending -> sending -> sent | blocked | failed, or back to pending with a later `not_before`.
A moderator can pause a batch (pending <-> paused).

Exactly once, and the one exception. `claim_due` marks a row `sending` (and counts the attempt) in a
transaction committed BEFORE the Telegram request. A row left `sending` is never claimed again: it is
treated as sent. So a process killed (kill -9, OOM, a redeploy) mid-request cannot send anything twice.
Telegram has no idempotency key, so the requests in flight at such a kill are ambiguous: they were
delivered or not, and nobody can tell; those few (at most the sender's concurrency) may be lost, never
doubled. The sender claims only what it sends at once, so nothing else is caught `sending` by a kill.
Timeouts and network errors are retried (see bot/delivery.py); a timed-out request may have reached
Telegram, so that case is at-least-once.

Ordering and pacing. A row is not claimed while an earlier row of its chat is due or waiting for a retry,
so a chat's messages go out in id order even when one of them is retried (a row scheduled for later, not
yet tried, does not hold newer ones back). A chat whose message was claimed or sent in the last
`chat_interval` seconds is skipped, also across several senders: while a row is `sending` or `sent`, its
`not_before` holds the moment it was claimed or sent, which the `ix_outbox_due` index finds cheaply.

Several senders: on PostgreSQL the claim uses `SELECT ... FOR UPDATE SKIP LOCKED`, so senders sharing the
outbox never claim the same row. SQLite has one writer; there the update re-checks `status = 'pending'`."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, OutboxStatus, utcnow
from storage.sql import insert_ignoring_conflicts
from storage.users import set_reachable

PENDING, SENDING, SENT = OutboxStatus.PENDING.value, OutboxStatus.SENDING.value, OutboxStatus.SENT.value
BLOCKED, FAILED, PAUSED = OutboxStatus.BLOCKED.value, OutboxStatus.FAILED.value, OutboxStatus.PAUSED.value

# Messages to many residents at once wait behind personal messages and moderators' posts (priority 1, not 0):
# a new proposal's post to the moderators never waits for a whole broadcast.
MASS_KINDS = frozenset({"digest", "news", "new_idea", "reminder", "results", "broadcast"})
MASS = 1
PRIORITIES = (0, MASS)  # every value of `priority`
# Of those, the ones that go as paid broadcasts when PAID_BROADCAST_RATE is set (bot/delivery.py): results,
# digests and moderators' broadcasts. New-idea cards, plan news and reminders keep the free pace. A row's `paid`
# column says it when it is written (the migration that added it wrote it for the rows there were).
PAID_KINDS = frozenset({"digest", "results", "broadcast"})

MAX_ERROR_LENGTH = 500
# Rows a multi-row INSERT writes at once: SQLite allows 32,766 bound values in one statement.
INSERT_CHUNK = 500
# A bot token ("123456:AA...") anywhere in a text, also inside a URL path ("/bot123456:AA.../sendMessage").
_TOKEN_PATTERN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")

_outbox = OutboxMessage.__table__


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    text: str,
    *,
    kind: str,
    reply_markup: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    batch_id: str | None = None,
    photo_path: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add one message; False when a message with the same dedupe_key exists already (written before)."""
    values = {
        "chat_id": chat_id,
        "kind": kind,
        "text": text,
        "reply_markup": json.dumps(reply_markup, ensure_ascii=False) if reply_markup else None,
        "dedupe_key": dedupe_key,
        "batch_id": batch_id,
        "photo_path": photo_path,
        "priority": priority_of(kind),
        "paid": is_paid_kind(kind),
        "not_before": not_before or utcnow(),
        "created_at": utcnow(),
    }
    statement = insert_ignoring_conflicts(session, OutboxMessage).values(**values)
    result = await session.exec(statement)
    return result.rowcount == 1


def priority_of(kind: str) -> int:
    return MASS if kind in MASS_KINDS else 0


def is_paid_kind(kind: str) -> bool:
    return kind in PAID_KINDS


def redact_secrets(text: str) -> str:
    """The text without any bot token, cut to a length fit for a log line or `last_error`."""
    return _TOKEN_PATTERN.sub("<token>", text)[:MAX_ERROR_LENGTH]


# ---------------------------------------------------------------- claiming


def _claimable(now: datetime, chat_interval: float, exclude_chats: Iterable[int]):
    """Conditions of a row that may be sent now (see the module docstring)."""
    earlier = _outbox.alias("earlier")
    # An earlier row of the chat that is due, or waiting for its retry, goes first; one scheduled for later
    # (never tried: no last_error) does not hold newer messages back.
    earlier_row_goes_first = select(earlier.c.id).where(
        earlier.c.chat_id == _outbox.c.chat_id,
        earlier.c.status == PENDING,
        earlier.c.id < _outbox.c.id,
        or_(earlier.c.not_before <= now, earlier.c.last_error.is_not(None)),
    )
    recently_served_chats = select(_outbox.c.chat_id).where(
        _outbox.c.status.in_((SENDING, SENT)),
        # Every priority named, so that the index seeks (status, priority, not_before > ...) instead of
        # stepping through every row ever sent (kept for RETENTION_DAYS): 45 ms a claim with 90,000 sent.
        _outbox.c.priority.in_(PRIORITIES),
        _outbox.c.not_before > now - timedelta(seconds=chat_interval),
    )
    conditions = [
        _outbox.c.status == PENDING,
        _outbox.c.not_before <= now,
        _outbox.c.chat_id.not_in(recently_served_chats),
        ~exists(earlier_row_goes_first),
    ]
    excluded = list(exclude_chats)
    if excluded:
        conditions.append(_outbox.c.chat_id.not_in(excluded))
    return conditions


async def enqueue_many(session: AsyncSession, messages: Sequence[dict[str, Any]], *,
                       not_before: datetime | None = None) -> int:
    """Write many outbox rows (the keys of storage.outbox.enqueue: chat_id, text, kind, and optionally
    reply_markup, dedupe_key, batch_id, photo_path) in a few statements, in the given order (so a chat's
    photo goes before its text); rows whose dedupe_key exists already are skipped. `not_before`: not sent
    before then (quiet hours). Returns how many were written. Not committed."""
    if not messages:
        return 0
    now = utcnow()
    rows = [
        {
            "chat_id": message["chat_id"],
            "kind": message["kind"],
            "text": message["text"],
            "reply_markup": json.dumps(message["reply_markup"], ensure_ascii=False)
            if message.get("reply_markup") else None,
            "dedupe_key": message.get("dedupe_key"),
            "batch_id": message.get("batch_id"),
            "photo_path": message.get("photo_path"),
            "priority": priority_of(message["kind"]),
            "paid": is_paid_kind(message["kind"]),
            "not_before": not_before or now,
            "created_at": now,
        }
        for message in messages
    ]
    written = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = insert_ignoring_conflicts(session, _outbox).values(rows[start:start + INSERT_CHUNK])
        result = await session.exec(statement)
        written += result.rowcount
    return written


async def claim_due(
    session: AsyncSession,
    limit: int,
    *,
    now: datetime | None = None,
    chat_interval: float = 1.0,
    exclude_chats: Iterable[int] = (),
    paid: bool | None = None,
) -> list[OutboxMessage]:
    """Mark up to `limit` due rows `sending` (one per chat) and return them; commit before sending.

    Personal messages before mass messages, then oldest due first (by priority, not_before, id: the order of
    the `ix_outbox_due` index, so the query stops after `limit` rows instead of sorting every due row); within
    a chat, always in id order.
    `exclude_chats`: chats the caller is still pacing (a request in flight, or one just answered).
    `paid`: only rows of PAID_KINDS (True), only the others (False), or any (None); `ix_outbox_due_paid` finds
    each kind's rows without stepping through the other's."""
    if limit <= 0:
        return []
    now = now or utcnow()
    conditions = _claimable(now, chat_interval, exclude_chats)
    if paid is not None:
        conditions.append(_outbox.c.paid == paid)  # ix_outbox_due_paid: not a scan of the other kind's rows
    candidates = select(_outbox.c.id).where(*conditions)
    candidates = candidates.order_by(_outbox.c.priority, _outbox.c.not_before, _outbox.c.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        # Rows another sender is claiming right now are skipped, not waited for (nor claimed twice).
        candidates = candidates.with_for_update(skip_locked=True, of=_outbox)
    ids = list((await session.exec(candidates)).scalars())
    if not ids:
        return []
    claim = (
        update(_outbox)
        # coalesce() keeps SQLite's planner on the primary key: on `status = ?` it would pick ix_outbox_due and
        # scan every pending row (measured: 77/s instead of 180/s with 167,000 waiting).
        .where(_outbox.c.id.in_(ids), func.coalesce(_outbox.c.status, "") == PENDING)
        .values(status=SENDING, attempts=_outbox.c.attempts + 1, not_before=now)
        .returning(*_outbox.c)
    )
    rows = (await session.exec(claim)).mappings().all()
    return sorted((OutboxMessage(**row) for row in rows), key=lambda message: message.id)


async def has_due(session: AsyncSession, *, now: datetime | None = None) -> bool:
    """Whether a row could be sent now but for pacing (a chat's 1-second spacing)."""
    now = now or utcnow()
    query = select(_outbox.c.id).where(*_claimable(now, 0, ())).limit(1)
    return (await session.exec(query)).first() is not None


# ---------------------------------------------------------------- outcomes of a request


async def mark_sent(session: AsyncSession, message_id: int, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    # not_before = now: the chat's 1-second spacing counts from here (see the module docstring).
    await _set(session, message_id, status=SENT, sent_at=now, not_before=now, last_error=None)


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    """Given up: a permanent error (400) or too many attempts."""
    await _set(session, message_id, status=FAILED, last_error=redact_secrets(error))


async def mark_blocked(session: AsyncSession, message: OutboxMessage, error: str) -> int:
    """403: the row and every waiting row to that chat are blocked; the resident becomes unreachable.

    Returns how many other rows were blocked without being attempted."""
    await _set(session, message.id, status=BLOCKED, last_error=redact_secrets(error))
    skipped = await session.exec(
        update(_outbox)
        .where(_outbox.c.chat_id == message.chat_id, _outbox.c.status.in_((PENDING, PAUSED)))
        .values(status=BLOCKED, last_error="not attempted: the chat blocked the bot")
    )
    # Residents' private chats have the resident's id; group chats match no resident.
    await set_reachable(session, message.chat_id, False)
    return skipped.rowcount


async def postpone(session: AsyncSession, message_id: int, seconds: float, error: str) -> None:
    """Back to pending after `seconds` without counting the attempt (Telegram refused to take it: 429)."""
    not_before = utcnow() + timedelta(seconds=seconds)
    await _set(
        session, message_id, status=PENDING, not_before=not_before, attempts=_outbox.c.attempts - 1,
        last_error=redact_secrets(error),
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for errors that may pass (5xx, timeouts, network)."""

    max_attempts: int = 5
    base_delay: float = 2.0  # seconds before the second attempt (before jitter)
    max_delay: float = 600.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt; the jitter spreads retries of many rows."""
        backoff = min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))
        return backoff * random.uniform(0.5, 1.0)


async def retry_later(session: AsyncSession, message: OutboxMessage, error: str, policy: RetryPolicy) -> str:
    """Back to pending with backoff, or failed after `policy.max_attempts`; returns the new status."""
    if message.attempts >= policy.max_attempts:
        await mark_failed(session, message.id, f"gave up after {message.attempts} attempts: {error}")
        return FAILED
    not_before = utcnow() + timedelta(seconds=policy.delay(message.attempts))
    await _set(session, message.id, status=PENDING, not_before=not_before, last_error=redact_secrets(error))
    return PENDING


async def _set(session: AsyncSession, message_id: int, **values: Any) -> None:
    # Only a row this sender claimed changes: never one a moderator or another sender has touched since.
    await session.exec(
        update(_outbox).where(_outbox.c.id == message_id, _outbox.c.status == SENDING).values(**values)
    )


# ---------------------------------------------------------------- residents


# ---------------------------------------------------------------- batches (digests, broadcasts)


@dataclass(frozen=True)
class BatchProgress:
    """Counts of one batch's rows by status, for a moderator's progress view."""

    batch_id: str
    counts: dict[str, int]

    def _count(self, *statuses: str) -> int:
        return sum(self.counts.get(status, 0) for status in statuses)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def sent(self) -> int:
        """Delivered, including rows `sending` (in flight now, or ambiguous after a crash: counted as sent)."""
        return self._count(SENT, SENDING)

    @property
    def waiting(self) -> int:
        return self._count(PENDING)

    @property
    def paused(self) -> int:
        return self._count(PAUSED)

    @property
    def blocked(self) -> int:
        return self._count(BLOCKED)

    @property
    def failed(self) -> int:
        return self._count(FAILED)

    @property
    def done(self) -> bool:
        return self.waiting == 0 and self.paused == 0

    def eta(self, rate_per_second: float) -> timedelta:
        """Time left for the waiting rows at the sender's rate (a lower bound: other messages share it)."""
        return timedelta(seconds=self.waiting / rate_per_second)


async def batch_progress(session: AsyncSession, batch_id: str) -> BatchProgress:
    query = select(_outbox.c.status, func.count()).where(_outbox.c.batch_id == batch_id).group_by(_outbox.c.status)
    rows = (await session.exec(query)).all()
    return BatchProgress(batch_id, {status: count for status, count in rows})


async def pause_batch(session: AsyncSession, batch_id: str) -> int:
    """Stop sending a batch's waiting rows (rows in flight finish); returns how many were paused. Caller commits."""
    return await _move_batch(session, batch_id, PENDING, PAUSED)


async def resume_batch(session: AsyncSession, batch_id: str) -> int:
    """Send a paused batch again; returns how many rows resumed. Caller commits."""
    return await _move_batch(session, batch_id, PAUSED, PENDING)


async def _move_batch(session: AsyncSession, batch_id: str, old_status: str, new_status: str) -> int:
    result = await session.exec(
        update(_outbox).where(_outbox.c.batch_id == batch_id, _outbox.c.status == old_status).values(status=new_status)
    )
    return result.rowcount
