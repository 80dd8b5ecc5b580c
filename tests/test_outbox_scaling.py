"""The sender's queries cost the same however many rows wait or were sent: they read the few rows they claim.

Counted in SQLite's virtual machine steps (a progress handler), not in time: a claim over thousands of rows
waiting and thousands sent recently enough to be kept (retention: 30 days) must not step through them. Before
the claim searched `ix_outbox_due` on (status, priority, not_before), its test for chats served in the last
second stepped through every row ever sent (45 ms a claim with 90,000 sent); and with paid broadcasts, a claim
of free rows stepped through every row of a paid broadcast waiting ahead of them, reading the whole table into
the connection's page cache (0.76 s and 64 MiB a claim with 100,000 waiting), and the other way round."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from storage import outbox
from storage.models import OutboxMessage, utcnow

STEP = 100  # the progress handler runs every STEP instructions
HISTORY = 3_000  # rows waiting, and rows sent, added between the two measurements


async def vm_steps(sessions, work: Callable[..., Awaitable[object]]) -> int:
    """SQLite instructions `work(session)` runs (in a transaction rolled back afterwards)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    async with sessions() as session:
        raw = (await (await session.connection()).get_raw_connection()).driver_connection  # aiosqlite's
        await raw.set_progress_handler(count, STEP)
        try:
            await work(session)
        finally:
            await raw.set_progress_handler(None, STEP)
            await session.rollback()
    return steps * STEP


async def add_rows(sessions, chats: range, *, kind: str = "digest", sent_days_ago: float | None = None,
                   minutes_ago: float = 0) -> None:
    async with sessions() as session:
        await outbox.enqueue_many(session, [{"chat_id": chat, "text": f"{kind} for {chat}", "kind": kind}
                                            for chat in chats], not_before=utcnow() - timedelta(minutes=minutes_ago))
        if sent_days_ago is not None:
            sent_at = utcnow() - timedelta(days=sent_days_ago)
            await session.exec(update(OutboxMessage).where(OutboxMessage.chat_id.in_(list(chats)))
                               .values(status=outbox.SENT, not_before=sent_at, sent_at=sent_at))
        await session.commit()


async def test_claiming_does_not_step_through_rows_waiting_or_sent(sqlite_sessions):
    async def claim(session):
        assert len(await outbox.claim_due(session, 8, exclude_chats=[1, 2])) == 8

    async def look(session):
        assert await outbox.has_due(session)

    await add_rows(sqlite_sessions, range(1, 21))
    few = [await vm_steps(sqlite_sessions, claim), await vm_steps(sqlite_sessions, look)]
    await add_rows(sqlite_sessions, range(10_000, 10_000 + HISTORY), sent_days_ago=2)
    await add_rows(sqlite_sessions, range(20_000, 20_000 + HISTORY))
    many = [await vm_steps(sqlite_sessions, claim), await vm_steps(sqlite_sessions, look)]
    # A deeper index (one more level) costs a few steps per lookup; a scan would cost thousands.
    assert many[0] <= few[0] * 1.5 + 5 * STEP, (few, many)
    assert many[1] <= few[1] * 1.5 + 5 * STEP, (few, many)


@pytest.mark.parametrize(("paid", "kind", "other_kind"), [(False, "news", "digest"), (True, "digest", "news")])
async def test_paid_and_free_claims_do_not_step_through_each_others_rows(sqlite_sessions, paid, kind, other_kind):
    """With PAID_BROADCAST_RATE the sender claims free rows and paid ones apart (bot/delivery.py)."""
    async def claim(session):
        claimed = await outbox.claim_due(session, 8, paid=paid)
        assert [message.kind for message in claimed] == [kind] * 8

    await add_rows(sqlite_sessions, range(1, 21), kind=kind)
    await add_rows(sqlite_sessions, range(101, 121), kind=other_kind, minutes_ago=1)
    few = await vm_steps(sqlite_sessions, claim)
    await add_rows(sqlite_sessions, range(10_000, 10_000 + HISTORY), kind=other_kind, minutes_ago=2)  # ahead
    many = await vm_steps(sqlite_sessions, claim)
    assert many <= few * 1.5 + 5 * STEP, (few, many)
