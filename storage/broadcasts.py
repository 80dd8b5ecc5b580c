"""Broadcasts: who an announcement reaches, the Broadcast rows, one outbox row per recipient, and the summary flag.

Nothing here commits: bot/domain/broadcasts.py commits each action as one transaction. An audience is a kind
and an argument: ("all", None), ("language", "ru"), ("subscribers", None) or ("supporters", idea_id); every
audience is limited to residents who can be reached (is_reachable) and are not banned.

The outbox rows are written with one INSERT ... SELECT from the resident table, so a broadcast to 100,000
residents neither loads them into Python nor sends 100,000 statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Boolean, String, cast, func, literal, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Broadcast,
    GroupMember,
    Idea,
    MemberStatus,
    OutboxMessage,
    OutboxStatus,
    User,
    Vote,
    WorkingGroup,
)
from storage.outbox import BatchProgress, is_paid_kind, priority_of
from storage.sql import insert_ignoring_conflicts

AUDIENCE_KINDS = ("all", "language", "subscribers", "supporters", "members")
_outbox = OutboxMessage.__table__
_NO_SYNC = {"synchronize_session": False}


def _recipients(kind: str, argument: str | int | None) -> list:
    """Conditions on User (the `resident` table) that select an audience."""
    conditions = [User.is_reachable.is_(True), User.is_banned.is_(False)]
    if kind == "all":
        pass
    elif kind == "language":
        conditions.append(User.language == str(argument))
    elif kind == "subscribers":
        conditions.append(User.subscribed.is_(True))
    elif kind == "supporters":
        conditions.append(User.id.in_(select(Vote.user_id).where(Vote.idea_id == int(argument))))
    elif kind == "members":  # a working group's approved members
        conditions.append(User.id.in_(select(GroupMember.user_id).where(
            GroupMember.group_id == int(argument), GroupMember.status == MemberStatus.APPROVED)))
    else:
        raise ValueError(f"unknown audience kind {kind!r}")
    return conditions


async def count_recipients(session: AsyncSession, kind: str, argument: str | int | None) -> int:
    statement = select(func.count()).select_from(User).where(*_recipients(kind, argument))
    return (await session.exec(statement)).one()


async def group_exists(session: AsyncSession, group_id: int) -> bool:
    return (await session.exec(select(WorkingGroup.id).where(WorkingGroup.id == group_id))).first() is not None


async def idea_exists(session: AsyncSession, idea_id: int) -> bool:
    return (await session.exec(select(Idea.id).where(Idea.id == idea_id))).first() is not None


async def add_broadcast(session: AsyncSession, *, batch_id: str, moderator_id: int, audience: str, text: str,
                        now: datetime, awaiting_approval: bool = False) -> Broadcast | None:
    """Insert the Broadcast row; None when one with this batch_id exists already (a double press)."""
    statement = (
        insert_ignoring_conflicts(session, Broadcast)
        .values(batch_id=batch_id, moderator_id=moderator_id, audience=audience, text=text, total=0,
                summary_sent=False, created_at=now, awaiting_approval=awaiting_approval)
    )
    if (await session.exec(statement)).rowcount != 1:
        return None
    return await broadcast_by_batch(session, batch_id)


async def broadcast_by_batch(session: AsyncSession, batch_id: str) -> Broadcast | None:
    statement = select(Broadcast).where(Broadcast.batch_id == batch_id).execution_options(populate_existing=True)
    return (await session.exec(statement)).first()


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    statement = select(Broadcast).where(Broadcast.id == broadcast_id).execution_options(populate_existing=True)
    return (await session.exec(statement)).first()


async def enqueue_recipients(session: AsyncSession, broadcast: Broadcast, kind: str, argument: str | int | None,
                             message_html: str, now: datetime) -> int:
    """One pending outbox row per recipient (kind "broadcast", the broadcast's batch, dedupe key
    "broadcast:{broadcast_id}:{user_id}"), in one statement; returns how many were written."""
    prefix = f"broadcast:{broadcast.id}:"
    rows = select(
        User.id,
        literal("broadcast"),
        literal(prefix, String) + cast(User.id, String),
        literal(message_html, String),
        literal(OutboxStatus.PENDING.value, String),
        literal(0),
        literal(now, _outbox.c.not_before.type),
        literal(broadcast.batch_id, String),
        literal(now, _outbox.c.created_at.type),
        literal(priority_of("broadcast")),
        literal(is_paid_kind("broadcast"), Boolean),
    ).where(*_recipients(kind, argument)).order_by(User.id)
    columns = ["chat_id", "kind", "dedupe_key", "text", "status", "attempts", "not_before", "batch_id", "created_at",
               "priority", "paid"]
    statement = insert_ignoring_conflicts(session, OutboxMessage).from_select(columns, rows)
    return max((await session.exec(statement)).rowcount, 0)


async def set_total(session: AsyncSession, broadcast_id: int, total: int) -> None:
    await session.exec(
        update(Broadcast).where(Broadcast.id == broadcast_id).values(total=total).execution_options(**_NO_SYNC)
    )


async def recent_broadcasts(session: AsyncSession, limit: int) -> list[Broadcast]:
    statement = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    return list((await session.exec(statement)).all())


async def awaiting_summary(session: AsyncSession, limit: int = 1000) -> list[Broadcast]:
    """Broadcasts whose moderator has not been sent the summary yet, oldest first."""
    statement = select(Broadcast).where(Broadcast.summary_sent.is_(False), Broadcast.awaiting_approval.is_(False)
                                        ).order_by(Broadcast.id).limit(limit)
    return list((await session.exec(statement.execution_options(populate_existing=True))).all())


async def claim_summary(session: AsyncSession, broadcast_id: int) -> bool:
    """Set summary_sent, only if it was not set: True for exactly one caller, however many run at once (the
    second UPDATE waits for the first's transaction and then matches no row)."""
    statement = (
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.summary_sent.is_(False))
        .values(summary_sent=True).execution_options(**_NO_SYNC)
    )
    return (await session.exec(statement)).rowcount == 1


async def in_flight_since(session: AsyncSession, batch_id: str, since: datetime) -> int:
    """Rows of the batch claimed (`sending`) after `since`: requests that may still end in a retry. (A row's
    not_before holds the moment it was claimed while it is `sending`: see storage/outbox.py.)"""
    statement = select(func.count()).select_from(_outbox).where(
        _outbox.c.batch_id == batch_id, _outbox.c.status == OutboxStatus.SENDING.value, _outbox.c.not_before > since)
    return (await session.exec(statement)).one()


async def progress_of(session: AsyncSession, batch_ids: Sequence[str]) -> dict[str, BatchProgress]:
    """Counts by status of several batches in one query (a batch without rows has empty counts)."""
    counts: dict[str, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    if batch_ids:
        statement = (
            select(_outbox.c.batch_id, _outbox.c.status, func.count())
            .where(_outbox.c.batch_id.in_(list(batch_ids)))
            .group_by(_outbox.c.batch_id, _outbox.c.status)
        )
        for batch_id, status, count in (await session.exec(statement)).all():
            counts[batch_id][status] = count
    return {batch_id: BatchProgress(batch_id, by_status) for batch_id, by_status in counts.items()}


def _mass_audience():
    return or_(Broadcast.audience == "all", Broadcast.audience.startswith("lang:"))


async def latest_mass_broadcast_at(session: AsyncSession, excluding: int | None = None) -> datetime | None:
    """When the latest broadcast to everyone or to a whole language went out (approved, or by an admin)."""
    sent_at = func.coalesce(Broadcast.approved_at, Broadcast.created_at)
    statement = select(func.max(sent_at)).where(_mass_audience(), Broadcast.awaiting_approval.is_(False),
                                                Broadcast.id != (excluding or 0))
    return (await session.exec(statement)).one()


async def claim_approval(session: AsyncSession, broadcast_id: int, approver_id: int, now: datetime) -> bool:
    """Mark the broadcast approved: True for exactly one approver (a second one's UPDATE matches no row)."""
    statement = (
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.awaiting_approval.is_(True))
        .values(awaiting_approval=False, approved_by=approver_id, approved_at=now).execution_options(**_NO_SYNC)
    )
    return (await session.exec(statement)).rowcount == 1
